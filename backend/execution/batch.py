"""One signal for a chunk of deployments: the fan-out at the speed of the database.

The same steps as `Executor.execute`, each done once for the whole chunk instead of once per deployment:
1. claim: every (deployment, signal) execution row inserted in one statement, locked and counted, committed;
2. decide: state skips, opposite positions, balances and sizes for the chunk from a handful of queries;
3. send: one paper venue transaction fills every order (each still its own client order id);
4. record: positions, trade fees, audit rows and the executions' outcomes in one transaction.
Exactly-once holds as before: the claim rows are unique, the paper venue refuses a client order id twice, a
retry first asks the venue which of the chunk's orders already filled and records those, and the record step
re-reads the executions under lock, so a duplicate run of the chunk records nothing twice.

Deployments that are not single-venue paper (live venues, MULTI routing) each run the one-deployment path,
`EXECUTION_CONCURRENCY` at a time on a bounded thread pool with a session each: venue calls overlap, and
each is still its own exactly-once execution.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from backend import audit
from backend.billing.trade_fee import TradeFeeCharge, charge_trade_fees
from backend.db import insert_many_or_ignore
from backend.execution.reasons import MAX_REASON_LENGTH, SkipCategory, skip_reason
from backend.models import Agent, AgentDeployment, Position, Signal, SignalExecution
from backend.models.enums import ExecutionStatus, ExecutionVenue, PositionStatus, Side
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
    from backend.execution.service import Executor, _Context
    from backend.venues.paper import PaperVenue

logger = logging.getLogger(__name__)

Decision = tuple[ExecutionStatus, str]  # a stored outcome without a position: status and reason


@dataclass
class ChunkResult:
    """Each deployment's outcome; `retry` holds the ones a venue asked to try again later, with why."""

    outcomes: dict[int, object] = field(default_factory=dict)  # deployment id -> ExecutionOutcome
    retry: dict[int, str] = field(default_factory=dict)


def execute_many(
    executor: Executor, session: Session, signal_id: int, deployment_ids: Sequence[int]
) -> ChunkResult:
    """Open `signal_id`'s trade for each deployment once: paper ones batched, the others on a bounded pool."""
    signal = session.get(Signal, signal_id)
    if signal is None:
        raise LookupError(f"no signal {signal_id}")
    deployments = {
        d.id: d
        for d in session.exec(select(AgentDeployment).where(col(AgentDeployment.id).in_(deployment_ids)))
    }
    strangers = [
        d for d in deployment_ids if getattr(deployments.get(d), "agent_id", None) != signal.agent_id
    ]
    if strangers:
        raise LookupError(f"no deployments {strangers} of the agent of signal {signal_id}")
    paper = _paper_adapter(executor)
    batch = [deployments[d] for d in sorted(set(deployment_ids)) if paper and _batchable(deployments[d])]
    others = sorted(set(deployment_ids) - {d.id for d in batch})
    result = ChunkResult()
    pool = _start_pool(executor, session, signal_id, others)
    if batch:
        agent = session.get(Agent, signal.agent_id)
        _PaperChunk(executor, paper, session, signal, agent, batch, result).run()
    _collect_pool(pool, result)
    return result


def _paper_adapter(executor: Executor) -> PaperVenue | None:
    if ExecutionVenue.PAPER not in executor.venues:
        return None
    adapter = executor.venues.get(ExecutionVenue.PAPER)
    return adapter if hasattr(adapter, "open_many") else None


def _batchable(deployment: AgentDeployment) -> bool:
    """Single-venue paper deployments: no routing, no agent wallet, one venue transaction for them all."""
    return deployment.venue == ExecutionVenue.PAPER and not deployment.venue_preferences


def _start_pool(
    executor: Executor, session: Session, signal_id: int, deployment_ids: list[int]
) -> tuple[ThreadPoolExecutor, dict[int, Future]] | None:
    if not deployment_ids:
        return None
    engine = session.get_bind()

    def one(deployment_id: int):
        with Session(engine, expire_on_commit=False) as own:
            return executor.execute(own, signal_id, deployment_id)

    workers = max(1, min(executor.concurrency, len(deployment_ids)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execute")
    return pool, {d: pool.submit(one, d) for d in deployment_ids}


def _collect_pool(started: tuple[ThreadPoolExecutor, dict[int, Future]] | None, result: ChunkResult) -> None:
    if started is None:
        return
    pool, futures = started
    failure: BaseException | None = None
    try:
        for deployment_id, future in futures.items():
            try:
                result.outcomes[deployment_id] = future.result()
            except TemporaryVenueError as error:
                result.retry[deployment_id] = error.reason
            except Exception as error:  # the others still finish; the first failure is raised after
                logger.exception("execution of deployment %s failed", deployment_id)
                failure = failure or error
    finally:
        pool.shutdown(wait=True)
    if failure is not None:
        raise failure


class _PaperChunk:
    """The four steps for a chunk of paper deployments; see the module doc."""

    def __init__(
        self,
        executor: Executor,
        paper: PaperVenue,
        session: Session,
        signal: Signal,
        agent: Agent,
        deployments: list[AgentDeployment],
        result: ChunkResult,
    ) -> None:
        self.executor, self.paper, self.session = executor, paper, session
        self.signal, self.agent, self.deployments, self.result = signal, agent, deployments, result
        self.fills: dict[int, tuple[Fill, Decimal]] = {}  # deployment id -> (fill, leverage)
        self.decided: dict[int, Decision] = {}

    def run(self) -> None:
        from backend.execution.service import _Context, _outcome

        executions = self._claim()
        contexts: dict[int, _Context] = {}
        for deployment in self.deployments:
            execution = executions[deployment.id]
            if execution.status != ExecutionStatus.PENDING:
                self.result.outcomes[deployment.id] = _outcome(execution)
            elif execution.attempts > self.executor.max_attempts:
                detail = f"gave up after {self.executor.max_attempts} attempts, the venue kept failing"
                self.decided[deployment.id] = (
                    ExecutionStatus.FAILED,
                    skip_reason(SkipCategory.VENUE_FAILED, detail),
                )
            else:
                contexts[deployment.id] = _Context(execution, self.signal, deployment, self.agent)
        try:
            self._decide_and_send(contexts)
        except TemporaryVenueError as error:
            for deployment_id in contexts:
                if deployment_id not in self.fills and deployment_id not in self.decided:
                    self.result.retry[deployment_id] = error.reason
        self._record()

    def _claim(self) -> dict[int, SignalExecution]:
        now = self.executor.clock()
        from backend.execution.service import client_order_id

        rows = [
            {
                "signal_id": self.signal.id,
                "deployment_id": d.id,
                "client_order_id": client_order_id(d.id, self.signal.id),
                "venue": ExecutionVenue.PAPER.value,
                "status": ExecutionStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for d in self.deployments
        ]
        insert_many_or_ignore(self.session, SignalExecution, rows, ["deployment_id", "signal_id"])
        executions = self._locked_executions()
        for execution in executions.values():
            if execution.status == ExecutionStatus.PENDING:
                execution.attempts += 1
                execution.updated_at = now
        self.session.commit()
        return executions

    def _locked_executions(self) -> dict[int, SignalExecution]:
        query = (
            select(SignalExecution)
            .where(
                SignalExecution.signal_id == self.signal.id,
                col(SignalExecution.deployment_id).in_([d.id for d in self.deployments]),
            )
            .order_by(SignalExecution.deployment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {e.deployment_id: e for e in self.session.exec(query)}

    def _decide_and_send(self, contexts: dict[int, _Context]) -> None:
        from backend.execution.service import _leverage

        if not contexts:
            return
        markets = self.paper.markets()
        # An earlier attempt's order, if any, is the one that counts (a crash between fill and record).
        found = self.paper.order_statuses([(d, c.execution.client_order_id) for d, c in contexts.items()])
        to_size: dict[int, _Context] = {}
        for deployment_id, context in contexts.items():
            fill = found.get(context.execution.client_order_id)
            if fill is not None:
                self.fills[deployment_id] = (fill, _leverage(context, markets.get(fill.market)))
            elif (skip := self.executor._state_skip(context)) is not None:
                self.decided[deployment_id] = (ExecutionStatus.SKIPPED, skip)
            else:
                to_size[deployment_id] = context
        for deployment_id, reason in self._opposite_positions(to_size).items():
            self.decided[deployment_id] = (ExecutionStatus.SKIPPED, reason)
            del to_size[deployment_id]
        if not to_size:
            return
        token = self.signal.token
        rules = markets.get(token)
        if rules is None:
            detail = f"{token} not listed on {ExecutionVenue.PAPER}"
            reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, detail)
            self.decided.update(dict.fromkeys(to_size, (ExecutionStatus.SKIPPED, reason)))
            return
        orders = self._orders(to_size, rules)
        if orders:
            self._send(orders, to_size)

    def _orders(self, contexts: dict[int, _Context], rules) -> list[PaperOrder]:
        from backend.execution.service import _limits

        mid = self.paper.mids()[self.signal.token]
        balances = self.paper.balances(list(contexts))
        orders = []
        for deployment_id, context in contexts.items():
            balance = balances[deployment_id]
            if isinstance(balance, VenueError):  # an account the venue does not know
                self.decided[deployment_id] = (
                    ExecutionStatus.FAILED,
                    skip_reason(SkipCategory.VENUE_FAILED, balance.reason),
                )
                continue
            sizing = size_trade(self.signal.score, balance, mid, rules, _limits(context))
            if isinstance(sizing, SizingSkip):
                self.decided[deployment_id] = (ExecutionStatus.SKIPPED, sizing.reason)
                continue
            order = OrderRequest(
                market=self.signal.token,
                side=Side(self.signal.side),
                size=sizing.size,
                client_order_id=context.execution.client_order_id,
                leverage=sizing.leverage,
                reference_price=mid,
            )
            orders.append(PaperOrder(deployment_id, order))
        return orders

    def _send(self, orders: list[PaperOrder], contexts: dict[int, _Context]) -> None:
        results = self.paper.open_many(orders)
        for item in orders:
            outcome = results[item.order.client_order_id]
            if isinstance(outcome, Fill):
                self.fills[item.deployment_id] = (outcome, item.order.leverage)
            elif isinstance(outcome, TemporaryVenueError):
                self.result.retry[item.deployment_id] = outcome.reason
            else:
                self.decided[item.deployment_id] = _refusal(outcome)
        self.executor.fault("after_fill")

    def _opposite_positions(self, contexts: dict[int, _Context]) -> dict[int, str]:
        """`_opposite_position` for the whole chunk in one query."""
        if not contexts:
            return {}
        signal = self.signal
        held = self.session.exec(
            select(Position.deployment_id, Position.side).where(
                col(Position.deployment_id).in_(list(contexts)),
                Position.market == signal.token,
                Position.status != PositionStatus.CLOSED,
                Position.side != signal.side,
            )
        ).all()
        reasons = {}
        for deployment_id, side in held:
            detail = (
                f"a {Side(side).value} {signal.token} position is open; its exits close it before a reversal"
            )
            reasons[deployment_id] = skip_reason(SkipCategory.OPPOSITE_POSITION, detail)
        return reasons

    def _record(self) -> None:
        """Step 4 for the whole chunk: one transaction, the executions re-read under lock first."""
        from backend.execution.service import _outcome

        if not self.fills and not self.decided:
            self.session.rollback()
            return
        executions = self._locked_executions()
        now = self.executor.clock()
        pending = {d: e for d, e in executions.items() if e.status == ExecutionStatus.PENDING}
        by_id = {d.id: d for d in self.deployments}
        positions = self._insert_positions({d: f for d, f in self.fills.items() if d in pending}, by_id, now)
        for deployment_id, position_id in positions.items():
            execution = pending[deployment_id]
            execution.status, execution.position_id = ExecutionStatus.FILLED, position_id
            execution.reason, execution.updated_at = None, now
        for deployment_id, (status, reason) in self.decided.items():
            if deployment_id in pending:
                execution = pending[deployment_id]
                execution.status, execution.reason = status, reason[:MAX_REASON_LENGTH]
                execution.updated_at = now
        self.session.commit()
        for deployment_id in set(self.fills) | set(self.decided):
            self.result.outcomes[deployment_id] = _outcome(executions[deployment_id])
        logger.info(
            "signal %s: %d filled, %d decided otherwise, %d to retry in a chunk of %d",
            self.signal.id,
            len(positions),
            len(self.decided),
            len(self.result.retry),
            len(self.deployments),
        )

    def _insert_positions(
        self, fills: dict[int, tuple[Fill, Decimal]], deployments: dict[int, AgentDeployment], now
    ) -> dict[int, int]:
        """Positions, trade fees and audit rows of the chunk's fills; position id by deployment."""
        if not fills:
            return {}
        signal = self.signal
        rows = [_position_values(d, signal, fill, leverage, now) for d, (fill, leverage) in fills.items()]
        inserted = insert_many_or_ignore(
            self.session, Position, rows, ["deployment_id", "signal_id"], returning=("deployment_id", "id")
        )
        ids = dict(inserted)
        if len(ids) < len(fills):  # recorded by an earlier run whose execution row was not updated
            ids.update(
                self.session.exec(
                    select(Position.deployment_id, Position.id).where(
                        Position.signal_id == signal.id,
                        col(Position.deployment_id).in_([d for d in fills if d not in ids]),
                    )
                ).all()
            )
        charge_trade_fees(
            self.session,
            [
                TradeFeeCharge(deployments[d].user_id, d, signal.id, ids[d], fills[d][0].market)
                for d in sorted(ids)
            ],
        )
        for deployment_id, position_id in ids.items():
            fill = fills[deployment_id][0]
            audit.record(
                self.session,
                action="position.opened",
                entity_type="position",
                entity_id=position_id,
                details={
                    "deployment_id": deployment_id,
                    "signal_id": signal.id,
                    "venue": str(ExecutionVenue.PAPER),
                    "market": fill.market,
                    "side": str(signal.side),
                    "size": str(fill.size),
                    "price": str(fill.price),
                    "client_order_id": fill.client_order_id,
                },
            )
        return ids


def _position_values(deployment_id: int, signal: Signal, fill: Fill, leverage: Decimal, now) -> dict:
    """The position row `Executor._record` writes, for a paper fill."""
    return {
        "deployment_id": deployment_id,
        "signal_id": signal.id,
        "venue": ExecutionVenue.PAPER.value,
        "market": fill.market,
        "side": Side(signal.side).value,
        "size": fill.size,
        "leverage": leverage,
        "entry_price": fill.price,
        "trailing_high": fill.price,
        "status": PositionStatus.OPEN.value,
        "entry_fee": fill.fee,
        "exit_fee": Decimal(0),
        "client_order_id": fill.client_order_id,
        "venue_order_id": fill.venue_order_id,
        "opened_at": fill.filled_at or now,
    }


def _refusal(error: VenueError) -> Decision:
    """What `Executor._open` stores for a venue's refusal of an order."""
    if isinstance(error, InsufficientFunds):
        return ExecutionStatus.SKIPPED, skip_reason(SkipCategory.INSUFFICIENT_BALANCE, error.reason)
    if isinstance(error, MarketNotListed):
        return ExecutionStatus.SKIPPED, skip_reason(SkipCategory.MARKET_NOT_LISTED, error.reason)
    if isinstance(error, InvalidOrder):
        return ExecutionStatus.FAILED, skip_reason(SkipCategory.ORDER_REFUSED, error.reason)
    return ExecutionStatus.FAILED, skip_reason(SkipCategory.VENUE_FAILED, error.reason)
