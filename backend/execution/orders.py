"""Sending an order exactly once: our `venue_orders` row first, then submit, then status on every retry.

The row is keyed by our client order id and committed before the order goes out, so a worker killed at any
point leaves a trace: a retry that finds the row sent (attempts > 0) asks the venue's `status` before
sending again, and records a fill it finds instead of placing a second order. The venue's own id (an order
id, a transaction hash) is stored as soon as the venue answers; a venue that settles later leaves the row
SUBMITTED and the caller retries (TemporaryVenueError) until `status` reports the fill. This holds for
venues that know no client order ids as well as for those that refuse a second order with one.

Refusals keep their exceptions (InsufficientFunds, MarketNotListed, InvalidOrder ...), so callers store
the same skip reasons as before; a refused or fill-less row is FAILED, and a later call (a close retried
after its back-off) may send it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from backend.db import insert_or_ignore
from backend.execution.faults import no_fault
from backend.models import VenueOrder
from backend.models.enums import OrderPurpose, Side, VenueOrderState
from backend.venues.base import (
    DuplicateClientOrderId,
    Fill,
    InvalidOrder,
    OrderRequest,
    OrderState,
    OrderStatus,
    TemporaryVenueError,
    VenueAccount,
    VenueAdapter,
    VenueError,
)

logger = logging.getLogger(__name__)

ERROR_LENGTH = 256  # VenueOrder.error
AFTER_SUBMIT = "after_submit"  # crash point: the venue has the order, our row does not know it yet


def place_order(
    session: Session,
    adapter: VenueAdapter,
    account: VenueAccount,
    order: OrderRequest,
    *,
    deployment_id: int,
    purpose: OrderPurpose,
    signal_id: int | None = None,
    position_id: int | None = None,
    now: datetime,
    fault: Callable[[str], None] = no_fault,
) -> Fill:
    """The fill of `order`, sent at most once per client order id whatever crashed before; commits.

    Raises the venue's refusal (a VenueError; the row is FAILED) or TemporaryVenueError when the venue has
    the order and has not settled it yet (the row keeps it: the retry asks `status`, it does not resend).
    """
    cloid = order.client_order_id
    created = insert_or_ignore(
        session,
        VenueOrder,
        _new_row(adapter, order, deployment_id, purpose, signal_id, position_id, now),
        ["client_order_id"],
    )
    session.commit()  # the row exists before anything is sent
    row = None if created is not None else _row(session, cloid)
    if row is not None:
        found = _settled(session, adapter, account, row, now)
        if found is not None:
            return found
        row.attempts += 1
        row.submitted_at = now
        row.updated_at = now
        session.commit()  # counted before the send: a crash during it makes the retry ask first
    try:
        submitted = adapter.submit(account, order)
    except DuplicateClientOrderId:
        # The venue has an order with this id that our row never heard of (a racing worker's): its state.
        status = adapter.status(account, cloid, row.venue_order_id if row is not None else None)
        if status.state != OrderState.FILLED or status.fill is None:
            raise TemporaryVenueError("the venue knows this order id but reports no fill yet") from None
        return _filled(session, cloid, status.fill, status.venue_order_id, now)
    except VenueError as error:
        if not error.retryable:  # refused: nothing stands at the venue
            _failed(session, cloid, error.reason, now)
        raise
    fault(AFTER_SUBMIT)
    if submitted.fill is None:  # settles later: keep its id, the retry's `status` finds the fill
        _update(session, cloid, now, state=VenueOrderState.SUBMITTED, venue_order_id=submitted.venue_order_id)
        session.commit()
        raise TemporaryVenueError(f"order {cloid} was sent; waiting for the venue to settle it")
    return _filled(session, cloid, submitted.fill, submitted.venue_order_id, now)


def settled_fill(
    session: Session, adapter: VenueAdapter, account: VenueAccount, client_order_id: str, *, now: datetime
) -> Fill | None:
    """The fill of an order an earlier attempt sent, or None when no earlier attempt got it filled.

    Only orders our row says were sent are asked about; one still in flight raises TemporaryVenueError.
    """
    row = session.exec(select(VenueOrder).where(VenueOrder.client_order_id == client_order_id)).first()
    if row is None:
        return None
    return _settled(session, adapter, account, row, now)


def _settled(
    session: Session, adapter: VenueAdapter, account: VenueAccount, row: VenueOrder, now: datetime
) -> Fill | None:
    """What the venue says of an order our row knows: its fill, None (send it), or in flight (raised)."""
    state = VenueOrderState(row.state)
    if state == VenueOrderState.FAILED or (state == VenueOrderState.NEW and row.attempts == 0):
        return None
    status = adapter.status(account, row.client_order_id, row.venue_order_id)
    if state == VenueOrderState.FILLED:
        # The venue's fill carries what our row does not keep (a builder fee); the row's if it lost it.
        return status.fill if status.fill is not None else _row_fill(row)
    return _apply_status(session, row.client_order_id, status, now)


def _apply_status(session: Session, cloid: str, status: OrderStatus, now: datetime) -> Fill | None:
    if status.state == OrderState.FILLED and status.fill is not None:
        logger.info("order %s: found the fill of an earlier attempt", cloid)
        return _filled(session, cloid, status.fill, status.venue_order_id, now)
    if status.state == OrderState.PENDING or status.state == OrderState.FILLED:
        if status.venue_order_id is not None:
            state, venue_id = VenueOrderState.SUBMITTED, status.venue_order_id
            _update(session, cloid, now, state=state, venue_order_id=venue_id)
            session.commit()
        raise TemporaryVenueError(f"order {cloid} is at the venue, not settled yet")
    if status.state == OrderState.FAILED:
        reason = status.reason or "the venue settled the order without a fill"
        _failed(session, cloid, reason, now)
        raise InvalidOrder(reason)
    return None  # UNKNOWN: the venue never saw it, so it is sent (again)


def _new_row(
    adapter: VenueAdapter,
    order: OrderRequest,
    deployment_id: int,
    purpose: OrderPurpose,
    signal_id: int | None,
    position_id: int | None,
    now: datetime,
) -> dict:
    return {
        "client_order_id": order.client_order_id,
        "deployment_id": deployment_id,
        "venue": adapter.venue.value,
        "purpose": OrderPurpose(purpose).value,
        "signal_id": signal_id,
        "position_id": position_id,
        "market": order.market,
        "side": Side(order.side).value,
        "size": order.size,
        "reference_price": order.reference_price,
        "state": VenueOrderState.NEW.value,
        "attempts": 1,  # this call sends it right after the commit
        "submitted_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _row(session: Session, cloid: str) -> VenueOrder:
    return session.exec(
        select(VenueOrder)
        .where(VenueOrder.client_order_id == cloid)
        .execution_options(populate_existing=True)
    ).one()


def _update(session: Session, cloid: str, now: datetime, *, only_unsettled: bool = True, **values) -> None:
    """Change the row in SQL; a FILLED row stays as it is (a racing worker may have recorded the fill)."""
    table = VenueOrder.__table__
    where = [table.c.client_order_id == cloid]
    if only_unsettled:
        where.append(table.c.state != VenueOrderState.FILLED.value)
    values = {k: (v.value if isinstance(v, VenueOrderState) else v) for k, v in values.items()}
    session.execute(sa.update(table).where(*where).values(updated_at=now, **values))


def _filled(session: Session, cloid: str, fill: Fill, venue_order_id: str | None, now: datetime) -> Fill:
    _update(
        session,
        cloid,
        now,
        state=VenueOrderState.FILLED,
        venue_order_id=venue_order_id or fill.venue_order_id,
        fill_size=fill.size,
        fill_price=fill.price,
        fill_fee=fill.fee,
        error=None,
        settled_at=fill.filled_at or now,
    )
    session.commit()
    return fill


def _failed(session: Session, cloid: str, reason: str, now: datetime) -> None:
    _update(session, cloid, now, state=VenueOrderState.FAILED, error=reason[:ERROR_LENGTH], settled_at=now)
    session.commit()


def _row_fill(row: VenueOrder) -> Fill:
    return Fill(
        client_order_id=row.client_order_id,
        market=row.market,
        side=Side(row.side),
        size=row.fill_size,
        price=row.fill_price,
        fee=row.fill_fee,
        venue_order_id=row.venue_order_id,
        filled_at=row.settled_at,
    )
