"""Reconciliation against real venues: the paper venue, and Hyperliquid through the SDK on the local server.

"Outside" means what our Position rows never saw: an order put straight on the PaperVenue, or one the user's
approved agent sent with the SDK itself.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from sqlmodel import Session, select

from backend.models import AgentDeployment, AuditLog, Position, SignalExecution, VenueOrder
from backend.models.common import utcnow
from backend.models.enums import (
    CloseReason,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    OrderPurpose,
    PositionStatus,
    Side,
    Venue,
    VenueOrderState,
)
from backend.monitor.budget import WeightBudget
from backend.monitor.reconcile import (
    IN_FLIGHT,
    BudgetRefused,
    FindingKind,
    reconcile_deployment,
    reconcile_due,
)
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.base import Fill, OrderRequest, VenueAccount
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.venue_support import place, reduce

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)
HOUR = timedelta(hours=1)
IOC = {"limit": {"tif": "Ioc"}}

_cloids = itertools.count(1)


def cloid() -> str:
    return f"0x{next(_cloids):032x}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Monotonic:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def record(
    session: Session, deployment: AgentDeployment, fill: Fill, leverage: Decimal = Decimal(1)
) -> Position:
    """Our row for a fill, as the executor writes it."""
    row = Position(
        deployment_id=deployment.id,
        venue=deployment.venue,
        market=fill.market,
        side=fill.side,
        size=fill.size,
        leverage=leverage,
        entry_price=fill.price,
        trailing_high=fill.price,
        entry_fee=fill.fee,
        client_order_id=fill.client_order_id,
        opened_at=fill.filled_at or utcnow(),
    )
    session.add(row)
    session.commit()
    return row


def rows(session: Session, deployment: AgentDeployment) -> list[Position]:
    session.expire_all()
    query = select(Position).where(Position.deployment_id == deployment.id).order_by(Position.id)
    return list(session.exec(query))


def audits(session: Session, action: str) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def reconcile(session: Session, deployment: AgentDeployment, venue, now: datetime = NOW, **kw):
    findings = reconcile_deployment(session, deployment, venue, now=now, **kw)
    session.commit()
    return findings


# -- paper ----------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def paper(engine, clock) -> PaperVenue:
    return PaperVenue(engine, SimulatedPriceFeed(seed=7), clock=clock)


@pytest.fixture
def deployment(factory) -> AgentDeployment:
    return factory.paper_deployment(factory.agent(venue=Venue.HYPERLIQUID), balance=Decimal("100000"))


def paper_trade(paper: PaperVenue, deployment: AgentDeployment, market: str, side: Side, size: str) -> Fill:
    request = OrderRequest(market, side, Decimal(size), cloid(), leverage=Decimal(2))
    return place(paper, VenueAccount(deployment.id), request)


def paper_close(paper: PaperVenue, deployment: AgentDeployment, market: str, side: Side, size: str) -> Fill:
    return reduce(paper, VenueAccount(deployment.id), OrderRequest(market, side, Decimal(size), cloid()))


def test_a_paper_position_opened_outside_is_discovered_once(session, paper, deployment):
    fill = paper_trade(paper, deployment, "ETH", Side.SHORT, "0.5")

    [finding] = reconcile(session, deployment, paper)

    [row] = rows(session, deployment)
    assert (finding.kind, finding.deployment_id, finding.market, finding.position_id) == (
        FindingKind.DISCOVERED,
        deployment.id,
        "ETH",
        row.id,
    )
    assert (row.signal_id, row.status, row.venue, row.market, row.side) == (
        None,
        PositionStatus.OPEN,
        ExecutionVenue.PAPER,
        "ETH",
        Side.SHORT,
    )
    assert (row.size, row.entry_price, row.leverage, row.trailing_high) == (
        Decimal("0.5"),
        fill.price,
        Decimal(2),
        fill.price,
    )
    assert row.client_order_id is None
    [entry] = audits(session, "reconcile.discovered")
    assert (entry.entity_type, entry.entity_id) == ("position", str(row.id))
    assert entry.details["size"] == "0.5" and entry.details["deployment_id"] == deployment.id
    session.refresh(deployment)
    assert deployment.reconciled_at == NOW

    assert reconcile(session, deployment, paper, NOW + HOUR) == []
    assert len(rows(session, deployment)) == 1
    assert len(audits(session, "reconcile.discovered")) == 1


def test_a_paper_position_closed_outside_closes_ours_at_the_fill(session, paper, deployment, clock):
    opened = paper_trade(paper, deployment, "BTC", Side.LONG, "0.01")
    ours = record(session, deployment, opened)
    assert reconcile(session, deployment, paper) == []  # in step: nothing to do

    clock.now = LATER
    closed = paper_close(paper, deployment, "BTC", Side.LONG, "0.01")
    assert closed.price != opened.price

    [finding] = reconcile(session, deployment, paper, LATER)

    [row] = rows(session, deployment)
    assert (finding.kind, finding.position_id) == (FindingKind.CLOSED_OUTSIDE, ours.id)
    assert (row.status, row.close_reason) == (PositionStatus.CLOSED, CloseReason.EXTERNAL)
    assert (row.exit_price, row.exit_fee) == (closed.price, closed.fee)
    expected = (closed.price - opened.price) * Decimal("0.01") - opened.fee - closed.fee
    assert row.realized_pnl == expected.quantize(Decimal("0.000001"))
    assert row.closed_at == LATER
    [entry] = audits(session, "reconcile.closed_outside")
    assert entry.details["price_source"] == "fill" and entry.entity_id == str(row.id)
    assert reconcile(session, deployment, paper, LATER + HOUR) == []


def test_a_short_closed_outside_gains_when_the_price_fell(session, paper, deployment, clock):
    opened = paper_trade(paper, deployment, "SOL", Side.SHORT, "1")
    record(session, deployment, opened)
    clock.now = LATER
    closed = paper_close(paper, deployment, "SOL", Side.SHORT, "1")

    reconcile(session, deployment, paper, LATER)

    [row] = rows(session, deployment)
    expected = (opened.price - closed.price) * 1 - opened.fee - closed.fee
    assert row.realized_pnl == expected.quantize(Decimal("0.000001"))


def test_a_partial_close_outside_closes_the_newest_row_then_shrinks_the_next(session, paper, deployment):
    first = record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.1"))
    second = record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.2"))
    closed = paper_close(paper, deployment, "ETH", Side.LONG, "0.25")  # 0.05 left at the venue

    findings = reconcile(session, deployment, paper)

    assert [(f.kind, f.position_id) for f in findings] == [
        (FindingKind.CLOSED_OUTSIDE, second.id),
        (FindingKind.SIZE_CORRECTED, first.id),
    ]
    older, newer = rows(session, deployment)
    assert (newer.status, newer.close_reason, newer.exit_price) == (
        PositionStatus.CLOSED,
        CloseReason.EXTERNAL,
        closed.price,
    )
    assert newer.exit_fee == (closed.fee * Decimal("0.2") / Decimal("0.25")).quantize(Decimal("0.000001"))
    assert (older.status, older.size, older.entry_price) == (
        PositionStatus.OPEN,
        Decimal("0.05"),
        first.entry_price,
    )
    [corrected] = audits(session, "reconcile.size_corrected")
    sizes = [Decimal(corrected.details[k]) for k in ("old_size", "new_size", "venue_size")]
    assert sizes == [Decimal("0.1"), Decimal("0.05"), Decimal("0.05")]
    assert reconcile(session, deployment, paper, NOW + HOUR) == []


def test_a_position_added_to_outside_grows_our_newest_row(session, paper, deployment, clock):
    first = record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.1"))
    second = record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.1"))
    second_entry = second.entry_price
    clock.now = LATER
    paper_trade(paper, deployment, "ETH", Side.LONG, "0.2")  # outside
    [venue_position] = paper.positions(VenueAccount(deployment.id))

    [finding] = reconcile(session, deployment, paper, LATER)

    assert (finding.kind, finding.position_id) == (FindingKind.SIZE_CORRECTED, second.id)
    older, newer = rows(session, deployment)
    assert (older.size, older.entry_price) == (Decimal("0.1"), first.entry_price)
    assert newer.size == Decimal("0.3")
    added = venue_position.entry_price * Decimal("0.2")  # the part added outside, at the venue's average
    blended = (second_entry * Decimal("0.1") + added) / Decimal("0.3")
    assert newer.entry_price == blended.quantize(Decimal("1e-10"))
    assert older.size + newer.size == venue_position.size
    assert reconcile(session, deployment, paper, LATER + HOUR) == []


def test_a_reversal_outside_closes_ours_and_discovers_the_venues(session, paper, deployment, clock):
    ours = record(session, deployment, paper_trade(paper, deployment, "BTC", Side.LONG, "0.01"))
    clock.now = LATER
    closed = paper_close(paper, deployment, "BTC", Side.LONG, "0.01")
    short = paper_trade(paper, deployment, "BTC", Side.SHORT, "0.02")

    findings = reconcile(session, deployment, paper, LATER)

    assert [f.kind for f in findings] == [FindingKind.CLOSED_OUTSIDE, FindingKind.DISCOVERED]
    old, new = rows(session, deployment)
    assert (old.id, old.status, old.close_reason, old.exit_price) == (
        ours.id,
        PositionStatus.CLOSED,
        CloseReason.EXTERNAL,
        closed.price,  # the close, not the later opening sell
    )
    assert (new.side, new.size, new.entry_price, new.status) == (
        Side.SHORT,
        Decimal("0.02"),
        short.price,
        PositionStatus.OPEN,
    )
    assert reconcile(session, deployment, paper, LATER + HOUR) == []


def test_a_flip_in_one_order_is_both_the_close_and_the_new_position(session, paper, deployment, clock):
    record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.1"))
    clock.now = LATER
    flip = paper_trade(paper, deployment, "ETH", Side.SHORT, "0.3")  # sells 0.1 to close, 0.2 to open

    findings = reconcile(session, deployment, paper, LATER)

    assert [f.kind for f in findings] == [FindingKind.CLOSED_OUTSIDE, FindingKind.DISCOVERED]
    old, new = rows(session, deployment)
    assert (old.exit_price, old.exit_fee) == (flip.price, (flip.fee / 3).quantize(Decimal("0.000001")))
    assert (new.side, new.size) == (Side.SHORT, Decimal("0.2"))


def test_closing_rows_are_left_to_the_monitor(session, paper, deployment):
    closing = record(session, deployment, paper_trade(paper, deployment, "ETH", Side.LONG, "0.1"))
    closing.status = PositionStatus.CLOSING
    session.commit()
    paper_close(paper, deployment, "ETH", Side.LONG, "0.1")  # the monitor's close reached the venue
    paper_trade(paper, deployment, "SOL", Side.LONG, "1")  # a CLOSING row in SOL, still at the venue
    sol = record(session, deployment, paper_trade(paper, deployment, "SOL", Side.LONG, "1"))
    sol.status = PositionStatus.CLOSING
    session.commit()

    assert reconcile(session, deployment, paper) == []

    eth, sol = rows(session, deployment)
    assert (eth.status, eth.close_reason, sol.status) == (
        PositionStatus.CLOSING,
        None,
        PositionStatus.CLOSING,
    )
    assert audits(session, "reconcile.closed_outside") == []


def test_a_market_with_an_execution_in_flight_waits(session, factory, paper, deployment):
    signal = factory.signal(factory.agent(), token="ETH")
    session.add(
        SignalExecution(
            signal_id=signal.id,
            deployment_id=deployment.id,
            venue=ExecutionVenue.PAPER,
            client_order_id=cloid(),
            status=ExecutionStatus.PENDING,
            updated_at=NOW,
        )
    )
    session.commit()
    paper_trade(paper, deployment, "ETH", Side.LONG, "0.1")  # filled; the executor records it next

    assert reconcile(session, deployment, paper) == []
    # An execution pending that long has lost its worker: what it placed is discovered.
    [finding] = reconcile(session, deployment, paper, NOW + IN_FLIGHT + timedelta(seconds=1))
    assert finding.kind == FindingKind.DISCOVERED


def test_a_market_with_an_order_sent_and_not_settled_waits(session, paper, deployment):
    # A swap waiting to be mined: the venue may already hold what our books do not show yet.
    session.add(
        VenueOrder(
            client_order_id=cloid(),
            deployment_id=deployment.id,
            venue=ExecutionVenue.PAPER,
            purpose=OrderPurpose.OPEN,
            market="ETH",
            side=Side.LONG,
            size=Decimal("0.1"),
            state=VenueOrderState.SUBMITTED,
            venue_order_id="0xabc",
            updated_at=NOW,
        )
    )
    session.commit()
    paper_trade(paper, deployment, "ETH", Side.LONG, "0.1")

    assert reconcile(session, deployment, paper) == []
    # Unsettled for that long, it is no longer in flight: what the venue holds is discovered.
    [finding] = reconcile(session, deployment, paper, NOW + IN_FLIGHT + timedelta(seconds=1))
    assert finding.kind == FindingKind.DISCOVERED


def test_paper_closing_fill_replays_the_book(paper, deployment, clock):
    account = VenueAccount(deployment.id)
    assert paper.closing_fill(account, "ETH", Side.LONG) is None
    paper_trade(paper, deployment, "ETH", Side.LONG, "1")
    clock.now = NOW + HOUR
    close_long = paper_close(paper, deployment, "ETH", Side.LONG, "1")
    clock.now = NOW + 2 * HOUR
    paper_trade(paper, deployment, "ETH", Side.SHORT, "1")  # a sell that closes nothing
    clock.now = NOW + 3 * HOUR
    close_short = paper_close(paper, deployment, "ETH", Side.SHORT, "1")

    by_long = paper.closing_fill(account, "ETH", Side.LONG)
    by_short = paper.closing_fill(account, "ETH", Side.SHORT)
    assert (by_long.client_order_id, by_long.price, by_long.side) == (
        close_long.client_order_id,
        close_long.price,
        Side.LONG,
    )
    assert (by_short.client_order_id, by_short.side) == (close_short.client_order_id, Side.SHORT)
    assert paper.closing_fill(account, "BTC", Side.LONG) is None


# -- Hyperliquid on the local server --------------------------------------------------------------------


@pytest.fixture
def hl(hl_server) -> HyperliquidVenue:
    return HyperliquidVenue(hl_server.url, timeout=5)


@pytest.fixture
def hl_deployment(factory, hl_user) -> AgentDeployment:
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    return factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, user_wallet=hl_user.address)


@pytest.fixture
def outside(hl_server, hl_user, hl_agent) -> Exchange:
    """The user's approved agent trading with the SDK itself, past our rows."""
    return Exchange(hl_agent, hl_server.url, account_address=hl_user.address)


def hl_open(hl, deployment, agent, market: str, side: Side, size: str, leverage: int = 3) -> Fill:
    account = VenueAccount(deployment.id, deployment.user_wallet, agent)
    return place(hl, account, OrderRequest(market, side, Decimal(size), cloid(), Decimal(leverage)))


def filled(reply: dict) -> dict:
    status = reply["response"]["data"]["statuses"][0]
    assert "filled" in status, reply
    return status["filled"]


def test_hyperliquid_position_opened_outside_is_discovered(session, hl_server, hl, hl_deployment, outside):
    hl_server.set_mid("ETH", Decimal("3000"))
    outside.update_leverage(4, "ETH")
    filled(outside.market_open("ETH", False, 0.2, slippage=0.01))

    [finding] = reconcile(session, hl_deployment, hl, utcnow())

    [row] = rows(session, hl_deployment)
    assert finding.kind == FindingKind.DISCOVERED
    assert (row.venue, row.market, row.side, row.size, row.entry_price, row.leverage) == (
        ExecutionVenue.HYPERLIQUID,
        "ETH",
        Side.SHORT,
        Decimal("0.2"),
        Decimal(3000),
        Decimal(4),
    )
    assert (row.signal_id, row.client_order_id, row.trailing_high) == (None, None, Decimal(3000))
    assert reconcile(session, hl_deployment, hl, utcnow()) == []


def test_hyperliquid_close_outside_is_recorded_at_its_fill(
    session, hl_server, hl, hl_deployment, hl_agent, outside
):
    hl_server.set_mid("ETH", Decimal("3000"))
    ours = record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.1"))
    hl_server.set_mid("ETH", Decimal("3100"))
    filled(outside.market_close("ETH", slippage=0.01))
    hl_server.set_mid("ETH", Decimal("3300"))  # the mid has moved on since: the fill price is what counts
    before = len(hl_server.info_requests("userFills"))

    [finding] = reconcile(session, hl_deployment, hl, utcnow())

    [row] = rows(session, hl_deployment)
    assert (finding.kind, finding.position_id) == (FindingKind.CLOSED_OUTSIDE, ours.id)
    assert (row.status, row.close_reason, row.exit_price) == (
        PositionStatus.CLOSED,
        CloseReason.EXTERNAL,
        Decimal(3100),
    )
    exit_fee = Decimal(hl_server.fills(hl_deployment.user_wallet)[-1]["fee"])
    assert row.exit_fee == exit_fee > 0
    assert row.realized_pnl == Decimal(10) - ours.entry_fee - exit_fee
    assert len(hl_server.info_requests("userFills")) == before + 1
    assert finding.details["price_source"] == "fill"
    assert reconcile(session, hl_deployment, hl, utcnow()) == []


def test_hyperliquid_partial_close_outside_corrects_the_size(
    session, hl_server, hl, hl_deployment, hl_agent, outside
):
    hl_server.set_mid("ETH", Decimal("3000"))
    ours = record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.2"))
    filled(outside.order("ETH", False, 0.05, 2950, IOC, reduce_only=True))

    [finding] = reconcile(session, hl_deployment, hl, utcnow())

    [row] = rows(session, hl_deployment)
    assert (finding.kind, finding.position_id) == (FindingKind.SIZE_CORRECTED, ours.id)
    assert (row.status, row.size, row.entry_price) == (PositionStatus.OPEN, Decimal("0.15"), Decimal(3000))
    assert reconcile(session, hl_deployment, hl, utcnow()) == []


def test_hyperliquid_reversal_outside(session, hl_server, hl, hl_deployment, hl_agent, outside):
    hl_server.set_mid("SOL", Decimal("100"))
    record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "SOL", Side.LONG, "1"))
    hl_server.set_mid("SOL", Decimal("90"))
    filled(outside.market_open("SOL", False, 3, slippage=0.01))  # sells 1 to close, 2 to open a short

    findings = reconcile(session, hl_deployment, hl, utcnow())

    assert [f.kind for f in findings] == [FindingKind.CLOSED_OUTSIDE, FindingKind.DISCOVERED]
    old, new = rows(session, hl_deployment)
    assert (old.exit_price, old.close_reason) == (Decimal(90), CloseReason.EXTERNAL)
    assert (new.side, new.size, new.entry_price) == (Side.SHORT, Decimal(2), Decimal(90))


def test_hyperliquid_closing_fill(hl_server, hl, hl_user, hl_agent, hl_deployment, outside):
    account = VenueAccount(hl_deployment.id, hl_user.address)
    hl_server.set_mid("ETH", Decimal("3000"))
    assert hl.closing_fill(account, "ETH", Side.LONG) is None
    hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.1")
    assert hl.closing_fill(account, "ETH", Side.LONG) is None  # an opening fill closes nothing
    hl_server.set_mid("ETH", Decimal("3050"))
    filled(outside.market_close("ETH", slippage=0.01))
    hl_server.set_mid("BTC", Decimal("60000"))
    filled(outside.market_open("BTC", True, 0.001, slippage=0.01))  # a later fill in another market

    fill = hl.closing_fill(account, "ETH", Side.LONG)
    assert (fill.market, fill.side, fill.size, fill.price) == (
        "ETH",
        Side.LONG,
        Decimal("0.1"),
        Decimal(3050),
    )
    assert fill.fee == Decimal(hl_server.fills(hl_user.address)[-2]["fee"]) and fill.filled_at is not None
    assert hl.closing_fill(account, "ETH", Side.SHORT) is None


def test_deployments_sharing_one_hyperliquid_account_do_not_discover_each_others_positions(
    session, factory, hl_server, hl, hl_deployment, hl_agent, hl_user
):
    other = factory.deployment(
        factory.agent(venue=Venue.HYPERLIQUID),
        venue=ExecutionVenue.HYPERLIQUID,
        user_wallet=hl_user.address.lower(),  # the same account, spelt in lower case
    )
    hl_server.set_mid("ETH", Decimal("3000"))
    record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.1"))

    assert reconcile(session, other, hl, utcnow()) == []
    assert reconcile(session, hl_deployment, hl, utcnow()) == []
    assert rows(session, other) == []


def test_a_budget_too_small_for_fills_prices_a_close_at_the_mid(
    session, hl_server, hl, hl_deployment, hl_agent, outside
):
    hl_server.set_mid("ETH", Decimal("3000"))
    record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.1"))
    hl_server.set_mid("ETH", Decimal("3100"))
    filled(outside.market_close("ETH", slippage=0.01))
    hl_server.set_mid("ETH", Decimal("3200"))
    budget = WeightBudget(10, clock=Monotonic())  # a userFills read (20) never fits

    [finding] = reconcile(session, hl_deployment, hl, utcnow(), budget=budget)

    assert (finding.details["price_source"], finding.details["exit_price"]) == ("mid", "3200")
    assert budget.spent_last_minute() == 4  # clearinghouseState and allMids


# -- reconcile_due --------------------------------------------------------------------------------------


def registry(paper: PaperVenue, hl: HyperliquidVenue) -> VenueRegistry:
    return VenueRegistry({ExecutionVenue.PAPER: paper, ExecutionVenue.HYPERLIQUID: hl})


def test_due_deployments_oldest_first_live_or_still_holding(session, factory, paper, hl, deployment, clock):
    agent = factory.agent()
    fresh = factory.paper_deployment(agent, reconciled_at=NOW - timedelta(seconds=30))
    stale = factory.paper_deployment(agent, reconciled_at=NOW - HOUR)
    paused = factory.paper_deployment(agent, status=DeploymentStatus.PAUSED)
    ended = factory.paper_deployment(agent, status=DeploymentStatus.CANCELLED)
    ended_holding = factory.paper_deployment(agent, status=DeploymentStatus.CANCELLED)
    record(session, ended_holding, paper_trade(paper, ended_holding, "ETH", Side.LONG, "0.1"))
    waiting = factory.deployment(
        agent, venue=ExecutionVenue.HYPERLIQUID, status=DeploymentStatus.PENDING_APPROVAL
    )
    paper_trade(paper, stale, "BTC", Side.LONG, "0.01")  # outside: found when `stale` is checked

    report = reconcile_due(
        session, registry(paper, hl), WeightBudget(240), now=NOW, interval=timedelta(minutes=1)
    )

    assert (report.checked, report.skipped_for_budget, report.errors, report.weight_spent) == (4, 0, 0, 0)
    assert [(f.kind, f.deployment_id) for f in report.findings] == [(FindingKind.DISCOVERED, stale.id)]
    session.expire_all()
    reconciled = {d.id for d in session.exec(select(AgentDeployment)) if d.reconciled_at == NOW}
    assert reconciled == {deployment.id, paused.id, ended_holding.id, stale.id}
    assert session.get(AgentDeployment, fresh.id).reconciled_at == NOW - timedelta(seconds=30)
    assert session.get(AgentDeployment, ended.id).reconciled_at is None
    assert session.get(AgentDeployment, waiting.id).reconciled_at is None

    again = reconcile_due(
        session, registry(paper, hl), WeightBudget(240), now=NOW, interval=timedelta(minutes=1)
    )
    assert (again.checked, again.findings) == (0, ())


def test_one_failing_deployment_does_not_stop_the_others(session, factory, hl_server, paper, hl, deployment):
    agent = factory.agent()
    no_account = factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, user_wallet=None)
    down = factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, user_wallet=Account.create().address)
    hl.markets()  # the catalog read first, so the failure lands on the account read
    hl_server.fail_next(500, count=1, path="/info")
    paper_trade(paper, deployment, "ETH", Side.LONG, "0.1")

    report = reconcile_due(session, registry(paper, hl), WeightBudget(240), now=NOW, interval=HOUR)

    assert (report.checked, report.errors) == (1, 2)
    assert [f.deployment_id for f in report.findings] == [deployment.id]
    session.expire_all()
    assert session.get(AgentDeployment, no_account.id).reconciled_at is None
    assert session.get(AgentDeployment, down.id).reconciled_at is None  # due again next round


def test_reconcile_due_stays_within_the_weight_budget(session, factory, hl_server, paper, hl):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    hl_deployments = [
        factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, user_wallet=Account.create().address)
        for _ in range(12)
    ]
    paper_deployments = [factory.paper_deployment(agent) for _ in range(3)]
    hl.markets()  # the catalog is read once per process, before any round
    monotonic = Monotonic()
    budget = WeightBudget(10, clock=monotonic)
    venues = registry(paper, hl)
    spent, when = [], NOW

    first = reconcile_due(session, venues, budget, now=when, interval=timedelta(minutes=5))
    assert (first.checked, first.weight_spent, first.skipped_for_budget, first.errors) == (8, 10, 7, 0)
    spent.append(first.weight_spent)
    assert budget.spent_last_minute() == 10

    monotonic.now += 30
    when += timedelta(seconds=30)
    second = reconcile_due(session, venues, budget, now=when, interval=timedelta(minutes=5))
    assert (second.checked, second.weight_spent, second.skipped_for_budget) == (0, 0, 7)

    for expected in [(5, 10, 2), (2, 4, 0)]:  # each further minute affords five more
        monotonic.now += 60
        when += timedelta(minutes=1)
        report = reconcile_due(session, venues, budget, now=when, interval=timedelta(minutes=5))
        assert (report.checked, report.weight_spent, report.skipped_for_budget) == expected
        assert budget.spent_last_minute() <= 10
        spent.append(report.weight_spent)

    session.expire_all()
    assert all(session.get(AgentDeployment, d.id).reconciled_at is not None for d in hl_deployments)
    assert all(session.get(AgentDeployment, d.id).reconciled_at == NOW for d in paper_deployments)
    assert len(hl_server.info_requests("clearinghouseState")) == sum(spent) // 2 == 12


def test_a_deployment_the_budget_cannot_finish_stays_due_untouched(
    session, hl_server, paper, hl, hl_deployment, hl_agent, outside
):
    hl_server.set_mid("ETH", Decimal("3000"))
    ours = record(session, hl_deployment, hl_open(hl, hl_deployment, hl_agent, "ETH", Side.LONG, "0.1"))
    hl_server.set_mid("ETH", Decimal("3100"))
    filled(outside.market_close("ETH", slippage=0.01))
    monotonic = Monotonic()
    budget = WeightBudget(30, clock=monotonic)
    assert budget.try_spend(10)  # the rest of the platform's share of this minute
    venues = registry(paper, hl)

    report = reconcile_due(session, venues, budget, now=NOW, interval=HOUR)

    assert (report.checked, report.skipped_for_budget, report.weight_spent, report.findings) == (0, 1, 2, ())
    session.expire_all()
    assert session.get(Position, ours.id).status == PositionStatus.OPEN
    assert session.get(AgentDeployment, hl_deployment.id).reconciled_at is None
    assert audits(session, "reconcile.closed_outside") == []

    monotonic.now += 60
    report = reconcile_due(session, venues, budget, now=NOW, interval=HOUR)
    assert (report.checked, report.weight_spent) == (1, 22)
    [finding] = report.findings
    assert (finding.kind, finding.details["exit_price"]) == (FindingKind.CLOSED_OUTSIDE, "3100")


def test_reconcile_deployment_raises_when_the_budget_refuses(session, hl, hl_deployment):
    budget = WeightBudget(10, clock=Monotonic())
    assert budget.try_spend(10)
    with pytest.raises(BudgetRefused):
        reconcile_deployment(session, hl_deployment, hl, now=NOW, budget=budget)


def test_a_multi_venue_deployment_is_reconciled_on_each_of_its_venues(
    session, factory, hl_server, paper, hl, hl_user, outside
):
    multi = factory.paper_deployment(
        factory.agent(venue=Venue.MULTI),
        venue_preferences=[ExecutionVenue.PAPER.value, ExecutionVenue.HYPERLIQUID.value],
        user_wallet=hl_user.address,
    )
    paper_trade(paper, multi, "BTC", Side.LONG, "0.01")
    hl_server.set_mid("ETH", Decimal("3000"))
    filled(outside.market_open("ETH", True, 0.1, slippage=0.01))

    report = reconcile_due(session, registry(paper, hl), WeightBudget(240), now=NOW, interval=HOUR)

    assert (report.checked, report.weight_spent) == (1, 2)
    found = sorted((f.details["venue"], f.market, f.kind) for f in report.findings)
    assert found == [("HYPERLIQUID", "ETH", "discovered"), ("PAPER", "BTC", "discovered")]
    assert {(r.venue, r.market) for r in rows(session, multi)} == {("PAPER", "BTC"), ("HYPERLIQUID", "ETH")}
