"""Reconciliation: each deployment's venue account against our Position rows, so nothing silently diverges.

Venues hold one net position per market; we may hold several OPEN rows for it (one per signal). Per market:
a venue position with no row of ours is *discovered* (a row is inserted for the monitor to watch); rows the
venue no longer holds, or holds the other way round, are *closed outside* (EXTERNAL, at the venue's closing
fill when it can tell, else the mid); a size that differs is *corrected* on our newest row. A discovered
row is told as `position.opened`, a closed one as `position.closed`, in the caller's transaction.

Races with the executor and the monitor are avoided by order, not by luck: the venue is read first, then
in-flight executions, then our rows (locked). A market with a CLOSING row (the monitor sends its close after
marking it) or with an execution still pending (its fill may be at the venue before its row is in our table)
is left for the next round. Hyperliquid accounts are the user's own, and up to three deployments may trade
one of them: rows are compared account-wide, across every deployment on that address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend import audit
from backend.models import AgentDeployment, Position, Signal, SignalExecution, VenueOrder
from backend.models.enums import (
    CloseReason,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    VenueOrderState,
)
from backend.monitor.budget import Spender, read_weight
from backend.notify import positions as position_events
from backend.notify.events import emit_many
from backend.trading.book import realized_pnl, weighted_entry
from backend.trading.fills import pro_rata_fee
from backend.venues.base import VenueAccount, VenueAdapter, VenueError, VenuePosition
from backend.venues.capabilities import DECLARED
from backend.venues.registry import VenueRegistry
from backend.venues.router import preferred_venues

logger = logging.getLogger(__name__)

# An execution pending for longer than this is not in flight any more (its worker died or gave up): what it
# may have placed is for reconciliation to discover.
IN_FLIGHT = timedelta(minutes=5)
# Venues whose books are kept per deployment; every other venue's account is the user's address.
BOOKS_PER_DEPLOYMENT = frozenset(venue for venue, caps in DECLARED.items() if caps.books_per_deployment)
PRICE_QUANTUM = Decimal("1e-10")
LIVE_STATUSES = (DeploymentStatus.ACTIVE, DeploymentStatus.PAUSED)


class FindingKind(StrEnum):
    DISCOVERED = "discovered"
    CLOSED_OUTSIDE = "closed_outside"
    SIZE_CORRECTED = "size_corrected"


@dataclass(frozen=True)
class Finding:
    """One divergence found and repaired; `details` is also the audit row's details."""

    kind: FindingKind
    deployment_id: int
    market: str
    details: Mapping[str, Any]
    position_id: int | None = None


@dataclass(frozen=True)
class ReconcileReport:
    checked: int  # deployments reconciled this round
    findings: tuple[Finding, ...]
    weight_spent: int
    skipped_for_budget: int  # due deployments left for a later round
    errors: int  # deployments a venue failed for (logged)


class BudgetRefused(Exception):
    """The budget has no room for a read this deployment needs; it stays due for a later round."""


@dataclass(frozen=True)
class OutsideExit:
    """What a position closed outside our own orders went at."""

    price: Decimal
    fee: Decimal  # the closing order's whole fee, shared by size among the rows it closed
    size: Decimal | None  # the closing order's size, None when the price is a mid
    source: str  # "fill" or "mid"
    at: datetime | None

    def fee_for(self, size: Decimal) -> Decimal:
        """The share of the closing order's fee a row of `size` pays (none at a mid)."""
        if not self.size:
            return Decimal(0)
        return pro_rata_fee(self.fee, size, self.size)


@dataclass
class _Reads:
    """One venue's reads for reconciliation, each paid from the budget (if any) before it is sent."""

    venue: VenueAdapter
    budget: Spender | None = None
    spent: int = 0
    _mids: dict[str, Decimal] | None = field(default=None, repr=False)
    _exits: dict[tuple[str, Side], OutsideExit | None] = field(default_factory=dict, repr=False)

    def _pay(self, read: str) -> None:
        weight = read_weight(self.venue.venue, read)
        if self.budget is not None and not self.budget.try_spend(weight):
            raise BudgetRefused(f"no request weight left for {read} at {self.venue.venue}")
        self.spent += weight

    def positions(self, account: VenueAccount) -> dict[str, VenuePosition]:
        self._pay("positions")
        return {p.market: p for p in self.venue.positions(account)}

    def exit(self, account: VenueAccount, market: str, side: Side) -> OutsideExit | None:
        """What a `side` position in `market` closed at: its closing fill if the venue can tell, else the mid.

        Waiting for budget beats guessing: a refused fill read leaves the deployment due, not priced at a mid.
        """
        key = (market, side)
        if key not in self._exits:
            self._exits[key] = self._closing_fill(account, market, side) or self._mid(market)
        return self._exits[key]

    def _closing_fill(self, account: VenueAccount, market: str, side: Side) -> OutsideExit | None:
        if not self.venue.capabilities.reports_closing_fills:
            return None
        if self.budget is not None and read_weight(self.venue.venue, "closing_fill") > self.budget.per_minute:
            return None  # a budget this small never affords it: the mid, rather than waiting forever
        self._pay("closing_fill")
        fill = self.venue.closing_fill(account, market, side)
        if fill is None:
            return None
        return OutsideExit(fill.price, fill.fee, fill.size, "fill", fill.filled_at)

    def _mid(self, market: str) -> OutsideExit | None:
        if self._mids is None:
            self._pay("mids")
            self._mids = self.venue.mids()
        mid = self._mids.get(market)
        return None if mid is None else OutsideExit(mid, Decimal(0), None, "mid", None)


def outside_exit(venue: VenueAdapter, account: VenueAccount, market: str, side: Side) -> OutsideExit | None:
    """What a `side` position in `market` closed outside at: its closing fill if known, else the mid."""
    return _Reads(venue).exit(account, market, side)


@dataclass
class _Context:
    session: Session
    deployment: AgentDeployment
    account: VenueAccount
    reads: _Reads
    now: datetime

    @property
    def venue(self) -> ExecutionVenue:
        return ExecutionVenue(self.reads.venue.venue)


def reconcile_deployment(
    session: Session,
    deployment: AgentDeployment,
    venue: VenueAdapter,
    *,
    now: datetime,
    budget: Spender | None = None,
) -> list[Finding]:
    """Compare `deployment`'s account at `venue` with our open rows and repair what differs.

    Changes and their audit rows are made in the caller's transaction: the caller commits. Raises VenueError
    when the venue fails, and BudgetRefused when `budget` has no room for a read (keep nothing then).
    """
    return _reconcile(session, deployment, _Reads(venue, budget), now)


def reconcile_due(
    session: Session,
    venues: VenueRegistry,
    budget: Spender,
    *,
    now: datetime,
    interval: timedelta,
) -> ReconcileReport:
    """Reconcile the deployments due (oldest first) for which `budget` has room; one commit per deployment.

    A deployment the budget refuses, or a venue fails for, is rolled back and stays due; the others go on.
    """
    due = _due_deployment_ids(session, now - interval)
    session.commit()
    checked = skipped = errors = 0
    findings: list[Finding] = []
    reads_made: list[_Reads] = []
    for deployment_id in due:
        deployment = session.get(AgentDeployment, deployment_id)
        if deployment is None:  # deleted since the query
            continue
        try:
            found = []
            for venue in _venues_of(session, deployment):
                reads = _Reads(venues.get(venue), budget)
                reads_made.append(reads)
                found += _reconcile(session, deployment, reads, now)
            session.commit()
        except BudgetRefused:
            session.rollback()
            skipped += 1
            continue
        except VenueError as error:
            session.rollback()
            errors += 1
            logger.warning("reconciling deployment %s failed: %s", deployment_id, error.reason)
            continue
        checked += 1
        findings += found
    report = ReconcileReport(checked, tuple(findings), sum(r.spent for r in reads_made), skipped, errors)
    logger.info(
        "reconciled %s of %s due deployments: %s findings, weight %s, %s left for budget, %s errors",
        checked,
        len(due),
        len(findings),
        report.weight_spent,
        skipped,
        errors,
    )
    return report


# -- one deployment -------------------------------------------------------------------------------------


def _reconcile(session: Session, deployment: AgentDeployment, reads: _Reads, now: datetime) -> list[Finding]:
    account = VenueAccount(deployment_id=deployment.id, address=deployment.user_wallet)
    context = _Context(session, deployment, account, reads, now)
    held = reads.positions(account)  # first: see the module docstring on ordering
    owners = _account_deployments(session, deployment, context.venue)
    busy = _markets_in_flight(session, owners, context.venue, now)
    rows_by_market: dict[str, list[Position]] = {}
    for row in _open_rows(session, owners, context.venue):
        rows_by_market.setdefault(row.market, []).append(row)
    findings: list[Finding] = []
    for market in sorted(set(held) | set(rows_by_market)):
        rows = rows_by_market.get(market, [])
        if market in busy or any(r.status == PositionStatus.CLOSING for r in rows):
            continue  # the executor or the monitor is acting on this market right now
        findings += _reconcile_market(context, market, held.get(market), rows)
    deployment.reconciled_at = now
    session.add(deployment)
    session.flush()
    return findings


def _reconcile_market(
    context: _Context, market: str, position: VenuePosition | None, rows: list[Position]
) -> list[Finding]:
    """`rows` oldest first, all OPEN."""
    findings: list[Finding] = []
    for side in (Side.LONG, Side.SHORT):
        stale = [r for r in rows if r.side == side and (position is None or position.side != side)]
        if stale:  # the venue holds none of it, or holds the other direction
            findings += _close_outside(context, market, side, stale)
    if position is None:
        return findings
    kept = [r for r in rows if r.side == position.side]
    if not kept:
        return [*findings, _discover(context, position)]
    return findings + _correct_size(context, position, kept)


def _discover(context: _Context, position: VenuePosition) -> Finding:
    row = Position(
        deployment_id=context.deployment.id,
        signal_id=None,
        venue=context.venue,
        market=position.market,
        side=position.side,
        size=position.size,
        leverage=position.leverage,
        entry_price=position.entry_price,
        trailing_high=position.entry_price,
        status=PositionStatus.OPEN,
        entry_fee=Decimal(0),
        exit_fee=Decimal(0),
        client_order_id=None,
        opened_at=context.now,
    )
    context.session.add(row)
    context.session.flush()
    owner = position_events.owner(context.session, row.deployment_id)
    if owner is not None:
        emit_many(context.session, [position_events.opened_position(*owner, row)])
    details = {
        "side": position.side.value,
        "size": _text(position.size),
        "entry_price": _text(position.entry_price),
        "leverage": _text(position.leverage),
    }
    return _found(context, FindingKind.DISCOVERED, row, details)


def _close_outside(context: _Context, market: str, side: Side, rows: Sequence[Position]) -> list[Finding]:
    exit = context.reads.exit(context.account, market, side)
    findings = []
    for row in rows:
        price = exit.price if exit else row.entry_price  # no price at all: a flat close, fees still count
        fee = exit.fee_for(row.size) if exit else Decimal(0)
        row.status = PositionStatus.CLOSED
        row.close_reason = CloseReason.EXTERNAL
        row.exit_price = price
        row.exit_fee = fee
        row.realized_pnl = realized_pnl(side, row.entry_price, price, row.size, row.entry_fee, fee)
        row.closed_at = (exit.at if exit else None) or context.now
        owner = position_events.owner(context.session, row.deployment_id)
        if owner is not None:
            emit_many(context.session, [position_events.closed(*owner, row)])
        details = {
            "side": side.value,
            "size": _text(row.size),
            "entry_price": _text(row.entry_price),
            "exit_price": _text(price),
            "exit_fee": _text(fee),
            "realized_pnl": _text(row.realized_pnl),
            "price_source": exit.source if exit else "entry",
        }
        findings.append(_found(context, FindingKind.CLOSED_OUTSIDE, row, details))
    return findings


def _correct_size(context: _Context, position: VenuePosition, rows: list[Position]) -> list[Finding]:
    """Bring our rows' total to the venue's size on the newest row; rows the venue no longer covers close."""
    rows = list(rows)
    difference = position.size - sum((r.size for r in rows), Decimal(0))
    gone: list[Position] = []
    while difference < 0 and rows[-1].size + difference <= 0:  # never empties: the venue size is positive
        row = rows.pop()
        difference += row.size
        gone.append(row)
    findings = _close_outside(context, position.market, position.side, gone) if gone else []
    if difference == 0:
        return findings
    newest = rows[-1]
    old_size, old_entry = newest.size, newest.entry_price
    if difference > 0:  # added to outside: that part priced at the venue's average entry
        entry = weighted_entry(old_size, old_entry, difference, position.entry_price)
        newest.entry_price = entry.quantize(PRICE_QUANTUM)  # a price, to the column's scale: not money
    newest.size = old_size + difference
    details = {
        "side": position.side.value,
        "old_size": _text(old_size),
        "new_size": _text(newest.size),
        "venue_size": _text(position.size),
        "old_entry_price": _text(old_entry),
        "entry_price": _text(newest.entry_price),
    }
    return [*findings, _found(context, FindingKind.SIZE_CORRECTED, newest, details)]


def _text(number: Decimal) -> str:
    """A number for the audit log: no trailing zeros, never an exponent."""
    return format(number.normalize(), "f")


def _found(context: _Context, kind: FindingKind, row: Position, details: dict[str, Any]) -> Finding:
    details = {
        "deployment_id": row.deployment_id,
        "venue": context.venue.value,
        "market": row.market,
        **details,
    }
    audit.record(
        context.session,
        action=f"reconcile.{kind.value}",
        entity_type="position",
        entity_id=row.id,
        details=details,
    )
    logger.info("reconcile: deployment %s %s %s position %s", row.deployment_id, kind, row.market, row.id)
    return Finding(kind, row.deployment_id, row.market, details, row.id)


# -- queries --------------------------------------------------------------------------------------------


def _due_deployment_ids(session: Session, cutoff: datetime) -> list[int]:
    """Live deployments (and ended ones still holding positions) unreconciled since `cutoff`, oldest first."""
    holds_positions = (
        select(Position.id)
        .where(Position.deployment_id == AgentDeployment.id, Position.status != PositionStatus.CLOSED)
        .exists()
    )
    reconciled_at = col(AgentDeployment.reconciled_at)
    query = (
        select(AgentDeployment.id)
        .where(sa.or_(col(AgentDeployment.status).in_(LIVE_STATUSES), holds_positions))
        .where(sa.or_(reconciled_at.is_(None), reconciled_at <= cutoff))
        .order_by(sa.nulls_first(reconciled_at.asc()), col(AgentDeployment.id))
    )
    return list(session.exec(query))


def _venues_of(session: Session, deployment: AgentDeployment) -> list[ExecutionVenue]:
    """Where the deployment may trade, and wherever it still holds positions."""
    holding = session.exec(
        select(Position.venue)
        .where(Position.deployment_id == deployment.id, Position.status != PositionStatus.CLOSED)
        .distinct()
    )
    return list(dict.fromkeys([*preferred_venues(deployment), *(ExecutionVenue(v) for v in holding)]))


def _account_deployments(session: Session, deployment: AgentDeployment, venue: ExecutionVenue) -> list[int]:
    """Every deployment trading the same venue account as `deployment` (itself included)."""
    if venue in BOOKS_PER_DEPLOYMENT or not deployment.user_wallet:
        return [deployment.id]
    same_address = func.lower(col(AgentDeployment.user_wallet)) == deployment.user_wallet.lower()
    return sorted(set(session.exec(select(AgentDeployment.id).where(same_address))) | {deployment.id})


def _markets_in_flight(
    session: Session, deployment_ids: Iterable[int], venue: ExecutionVenue, now: datetime
) -> set[str]:
    venue_matches = sa.or_(col(SignalExecution.venue).is_(None), col(SignalExecution.venue) == venue)
    query = (
        select(Signal.token)
        .join(SignalExecution, col(SignalExecution.signal_id) == col(Signal.id))
        .where(
            col(SignalExecution.deployment_id).in_(list(deployment_ids)),
            SignalExecution.status == ExecutionStatus.PENDING,
            col(SignalExecution.updated_at) >= now - IN_FLIGHT,
            venue_matches,
        )
    )
    # An order sent and not settled yet (a swap waiting to be mined) is in flight too, entry or close.
    unsettled = select(VenueOrder.market).where(
        col(VenueOrder.deployment_id).in_(list(deployment_ids)),
        VenueOrder.venue == venue,
        col(VenueOrder.state).in_([VenueOrderState.NEW, VenueOrderState.SUBMITTED]),
        col(VenueOrder.updated_at) >= now - IN_FLIGHT,
    )
    return set(session.exec(query)) | set(session.exec(unsettled))


def _open_rows(session: Session, deployment_ids: Iterable[int], venue: ExecutionVenue) -> list[Position]:
    """OPEN and CLOSING rows, oldest first, locked until the caller commits (PostgreSQL)."""
    query = (
        select(Position)
        .where(
            col(Position.deployment_id).in_(list(deployment_ids)),
            Position.venue == venue,
            col(Position.status).in_([PositionStatus.OPEN, PositionStatus.CLOSING]),
        )
        .order_by(col(Position.opened_at), col(Position.id))
        .with_for_update()
    )
    return list(session.exec(query))
