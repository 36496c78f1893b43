"""Executor on the paper venue, SQLite and PostgreSQL: opens once, skips with reasons, survives crashes."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.execution.service import Executor, client_order_id
from backend.models import (
    AuditLog,
    BillingEvent,
    PaperAccount,
    PaperFill,
    Position,
    Signal,
    SignalExecution,
    VenueRoutingHistory,
)
from backend.models.common import utcnow
from backend.models.enums import (
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SignalStatus,
    Venue,
)
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.base import OrderRequest, TemporaryVenueError, VenueAccount
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.venue_support import place


class Crash(BaseException):
    """Stands in for the process dying: nothing after the crash point runs."""


def crash_after_fill(point: str) -> None:
    if point == "after_fill":
        raise Crash(point)


@pytest.fixture
def paper(engine) -> PaperVenue:
    return PaperVenue(engine, SimulatedPriceFeed(seed=7))


@pytest.fixture
def executor(paper) -> Executor:
    return Executor(VenueRegistry({ExecutionVenue.PAPER: paper}), WalletCipher(b"k" * 32))


@pytest.fixture
def agent(factory):
    return factory.agent(venue=Venue.HYPERLIQUID)


def pending_signal(factory, agent, **kw) -> Signal:
    kw.setdefault("status", SignalStatus.PENDING)
    return factory.signal(agent, **kw)


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_signal_opens_one_position_with_its_fee_and_audit_row(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent, token="ETH", side=Side.SHORT, score=Decimal("0.80"))

    outcome = executor.execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.FILLED
    position = session.get(Position, outcome.position_id)
    assert (position.market, position.side, position.status) == ("ETH", Side.SHORT, PositionStatus.OPEN)
    assert position.venue == ExecutionVenue.PAPER
    assert position.client_order_id == client_order_id(deployment.id, signal.id)
    # high confidence: 8% of the $10,000 available as margin at 1x
    assert Decimal("790") < position.size * position.entry_price <= Decimal("800")
    assert position.entry_fee == (position.size * position.entry_price * Decimal("0.00045")).quantize(
        Decimal("0.000001")
    )
    assert count(session, BillingEvent) == 0  # paper trading is free: no trade fee
    assert count(
        session, AuditLog, AuditLog.action == "position.opened", AuditLog.entity_id == str(position.id)
    )
    book = session.get(PaperAccount, deployment.id)
    session.refresh(book)
    assert book.cash == Decimal("10000") - position.entry_fee


def test_executing_again_changes_nothing(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent)

    first = executor.execute(session, signal.id, deployment.id)
    second = executor.execute(session, signal.id, deployment.id)

    assert first == second
    assert count(session, PaperFill) == 1
    assert count(session, Position) == 1
    assert count(session, BillingEvent) == 0  # paper is free


def test_a_crash_between_fill_and_record_is_recovered_without_a_second_order(session, factory, paper, agent):
    deployment = factory.paper_deployment(agent)
    registry = VenueRegistry({ExecutionVenue.PAPER: paper})
    crashing = Executor(registry, WalletCipher(b"k" * 32), fault=crash_after_fill)
    for round_ in range(20):
        signal = pending_signal(factory, agent, token="SOL", score=Decimal("0.6"))
        with pytest.raises(Crash):
            crashing.execute(session, signal.id, deployment.id)
        session.rollback()
        assert count(session, Position, Position.signal_id == signal.id) == 0  # the fill was never recorded

        with Session(session.get_bind(), expire_on_commit=False) as restarted:
            outcome = Executor(registry, WalletCipher(b"k" * 32)).execute(restarted, signal.id, deployment.id)

        assert outcome.status == ExecutionStatus.FILLED, round_
        cloid = client_order_id(deployment.id, signal.id)
        assert count(session, PaperFill, PaperFill.client_order_id == cloid) == 1
        assert count(session, Position, Position.signal_id == signal.id) == 1
    assert count(session, BillingEvent) == 0  # paper is free (a live crash: test_hyperliquid_deployment)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (DeploymentStatus.PAUSED, "deployment paused"),
        (DeploymentStatus.CANCELLED, "deployment cancelled"),
        (
            DeploymentStatus.PENDING_APPROVAL,
            "deployment awaiting approval: its agent wallet is not approved yet",
        ),
    ],
)
def test_a_deployment_not_active_skips_with_its_reason(session, factory, executor, agent, status, reason):
    deployment = factory.paper_deployment(agent, status=status)
    signal = pending_signal(factory, agent)

    outcome = executor.execute(session, signal.id, deployment.id)

    assert (outcome.status, outcome.reason) == (ExecutionStatus.SKIPPED, reason)
    assert count(session, PaperFill) == 0
    stored = session.exec(select(SignalExecution)).one()
    assert (stored.status, stored.reason) == (ExecutionStatus.SKIPPED, reason)


def test_a_market_the_venue_lacks_is_skipped(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent, token="SHIB")

    outcome = executor.execute(session, signal.id, deployment.id)

    assert (outcome.status, outcome.reason) == (
        ExecutionStatus.SKIPPED,
        "market not listed: SHIB not listed on PAPER",
    )


def test_a_trade_below_the_minimum_is_skipped(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent, balance=Decimal("200"))
    signal = pending_signal(factory, agent, score=Decimal("0.56"))  # low: 2% of $200 = $4

    outcome = executor.execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.SKIPPED
    assert outcome.reason.startswith("below minimum: $")


def test_a_balance_held_as_margin_leaves_nothing_to_trade(session, factory, executor, paper, agent):
    deployment = factory.paper_deployment(agent, balance=Decimal("1000"))
    # $900 of ETH at 1x holds $900 of margin: $100 available is under the $200 reserve
    mid = paper.mids()["ETH"]
    size = (Decimal("900") / mid).quantize(Decimal("0.0001"))
    place(paper, VenueAccount(deployment.id), OrderRequest("ETH", Side.LONG, size, "0x" + "ab" * 16))
    signal = pending_signal(factory, agent, token="BTC", score=Decimal("0.9"))

    outcome = executor.execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.SKIPPED
    assert outcome.reason.startswith("insufficient balance: $")
    assert count(session, Position) == 0


def test_a_stale_signal_is_not_traded(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent, created_at=utcnow() - timedelta(hours=2))
    deployment.created_at = utcnow() - timedelta(days=1)
    session.add(deployment)
    session.commit()

    outcome = executor.execute(session, signal.id, deployment.id)

    assert (outcome.status, outcome.reason) == (
        ExecutionStatus.SKIPPED,
        "signal expired: older than 30 minutes",
    )


def test_multi_agents_route_to_a_preferred_venue_that_lists_the_market_and_record_why(
    session, factory, executor
):
    agent = factory.agent(venue=Venue.MULTI)
    deployment = factory.paper_deployment(agent, venue_preferences=["PAPER"])
    signal = pending_signal(factory, agent, token="BTC")

    outcome = executor.execute(session, signal.id, deployment.id)

    assert (outcome.status, outcome.venue) == (ExecutionStatus.FILLED, ExecutionVenue.PAPER)
    decision = session.exec(select(VenueRoutingHistory)).one()
    assert (decision.chosen_venue, decision.reason) == (ExecutionVenue.PAPER, "PAPER: preference 1 lists BTC")
    assert decision.candidates == [{"venue": "PAPER", "verdict": "lists the market"}]


def test_a_live_deployment_is_skipped_rather_than_sent_to_paper(session, factory, executor):
    """A row stored before the rule lists PAPER after Hyperliquid; Hyperliquid is not available here, and
    paper, though it lists the market, is never a live deployment's fallback."""
    agent = factory.agent(venue=Venue.MULTI)
    deployment = factory.paper_deployment(
        agent, venue=ExecutionVenue.HYPERLIQUID, venue_preferences=["HYPERLIQUID", "PAPER"]
    )
    signal = pending_signal(factory, agent, token="BTC")

    outcome = executor.execute(session, signal.id, deployment.id)

    assert (outcome.status, outcome.venue) == (ExecutionStatus.SKIPPED, None)
    assert outcome.reason == (
        "market not listed: no preferred venue takes BTC; passed over HYPERLIQUID (not available here), "
        "PAPER (paper is never a fallback for a live deployment)"
    )
    assert count(session, Position) == 0
    decision = session.exec(select(VenueRoutingHistory)).one()
    assert decision.chosen_venue is None
    assert [c["verdict"] for c in decision.candidates] == [
        "not available here",
        "paper is never a fallback for a live deployment",
    ]


def test_a_venue_that_keeps_failing_is_given_up_after_the_attempt_budget(session, factory, paper, agent):
    class DownVenue(PaperVenue):
        def mids(self):
            raise TemporaryVenueError("venue down")

    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent)
    down = DownVenue(session.get_bind(), SimulatedPriceFeed(seed=7))
    executor = Executor(VenueRegistry({ExecutionVenue.PAPER: down}), WalletCipher(b"k" * 32), max_attempts=3)
    for _ in range(3):
        with pytest.raises(TemporaryVenueError):
            executor.execute(session, signal.id, deployment.id)
        session.rollback()

    outcome = executor.execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.FAILED
    assert outcome.reason == "venue failed: gave up after 3 attempts, the venue kept failing"


def test_two_workers_racing_on_one_execution_place_one_order(engine, factory, paper, agent):
    deployment = factory.paper_deployment(agent)
    signals = [pending_signal(factory, agent, token=t) for t in ("BTC", "ETH", "SOL", "AVAX")]
    registry = VenueRegistry({ExecutionVenue.PAPER: paper})
    errors: list[BaseException] = []

    def work(signal_id: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                Executor(registry, WalletCipher(b"k" * 32)).execute(own, signal_id, deployment.id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(s.id,)) for s in signals for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] or all(isinstance(e, TemporaryVenueError) for e in errors)
    with Session(engine) as check:
        assert count(check, PaperFill) == len(signals)
        assert count(check, Position) == len(signals)
        assert count(check, BillingEvent) == 0  # paper is free


def test_a_deployment_the_venue_does_not_know_fails_with_the_reason_instead_of_retrying(
    session, factory, executor
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    deployment = factory.deployment(agent)  # no paper book: the venue has never heard of this account
    signal = pending_signal(factory, agent)

    outcome = executor.execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.FAILED
    assert outcome.reason == f"venue failed: deployment {deployment.id} has no paper account"


def test_a_signal_against_an_open_position_waits_for_its_exit(session, factory, executor, agent):
    deployment = factory.paper_deployment(agent)
    long_call = pending_signal(factory, agent, token="ETH", side=Side.LONG)
    assert executor.execute(session, long_call.id, deployment.id).status == ExecutionStatus.FILLED
    short_call = pending_signal(factory, agent, token="ETH", side=Side.SHORT)

    outcome = executor.execute(session, short_call.id, deployment.id)

    assert outcome.status == ExecutionStatus.SKIPPED
    assert outcome.reason == (
        "opposite position open: a long ETH position is open; its exits close it before a reversal"
    )
    assert count(session, PaperFill) == 1


@pytest.mark.parametrize(
    ("agent_leverage", "cap", "expected"),
    [
        (Decimal(3), None, Decimal(3)),  # the agent's own leverage
        (Decimal(3), Decimal(2), Decimal(2)),  # the deployment's cap overrides it
        (Decimal(50), None, Decimal(25)),  # never above the market's maximum (ETH: 25x)
    ],
)
def test_trades_are_sized_at_the_agent_leverage_unless_the_deployment_caps_it(
    session, factory, executor, agent_leverage, cap, expected
):
    agent = factory.agent(venue=Venue.HYPERLIQUID, leverage=agent_leverage)
    deployment = factory.paper_deployment(agent, leverage_cap=cap)
    signal = pending_signal(factory, agent, token="ETH", score=Decimal("0.80"))

    outcome = executor.execute(session, signal.id, deployment.id)

    position = session.get(Position, outcome.position_id)
    assert position.leverage == expected
    # 8% of the $10,000 as margin, times the leverage: the notional grows with it.
    assert position.size * position.entry_price == pytest.approx(Decimal(800) * expected, rel=Decimal("0.01"))
