"""Open one signal's trade for one deployment, exactly once, whatever crashes or retries happen in between.

The steps, each its own commit:
1. claim: insert the (deployment, signal) execution row, unique, with a client order id derived from both;
2. decide: deployment state, venue (routed for MULTI agents), market, size; a skip is stored with its reason;
3. send: one order carrying that client order id, through `execution.orders.place_order` (its
   `venue_orders` row is committed before the send and holds the venue's id and fill after);
4. record: position, trade fee and audit row in one transaction.
A retry of a claimed execution whose order row says it was sent asks the venue's `status` first, so an
order whose fill was never recorded (a worker killed between 3 and 4) is recorded, not placed again; one the
venue has not settled yet is waited for. A venue that knows client order ids refuses a second order with
the same id too, so two workers racing on one execution still place one order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from backend import audit
from backend.agents.versions import Strategy, pinned_strategy
from backend.billing.subscriptions import entry_block
from backend.billing.trade_fee import charge_trade_fee
from backend.db import insert_or_ignore
from backend.execution.accounts import trading_account
from backend.execution.batch import ChunkResult, execute_pairs
from backend.execution.faults import no_fault
from backend.execution.orders import place_order, settled_fill
from backend.execution.reasons import MAX_REASON_LENGTH, SkipCategory, delisted_detail, skip_reason
from backend.markets.listings import takes_entries
from backend.models import Agent, AgentDeployment, Position, Signal, SignalExecution
from backend.models.common import utcnow
from backend.models.enums import (
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    OrderPurpose,
    PositionStatus,
    Side,
    SizingProfile,
)
from backend.notify import positions as position_events
from backend.trading.fees import FeePolicy
from backend.trading.sizing import RiskLimits, SizingSkip, size_trade, trade_leverage
from backend.venues.base import (
    Fill,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    MarketRules,
    OrderRequest,
    TemporaryVenueError,
    VenueAccount,
    VenueAdapter,
    VenueError,
)
from backend.venues.registry import VenueRegistry
from backend.venues.router import route_signal
from backend.wallets.keys import WalletCipher

logger = logging.getLogger(__name__)

# A signal this old is not acted on any more: the market has moved on since the call.
SIGNAL_TTL = timedelta(minutes=30)
POSITION_OPENED = "position.opened"


def client_order_id(deployment_id: int, signal_id: int) -> str:
    """Our order id, 16 bytes as 0x-hex, the same on every retry of this (deployment, signal)."""
    digest = hashlib.sha256(f"maxxit/order/{deployment_id}/{signal_id}".encode()).digest()
    return "0x" + digest[:16].hex()


@dataclass(frozen=True)
class ExecutionOutcome:
    status: ExecutionStatus
    reason: str | None = None
    position_id: int | None = None
    venue: str | None = None


@dataclass(frozen=True)
class _Context:
    execution: SignalExecution
    signal: Signal
    deployment: AgentDeployment
    agent: Agent
    strategy: Strategy  # the version the deployment accepted: its sizing profile and leverage


class Executor:
    """Runs executions against the venues; `fault` lets the crash tests stop the process between steps."""

    def __init__(
        self,
        venues: VenueRegistry,
        cipher: WalletCipher,
        *,
        max_attempts: int = 6,
        concurrency: int = 8,
        fault: Callable[[str], None] = no_fault,
        clock: Callable[[], datetime] = utcnow,
        fees: FeePolicy = FeePolicy(),  # noqa: B008 - frozen, so one default instance is safe
    ) -> None:
        self.fees = fees
        self.venues = venues
        self.cipher = cipher
        self.max_attempts = max_attempts
        self.concurrency = concurrency  # live venue calls of one chunk in flight at once
        self.fault = fault
        self.clock = clock

    def execute(self, session: Session, signal_id: int, deployment_id: int) -> ExecutionOutcome:
        """Open the trade of `signal_id` for `deployment_id` once; commits as it goes (see the module doc).

        TemporaryVenueError propagates (the task retries); every other outcome is stored and returned.
        """
        context = self._claim(session, signal_id, deployment_id)
        execution = context.execution
        if execution.status != ExecutionStatus.PENDING:
            return _outcome(execution)
        if execution.attempts > self.max_attempts:
            # Reconciliation finds an order a lost attempt might still have placed; no more blind tries.
            detail = f"gave up after {self.max_attempts} attempts, the venue kept failing"
            reason = skip_reason(SkipCategory.VENUE_FAILED, detail)
            return self._finish(session, context, ExecutionStatus.FAILED, reason)
        if execution.attempts > 1 and execution.venue is not None:
            # An earlier attempt may have reached the venue: its order, if any, is the one that counts.
            adapter, account = self._account(session, context, ExecutionVenue(execution.venue))
            fill = settled_fill(session, adapter, account, execution.client_order_id, now=self.clock())
            if fill is not None:
                logger.info("execution %s: found the fill of an earlier attempt", execution.id)
                leverage = _leverage(context, adapter.markets().get(fill.market))
                return self._record(session, context, fill, execution.venue, leverage=leverage)
        skip = (
            self._state_skip(context)
            or _billing_skip(session, context.deployment.id)
            or _opposite_position(session, context)
        )
        if skip is not None:
            return self._finish(session, context, ExecutionStatus.SKIPPED, skip)
        venue, why = self._venue(session, context)
        if venue is None:
            reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, why)
            return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
        return self._open(session, context, venue)

    def execute_many(self, session: Session, signal_id: int, deployment_ids: Sequence[int]) -> ChunkResult:
        """`execute` for a chunk of deployments: paper ones in a few transactions, live ones concurrently.

        Outcomes and the deployments a venue asked to retry later, by deployment id (see execution.batch).
        """
        return execute_pairs(self, session, [(signal_id, d) for d in deployment_ids]).by_deployment()

    def execute_pairs(self, session: Session, pairs: Sequence[tuple[int, int]]) -> ChunkResult:
        """`execute_many` for (signal id, deployment id) pairs of several signals, by pair."""
        return execute_pairs(self, session, pairs)

    def _open(self, session: Session, context: _Context, venue: ExecutionVenue) -> ExecutionOutcome:
        execution, signal = context.execution, context.signal
        try:
            adapter, account = self._account(session, context, venue)
        except InvalidOrder as error:  # the agent wallet is not approved (yet, or any more)
            reason = skip_reason(SkipCategory.AWAITING_APPROVAL, error.reason)
            return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
        if not takes_entries(session, venue, signal.token):
            reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, delisted_detail(signal.token, venue))
            return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
        try:
            rules = adapter.markets().get(signal.token)
            if rules is None:
                reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, f"{signal.token} not listed on {venue}")
                return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
            mid = adapter.mids()[signal.token]
            sizing = size_trade(signal.score, adapter.balance(account), mid, rules, _limits(context))
        except TemporaryVenueError:
            raise
        except VenueError as error:  # e.g. an account the venue does not know: retrying will not help
            reason = skip_reason(SkipCategory.VENUE_FAILED, error.reason)
            return self._finish(session, context, ExecutionStatus.FAILED, reason)
        if isinstance(sizing, SizingSkip):
            return self._finish(session, context, ExecutionStatus.SKIPPED, sizing.reason)
        order = OrderRequest(
            market=signal.token,
            side=Side(signal.side),
            size=sizing.size,
            client_order_id=execution.client_order_id,
            leverage=sizing.leverage,
            reference_price=mid,
        )
        try:
            fill = place_order(
                session,
                adapter,
                account,
                order,
                deployment_id=context.deployment.id,
                purpose=OrderPurpose.OPEN,
                signal_id=signal.id,
                now=self.clock(),
                fault=self.fault,
            )
        except InsufficientFunds as error:
            reason = skip_reason(SkipCategory.INSUFFICIENT_BALANCE, error.reason)
            return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
        except MarketNotListed as error:
            reason = skip_reason(SkipCategory.MARKET_NOT_LISTED, error.reason)
            return self._finish(session, context, ExecutionStatus.SKIPPED, reason)
        except InvalidOrder as error:
            reason = skip_reason(SkipCategory.ORDER_REFUSED, error.reason)
            return self._finish(session, context, ExecutionStatus.FAILED, reason)
        self.fault("after_fill")
        return self._record(session, context, fill, venue, leverage=sizing.leverage)

    def _claim(self, session: Session, signal_id: int, deployment_id: int) -> _Context:
        signal = session.get(Signal, signal_id)
        deployment = session.get(AgentDeployment, deployment_id)
        if signal is None or deployment is None or deployment.agent_id != signal.agent_id:
            raise LookupError(f"no deployment {deployment_id} of the agent of signal {signal_id}")
        now = self.clock()
        single_venue = None if deployment.venue_preferences else deployment.venue
        insert_or_ignore(
            session,
            SignalExecution,
            {
                "signal_id": signal_id,
                "deployment_id": deployment_id,
                "client_order_id": client_order_id(deployment_id, signal_id),
                "venue": single_venue,
                "status": ExecutionStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            },
            ["deployment_id", "signal_id"],
        )
        execution = session.exec(
            select(SignalExecution)
            .where(SignalExecution.deployment_id == deployment_id, SignalExecution.signal_id == signal_id)
            .with_for_update()
        ).one()
        if execution.status == ExecutionStatus.PENDING:
            execution.attempts += 1
            execution.updated_at = now
        session.commit()
        agent = session.get(Agent, signal.agent_id)
        return _Context(execution, signal, deployment, agent, pinned_strategy(session, deployment, agent))

    def _state_skip(self, context: _Context) -> str | None:
        status = DeploymentStatus(context.deployment.status)
        if status != DeploymentStatus.ACTIVE:
            return {
                DeploymentStatus.PAUSED: skip_reason(SkipCategory.DEPLOYMENT_PAUSED),
                DeploymentStatus.CANCELLED: skip_reason(SkipCategory.DEPLOYMENT_CANCELLED),
                DeploymentStatus.PENDING_APPROVAL: skip_reason(
                    SkipCategory.AWAITING_APPROVAL, "its agent wallet is not approved yet"
                ),
            }[status]
        if self.clock() - context.signal.created_at > SIGNAL_TTL:
            detail = f"older than {int(SIGNAL_TTL.total_seconds() // 60)} minutes"
            return skip_reason(SkipCategory.SIGNAL_EXPIRED, detail)
        return None

    def _venue(self, session: Session, context: _Context) -> tuple[ExecutionVenue | None, str]:
        """The venue for this execution, routed once, and the router's reason (why none, when none)."""
        execution = context.execution
        if execution.venue is not None:
            return ExecutionVenue(execution.venue), ""
        decision = route_signal(
            session, context.deployment, context.signal.id, context.signal.token, self.venues
        )
        execution.venue = decision.venue
        execution.updated_at = self.clock()
        session.commit()  # the routing decision is made once, before any order
        return decision.venue, decision.reason

    def _account(
        self, session: Session, context: _Context, venue: ExecutionVenue
    ) -> tuple[VenueAdapter, VenueAccount]:
        return trading_account(session, context.deployment, venue, self.venues, self.cipher)

    def _record(
        self, session: Session, context: _Context, fill: Fill, venue: str, *, leverage: Decimal
    ) -> ExecutionOutcome:
        execution, signal, deployment = context.execution, context.signal, context.deployment
        session.refresh(execution, with_for_update=True)
        if execution.status == ExecutionStatus.FILLED:
            session.commit()
            return _outcome(execution)
        row = position_row(deployment.id, signal, venue, fill, leverage, self.clock())
        position_id = insert_or_ignore(session, Position, row, ["deployment_id", "signal_id"])
        if position_id is None:
            position_id = session.exec(
                select(Position.id).where(
                    Position.deployment_id == deployment.id, Position.signal_id == signal.id
                )
            ).one()
        charge_trade_fee(
            session,
            self.fees,
            deployment=deployment,
            venue=venue,
            signal_id=signal.id,
            position_id=position_id,
            market=fill.market,
            collected_fee=fill.builder_fee,  # Hyperliquid took the builder fee: no invoiced trade fee
        )
        audit.record(
            session,
            action=POSITION_OPENED,
            entity_type="position",
            entity_id=position_id,
            details={
                "deployment_id": deployment.id,
                "signal_id": signal.id,
                "venue": str(venue),
                "market": fill.market,
                "side": str(signal.side),
                "size": str(fill.size),
                "price": str(fill.price),
                "client_order_id": fill.client_order_id,
            },
        )
        position_events.emit_present(
            session, [position_events.opened(deployment, context.agent.name, position_id, row)]
        )
        execution.status = ExecutionStatus.FILLED
        execution.position_id = position_id
        execution.reason = None
        execution.updated_at = self.clock()
        session.commit()
        logger.info("deployment %s opened position %s for signal %s", deployment.id, position_id, signal.id)
        return _outcome(execution)

    def _finish(
        self, session: Session, context: _Context, status: ExecutionStatus, reason: str
    ) -> ExecutionOutcome:
        """Store a skip or failure; one the owner can act on is told (`ACTIONABLE_SKIPS`) in its commit."""
        execution, deployment = context.execution, context.deployment
        execution.status = status
        execution.reason = reason[:MAX_REASON_LENGTH]
        now = execution.updated_at = self.clock()
        told = position_events.skipped(deployment, context.agent.name, context.signal, reason, now)
        position_events.emit_present(session, [told])
        session.commit()
        logger.info("execution %s %s: %s", execution.id, status.value.lower(), reason)
        return _outcome(execution)


def position_row(
    deployment_id: int, signal: Signal, venue: str, fill: Fill, leverage: Decimal, now: datetime
) -> dict:
    """The position an entry fill opens, as a row: one shape for the single and the chunked path."""
    return {
        "deployment_id": deployment_id,
        "signal_id": signal.id,
        "venue": ExecutionVenue(venue).value,
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


def _billing_skip(session: Session, deployment_id: int) -> str | None:
    """A suspended (or ended) subscription takes no new entries; exits and the monitor carry on."""
    block = entry_block(session, deployment_id)
    return None if block is None else skip_reason(SkipCategory(block))


def _opposite_position(session: Session, context: _Context) -> str | None:
    """Venues net positions per market: an opposite order would quietly shrink the open one, so it waits."""
    signal = context.signal
    held = session.exec(
        select(Position.side).where(
            Position.deployment_id == context.deployment.id,
            Position.market == signal.token,
            Position.status != PositionStatus.CLOSED,
            Position.side != signal.side,
        )
    ).first()
    if held is None:
        return None
    detail = f"a {Side(held).value} {signal.token} position is open; its exits close it before a reversal"
    return skip_reason(SkipCategory.OPPOSITE_POSITION, detail)


def _limits(context: _Context) -> RiskLimits:
    """The deployment's own overrides over the sizing profile and leverage of the version it trades."""
    deployment, strategy = context.deployment, context.strategy
    return RiskLimits(
        profile=SizingProfile(deployment.sizing_profile or strategy.sizing_profile),
        leverage_cap=deployment.leverage_cap or strategy.leverage,
        max_trade_usd=deployment.max_trade_usd,
    )


def _leverage(context: _Context, rules: MarketRules | None) -> Decimal:
    """The leverage sizing would have used: for an order found again after a crash."""
    return trade_leverage(_limits(context), rules)


def _outcome(execution: SignalExecution) -> ExecutionOutcome:
    return ExecutionOutcome(
        status=ExecutionStatus(execution.status),
        reason=execution.reason,
        position_id=execution.position_id,
        venue=execution.venue,
    )
