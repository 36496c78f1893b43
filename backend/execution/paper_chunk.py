"""The four execution steps for a chunk of (signal, deployment) pairs on the paper venue; see execution.batch.

Every rule is the one-deployment path's: `Executor._state_skip`, `_limits`, `_leverage` and `_outcome` are
called as they are, sizing is `size_trade`, fills come from the paper venue (prices and fees from the trading
core) and each recorded position gets the trade fee and audit row `Executor._record` writes.

Orders do not go through `execution.orders.place_order` one by one: the paper venue books the whole chunk in
one transaction of its own, and its fills (unique per account and client order id) are themselves the record
that an order was sent, found again on a retry. The chunk's `venue_orders` rows, FILLED, are written in bulk
with the positions they opened, so every order the platform made has its row, as on the one-order path.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.agents.versions import Strategy, pinned_strategy
from backend.billing.subscriptions import entry_blocks
from backend.billing.trade_fee import TradeFeeCharge, charge_trade_fees
from backend.db import among, dialect_insert, insert_many_or_ignore
from backend.execution.reasons import MAX_REASON_LENGTH, SkipCategory, delisted_detail, skip_reason
from backend.markets.listings import delisted_markets
from backend.models import Agent, AgentDeployment, Position, Signal, SignalExecution, VenueOrder
from backend.models.enums import (
    ExecutionStatus,
    ExecutionVenue,
    OrderPurpose,
    PositionStatus,
    Side,
    VenueOrderState,
)
from backend.notify import positions as position_events
from backend.notify.events import NewEvent
from backend.trading.sizing import SizingSkip, size_trade
from backend.venues.base import (
    Fill,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    OrderRequest,
    TemporaryVenueError,
    VenueError,
)
from backend.venues.paper_batch import PaperOrder

if TYPE_CHECKING:
    from backend.execution.service import ExecutionOutcome, Executor, _Context
    from backend.venues.paper import PaperVenue

logger = logging.getLogger(__name__)

Pair = tuple[int, int]  # (signal id, deployment id)
Decision = tuple[ExecutionStatus, str]  # a stored outcome without a position: status and reason
POSITION_OPENED = "position.opened"


@dataclass(frozen=True)
class Item:
    signal: Signal
    agent: Agent
    deployment: AgentDeployment

    @property
    def pair(self) -> Pair:
        return self.signal.id, self.deployment.id


class PaperChunk:
    """One run of the steps; at most one pair per deployment (execution.batch makes the rounds)."""

    def __init__(self, executor: Executor, paper: PaperVenue, session: Session, items: list[Item]) -> None:
        self.executor, self.paper, self.session = executor, paper, session
        self.items = {item.pair: item for item in items}
        self.fills: dict[Pair, tuple[Fill, Decimal]] = {}  # the fill and the leverage it was sized at
        self.decided: dict[Pair, Decision] = {}
        self.outcomes: dict[Pair, ExecutionOutcome] = {}
        self.retry: dict[Pair, str] = {}
        self._strategies: dict[tuple[int, int | None], Strategy] = {}
        self._events: list[NewEvent | None] = []  # written with the chunk's record, in its transaction

    def run(self) -> None:
        from backend.execution.service import _Context, _outcome

        contexts: dict[Pair, _Context] = {}
        for pair, execution in self._claim().items():
            item = self.items[pair]
            if execution.status != ExecutionStatus.PENDING:
                self.outcomes[pair] = _outcome(execution)
            elif execution.attempts > self.executor.max_attempts:
                detail = f"gave up after {self.executor.max_attempts} attempts, the venue kept failing"
                self.decided[pair] = (ExecutionStatus.FAILED, skip_reason(SkipCategory.VENUE_FAILED, detail))
            else:
                strategy = self._strategy(item)
                contexts[pair] = _Context(execution, item.signal, item.deployment, item.agent, strategy)
        try:
            self._decide_and_send(contexts)
        except TemporaryVenueError as error:
            for pair in contexts:
                if pair not in self.fills and pair not in self.decided:
                    self.retry[pair] = error.reason
        self._record()

    def _strategy(self, item: Item) -> Strategy:
        """The version a deployment trades, read once per version for the whole chunk."""
        key = (item.agent.id, item.deployment.agent_version_id)
        if key not in self._strategies:
            self._strategies[key] = pinned_strategy(self.session, item.deployment, item.agent)
        return self._strategies[key]

    # 1. claim
    def _claim(self) -> dict[Pair, SignalExecution]:
        """Insert the chunk's claims, or count one more attempt on the pending ones, in one batch."""
        from backend.execution.service import client_order_id

        now = self.executor.clock()
        rows = [
            {
                "signal_id": s,
                "deployment_id": d,
                "client_order_id": client_order_id(d, s),
                "venue": ExecutionVenue.PAPER.value,
                "status": ExecutionStatus.PENDING.value,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            }
            for s, d in self.items
        ]
        table = SignalExecution.__table__
        insert = dialect_insert(self.session)(table)
        claim = insert.on_conflict_do_update(
            index_elements=["deployment_id", "signal_id"],
            set_={"attempts": table.c.attempts + 1, "updated_at": insert.excluded.updated_at},
            where=table.c.status == ExecutionStatus.PENDING.value,
        )
        self.session.execute(claim, rows)
        executions = self._executions(lock=False)
        self.session.commit()
        return executions

    def _executions(self, *, lock: bool) -> dict[Pair, SignalExecution]:
        """The chunk's execution rows as plain rows: attributes like the model's, far cheaper to build."""
        table = SignalExecution.__table__
        query = (
            sa.select(table)
            .where(
                among(table.c.signal_id, {s for s, _ in self.items}),
                among(table.c.deployment_id, {d for _, d in self.items}),
            )
            .order_by(table.c.id)
        )
        if lock:
            query = query.with_for_update()
        rows = self.session.execute(query)
        return {pair: e for e in rows if (pair := (e.signal_id, e.deployment_id)) in self.items}

    # 2. decide, 3. send
    def _decide_and_send(self, contexts: dict[Pair, _Context]) -> None:
        from backend.execution.service import _leverage

        if not contexts:
            return
        markets = self.paper.markets()
        # An earlier attempt's order, if any, is the one that counts (a crash between fill and record).
        retried = [
            (d, c.execution.client_order_id) for (_, d), c in contexts.items() if c.execution.attempts > 1
        ]
        found = self.paper.order_statuses(retried) if retried else {}
        blocked = entry_blocks(self.session, {d for _, d in contexts})
        to_size: dict[Pair, _Context] = {}
        for pair, context in contexts.items():
            fill = found.get(context.execution.client_order_id)
            if fill is not None:
                self.fills[pair] = (fill, _leverage(context, markets.get(fill.market)))
            elif (skip := self.executor._state_skip(context)) is not None:
                self.decided[pair] = (ExecutionStatus.SKIPPED, skip)
            elif pair[1] in blocked:  # none on paper today; the one-deployment path's rule all the same
                self.decided[pair] = (ExecutionStatus.SKIPPED, skip_reason(SkipCategory(blocked[pair[1]])))
            else:
                to_size[pair] = context
        for pair, reason in self._opposite_positions(to_size).items():
            self.decided[pair] = (ExecutionStatus.SKIPPED, reason)
            del to_size[pair]
        delisted = delisted_markets(self.session, ExecutionVenue.PAPER) if to_size else set()
        for pair, context in list(to_size.items()):
            token = context.signal.token
            if token not in markets:
                detail = f"{token} not listed on {ExecutionVenue.PAPER}"
            elif token in delisted:
                detail = delisted_detail(token, ExecutionVenue.PAPER)
            else:
                continue
            reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, detail)
            self.decided[pair] = (ExecutionStatus.SKIPPED, reason)
            del to_size[pair]
        orders = self._orders(to_size, markets) if to_size else []
        if orders:
            self._send(orders, to_size)

    def _orders(self, contexts: dict[Pair, _Context], markets) -> list[tuple[Pair, PaperOrder]]:
        from backend.execution.service import _limits

        mids = self.paper.mids(sorted({c.signal.token for c in contexts.values()}))
        balances = self.paper.balances(sorted({d for _, d in contexts}))
        orders = []
        for pair, context in contexts.items():
            signal, balance = context.signal, balances[pair[1]]
            if isinstance(balance, VenueError):  # an account the venue does not know
                self.decided[pair] = (
                    ExecutionStatus.FAILED,
                    skip_reason(SkipCategory.VENUE_FAILED, balance.reason),
                )
                continue
            mid = mids[signal.token]
            sizing = size_trade(signal.score, balance, mid, markets[signal.token], _limits(context))
            if isinstance(sizing, SizingSkip):
                self.decided[pair] = (ExecutionStatus.SKIPPED, sizing.reason)
                continue
            order = OrderRequest(
                market=signal.token,
                side=Side(signal.side),
                size=sizing.size,
                client_order_id=context.execution.client_order_id,
                leverage=sizing.leverage,
                reference_price=mid,
            )
            orders.append((pair, PaperOrder(pair[1], order)))
        return orders

    def _send(self, orders: list[tuple[Pair, PaperOrder]], contexts: dict[Pair, _Context]) -> None:
        results = self.paper.open_many([order for _, order in orders])
        for pair, item in orders:
            outcome = results[item.order.client_order_id]
            if isinstance(outcome, Fill):
                self.fills[pair] = (outcome, item.order.leverage)
            elif isinstance(outcome, TemporaryVenueError):
                self.retry[pair] = outcome.reason
            else:
                self.decided[pair] = _refusal(outcome)
        self.executor.fault("after_fill")

    def _opposite_positions(self, contexts: dict[Pair, _Context]) -> dict[Pair, str]:
        """`_opposite_position` for the chunk: one query per (market, side) among its signals."""
        groups: dict[tuple[str, str], dict[int, Pair]] = defaultdict(dict)
        for pair, context in contexts.items():
            groups[(context.signal.token, context.signal.side)][pair[1]] = pair
        reasons = {}
        for (token, side), by_deployment in groups.items():
            held = self.session.exec(
                select(Position.deployment_id, Position.side).where(
                    among(col(Position.deployment_id), by_deployment),
                    Position.market == token,
                    Position.status != PositionStatus.CLOSED,
                    Position.side != side,
                )
            ).all()
            for deployment_id, held_side in held:
                held_name = Side(held_side).value
                detail = f"a {held_name} {token} position is open; its exits close it before a reversal"
                reasons[by_deployment[deployment_id]] = skip_reason(SkipCategory.OPPOSITE_POSITION, detail)
        return reasons

    # 4. record
    def _record(self) -> None:
        """One transaction, the executions re-read under lock first: a duplicate run records nothing twice."""
        from backend.execution.service import ExecutionOutcome, _outcome

        if not self.fills and not self.decided:
            self.session.rollback()
            return
        executions = self._executions(lock=True)
        now = self.executor.clock()
        pending = {p: e for p, e in executions.items() if e.status == ExecutionStatus.PENDING}
        positions = self._insert_positions({p: f for p, f in self.fills.items() if p in pending}, now)
        changes = {
            pair: (ExecutionStatus.FILLED, None, position_id) for pair, position_id in positions.items()
        }
        for pair, (status, reason) in self.decided.items():
            if pair in pending:
                changes[pair] = (status, reason[:MAX_REASON_LENGTH], None)
                self._tell_skip(pair, reason, now)
        table = SignalExecution.__table__
        if changes:
            self.session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("execution"))
                .values(
                    status=sa.bindparam("new_status"),
                    reason=sa.bindparam("new_reason"),
                    position_id=sa.bindparam("position"),
                    updated_at=sa.bindparam("now"),
                ),
                [
                    {
                        "execution": pending[pair].id,
                        "new_status": status.value,
                        "new_reason": reason,
                        "position": position_id,
                        "now": now,
                    }
                    for pair, (status, reason, position_id) in changes.items()
                ],
            )
        position_events.emit_present(self.session, self._events)
        self.session.commit()
        for pair in set(self.fills) | set(self.decided):
            if pair in changes:
                status, reason, position_id = changes[pair]
                self.outcomes[pair] = ExecutionOutcome(
                    status, reason, position_id, ExecutionVenue.PAPER.value
                )
            else:  # settled by another run meanwhile
                self.outcomes[pair] = _outcome(executions[pair])
        logger.info(
            "chunk of %d: %d filled, %d decided otherwise, %d to retry",
            len(self.items),
            len(positions),
            len(self.decided),
            len(self.retry),
        )

    def _insert_positions(self, fills: dict[Pair, tuple[Fill, Decimal]], now: datetime) -> dict[Pair, int]:
        """Positions, trade fees and audit rows of the chunk's fills; position id by pair."""
        if not fills:
            return {}
        rows = {
            pair: _position_values(pair, self.items[pair].signal, *fill, now) for pair, fill in fills.items()
        }
        insert_many_or_ignore(self.session, Position, list(rows.values()), ["deployment_id", "signal_id"])
        ids = {
            (s, d): position_id
            for s, d, position_id in self.session.exec(
                select(Position.signal_id, Position.deployment_id, Position.id).where(
                    among(col(Position.signal_id), {s for s, _ in fills}),
                    among(col(Position.deployment_id), {d for _, d in fills}),
                )
            )
            if (s, d) in fills
        }
        charges, entries = [], []
        for (signal_id, deployment_id), position_id in sorted(ids.items()):
            fill = fills[(signal_id, deployment_id)][0]
            item = self.items[(signal_id, deployment_id)]
            charges.append(
                TradeFeeCharge(item.deployment, ExecutionVenue.PAPER, signal_id, position_id, fill.market)
            )
            details = {
                "deployment_id": deployment_id,
                "signal_id": signal_id,
                "venue": str(ExecutionVenue.PAPER),
                "market": fill.market,
                "side": str(item.signal.side),
                "size": str(fill.size),
                "price": str(fill.price),
                "client_order_id": fill.client_order_id,
            }
            entries.append((position_id, details))
            row = rows[(signal_id, deployment_id)]
            self._events.append(position_events.opened(item.deployment, item.agent.name, position_id, row))
        charge_trade_fees(self.session, self.executor.fees, charges)
        _order_rows(self.session, sorted(ids.values()), now)
        audit.record_many(self.session, action=POSITION_OPENED, entity_type="position", entries=entries)
        return ids

    def _tell_skip(self, pair: Pair, reason: str, now: datetime) -> None:
        """The one-deployment path's execution.skipped event, for a decided pair the owner can act on."""
        item = self.items[pair]
        self._events.append(
            position_events.skipped(item.deployment, item.agent.name, item.signal, reason, now)
        )


def _position_values(pair: Pair, signal: Signal, fill: Fill, leverage: Decimal, now: datetime) -> dict:
    """The position row `Executor._record` writes, for a paper fill."""
    from backend.execution.service import position_row

    return position_row(pair[1], signal, ExecutionVenue.PAPER, fill, leverage, now)


def _order_rows(session: Session, position_ids: list[int], now: datetime) -> None:
    """The FILLED `venue_orders` rows of the positions the chunk's fills opened, as `place_order` leaves them.

    Built by the database from the position rows in one INSERT ... SELECT: no row data crosses the wire.
    """
    if not position_ids:
        return
    positions, orders = Position.__table__, VenueOrder.__table__
    p = positions.c
    columns = {
        "client_order_id": p.client_order_id,
        "deployment_id": p.deployment_id,
        "venue": sa.literal(ExecutionVenue.PAPER.value),
        "purpose": sa.literal(OrderPurpose.OPEN.value),
        "signal_id": p.signal_id,
        "market": p.market,
        "side": p.side,
        "size": p.size,
        "state": sa.literal(VenueOrderState.FILLED.value),
        "venue_order_id": p.venue_order_id,
        "fill_size": p.size,
        "fill_price": p.entry_price,
        "fill_fee": p.entry_fee,
        "attempts": sa.literal(1),
        "submitted_at": p.opened_at,
        "settled_at": p.opened_at,
        "created_at": sa.literal(now, orders.c.created_at.type),
        "updated_at": sa.literal(now, orders.c.updated_at.type),
    }
    rows = sa.select(*columns.values()).where(among(p.id, position_ids))
    insert = dialect_insert(session)(orders).from_select(list(columns), rows)
    session.execute(insert.on_conflict_do_nothing(index_elements=["client_order_id"]))


def _refusal(error: VenueError) -> Decision:
    """What `Executor._open` stores for a venue's refusal of an order."""
    if isinstance(error, InsufficientFunds):
        return ExecutionStatus.SKIPPED, skip_reason(SkipCategory.INSUFFICIENT_BALANCE, error.reason)
    if isinstance(error, MarketNotListed):
        return ExecutionStatus.SKIPPED, skip_reason(SkipCategory.MARKET_NOT_LISTED, error.reason)
    if isinstance(error, InvalidOrder):
        return ExecutionStatus.FAILED, skip_reason(SkipCategory.ORDER_REFUSED, error.reason)
    return ExecutionStatus.FAILED, skip_reason(SkipCategory.VENUE_FAILED, error.reason)
