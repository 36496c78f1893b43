"""Closing a position exactly once: a compare-and-set to CLOSING, a reduce-only order with a client id.

Whoever moves a position OPEN -> CLOSING (a monitor cycle, the trader's Close button) owns the close; every
other attempt finds it taken. Finishing is idempotent too: the close goes through
`execution.orders.place_order` (its `venue_orders` row first; a retry asks the venue's `status` before
sending again) and the fill is recorded under a row lock, so a retry after a crash records the fill instead
of closing twice. The profit share of a profitable close is billed in the same transaction, keyed by position,
and so is its `position.closed` event (a refusal's `position.needs_attention` likewise).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.billing.charges import bill_close
from backend.execution.accounts import trading_account
from backend.execution.orders import place_order
from backend.models import AgentDeployment, Position
from backend.models.common import utcnow
from backend.models.enums import CloseReason, ExecutionVenue, OrderPurpose, PositionStatus, Side
from backend.monitor.reconcile import outside_exit
from backend.notify import positions as position_events
from backend.notify.events import emit_many
from backend.trading.book import realized_pnl
from backend.trading.fees import FeePolicy
from backend.trading.money import money
from backend.venues.base import (
    Fill,
    InvalidOrder,
    OrderRequest,
    OrderState,
    VenueAccount,
    VenueAdapter,
    VenueError,
)
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher

logger = logging.getLogger(__name__)

CLOSE_REQUESTED = audit.Action.POSITION_CLOSE_REQUESTED
POSITION_CLOSED = audit.Action.POSITION_CLOSED
CLOSE_REFUSED = audit.Action.POSITION_CLOSE_REFUSED
CLOSE_RETRY_FIRST = timedelta(seconds=5)  # after a refusal; doubling with each further one
CLOSE_RETRY_MAX = timedelta(minutes=5)
REASON_LENGTH = 500  # Position.close_error


class PositionNotFound(LookupError):
    def __init__(self, position_id: int) -> None:
        super().__init__(f"position {position_id} not found")


class PositionNotOpen(RuntimeError):
    """Closed already, or being closed (409)."""


def close_order_id(position_id: int) -> str:
    digest = hashlib.sha256(f"maxxit/close/{position_id}".encode()).digest()
    return "0x" + digest[:16].hex()


def begin_close(session: Session, position_id: int, reason: CloseReason) -> bool:
    """OPEN -> CLOSING with the reason, if nobody got there first. Commits; True for the winner."""
    positions = Position.__table__
    won = session.execute(
        sa.update(positions)
        .where(positions.c.id == position_id, positions.c.status == PositionStatus.OPEN.value)
        .values(status=PositionStatus.CLOSING.value, close_reason=reason.value)
    ).rowcount
    session.commit()
    return bool(won)


def request_close(
    session: Session, user: CurrentUser, position_id: int, *, ip: str | None = None
) -> Position:
    """The trader's Close: the next monitor cycle sends the order and records the exit."""
    owned = session.exec(
        select(Position)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .where(Position.id == position_id, AgentDeployment.user_id == user.id)
    ).first()
    if owned is None:
        raise PositionNotFound(position_id)
    if not begin_close(session, position_id, CloseReason.MANUAL):
        raise PositionNotOpen(f"position {position_id} is {owned.status.lower()} already")
    audit.record_by(session, user, CLOSE_REQUESTED, "position", position_id, {}, ip)
    session.commit()
    session.refresh(owned)
    return owned


def close_retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th refusal a close is tried again: 5 s, doubling, at most 5 min."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return min(CLOSE_RETRY_MAX, CLOSE_RETRY_FIRST * 2 ** min(attempts - 1, 16))


def finish_close(
    session: Session,
    position_id: int,
    *,
    venues: VenueRegistry,
    cipher: WalletCipher,
    fees: FeePolicy,
    now: datetime | None = None,
) -> Position | None:
    """Send (or find) the reduce-only order of a CLOSING position and record the exit; None if not closing.

    TemporaryVenueError propagates: the position stays CLOSING and the next cycle tries again. A refusal
    leaves it CLOSING too, with the venue's reason and a retry time, unless the venue no longer holds it.
    A position whose retry is not due yet is returned untouched.
    """
    position = session.get(Position, position_id, populate_existing=True)  # status changes under our feet
    if position is None or position.status != PositionStatus.CLOSING:
        return position
    now = now or utcnow()
    if position.next_close_attempt_at is not None and position.next_close_attempt_at > now:
        return position  # refused lately: backing off
    deployment = session.get(AgentDeployment, position.deployment_id)
    venue = ExecutionVenue(position.venue)
    try:
        adapter, account = trading_account(session, deployment, venue, venues, cipher)
    except InvalidOrder as error:  # we cannot sign for it (agent wallet not approved): a refusal too
        account = VenueAccount(deployment_id=deployment.id, address=deployment.user_wallet)
        return _refused(session, position, venues.get(venue), account, error, fees, now)
    cloid = close_order_id(position.id)
    order = OrderRequest(position.market, Side(position.side), position.size, cloid, reduce_only=True)
    try:
        fill = place_order(
            session,
            adapter,
            account,
            order,
            deployment_id=deployment.id,
            purpose=OrderPurpose.CLOSE,
            position_id=position.id,
            now=now,
        )
    except VenueError as error:
        if error.retryable:
            raise
        # A racing closer may have just filled this very close, leaving nothing to reduce: ask first.
        status = adapter.status(account, cloid)
        fill = status.fill if status.state == OrderState.FILLED else None
        if fill is None:
            return _refused(session, position, adapter, account, error, fees, now)
    return record_close(session, position.id, fill.price, fill.fee, None, fees, now, fill=fill)


def _refused(
    session: Session,
    position: Position,
    adapter: VenueAdapter,
    account: VenueAccount,
    error: VenueError,
    fees: FeePolicy,
    now: datetime,
) -> Position:
    """The venue said no: closed outside if it no longer holds the position, else still CLOSING, retried.

    Unapproved agents (a revoked API wallet), margin and price bands are refused with the position still
    open at the venue: recording those as closes would leave real money unwatched.
    """
    side = Side(position.side)
    held = any(p.market == position.market and p.side == side for p in adapter.positions(account))
    if held:
        return _record_refusal(session, position.id, error.reason, now)
    # Nothing left to reduce at the venue: it was closed outside; at its closing fill, else the mid.
    exit = outside_exit(adapter, account, position.market, side)
    price = exit.price if exit else position.entry_price
    fee = exit.fee_for(position.size) if exit else Decimal(0)
    logger.warning("position %s: %s; gone from the venue: closed outside", position.id, error.reason)
    closed_at = (exit.at if exit else None) or now
    return record_close(session, position.id, price, fee, CloseReason.EXTERNAL, fees, closed_at)


def _locked_position(session: Session, position_id: int) -> Position:
    """The position's row, locked for this transaction and read afresh (another closer may have moved it)."""
    return session.exec(
        select(Position)
        .where(Position.id == position_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _record_refusal(session: Session, position_id: int, reason: str, now: datetime) -> Position:
    """Keep the position CLOSING with the venue's reason and the time of the next try; audited."""
    position = _locked_position(session, position_id)
    if position.status != PositionStatus.CLOSING:  # finished by someone else meanwhile
        session.commit()
        return position
    position.close_attempts += 1
    position.close_error = reason[:REASON_LENGTH]
    position.next_close_attempt_at = now + close_retry_delay(position.close_attempts)
    audit.record(
        session,
        action=CLOSE_REFUSED,
        entity_type="position",
        entity_id=position.id,
        details={
            "deployment_id": position.deployment_id,
            "venue": str(position.venue),
            "market": position.market,
            "reason": position.close_error,
            "attempts": position.close_attempts,
            "next_attempt_at": position.next_close_attempt_at.isoformat(),
        },
    )
    owner = position_events.attention_due(position.close_attempts) and position_events.owner(
        session, position.deployment_id
    )
    if owner:
        emit_many(session, [position_events.needs_attention(*owner, position)])
    session.commit()
    logger.warning(
        "position %s: close refused (%s attempts): %s; retrying at %s",
        position.id,
        position.close_attempts,
        position.close_error,
        position.next_close_attempt_at,
    )
    return position


def record_close(
    session: Session,
    position_id: int,
    exit_price: Decimal,
    exit_fee: Decimal,
    reason: CloseReason | None,
    fees: FeePolicy,
    now: datetime | None = None,
    *,
    fill: Fill | None = None,
) -> Position:
    """Exit, PnL, profit share and audit row in one transaction; a second call changes nothing."""
    position = _locked_position(session, position_id)
    if position.status == PositionStatus.CLOSED:
        session.commit()
        return position
    position.exit_price = exit_price
    position.exit_fee = money(exit_fee)
    position.realized_pnl = realized_pnl(
        Side(position.side),
        position.entry_price,
        exit_price,
        position.size,
        position.entry_fee,
        position.exit_fee,
    )
    position.close_reason = reason or position.close_reason or CloseReason.MANUAL
    position.status = PositionStatus.CLOSED
    position.closed_at = (fill.filled_at if fill and fill.filled_at else None) or now or utcnow()
    position.close_error = position.next_close_attempt_at = None  # any earlier refusal is over
    bill_close(session, position, fees)
    audit.record(
        session,
        action=POSITION_CLOSED,
        entity_type="position",
        entity_id=position.id,
        details={
            "reason": str(position.close_reason),
            "exit_price": str(exit_price),
            "realized_pnl": str(position.realized_pnl),
            "client_order_id": fill.client_order_id if fill else None,
        },
    )
    owner = position_events.owner(session, position.deployment_id)
    if owner is not None:  # None: a reference book, nobody's to tell
        emit_many(session, [position_events.closed(*owner, position)])
    session.commit()
    logger.info("position %s closed (%s) pnl %s", position.id, position.close_reason, position.realized_pnl)
    return position
