"""The fan-out's batch path (`Executor.execute_many`) on SQLite and PostgreSQL: a chunk of deployments opens
exactly once per (deployment, signal), survives a crash between the venue's fills and our records, and keeps
every skip's reason, with the same figures as the one-deployment path."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.execution.service import Executor, client_order_id
from backend.models import (
    AuditLog,
    BillingEvent,
    PaperAccount,
    PaperFill,
    PaperPosition,
    Position,
    SignalExecution,
    VenueRoutingHistory,
)
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, ExecutionStatus, ExecutionVenue, Side, SignalStatus, Venue
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
    """Prices of one instant: the batch and the one-deployment path are compared at the same price."""
    frozen = utcnow()
    return PaperVenue(engine, SimulatedPriceFeed(seed=7), clock=lambda: frozen)


def executor_on(paper: PaperVenue, **kw) -> Executor:
    return Executor(VenueRegistry({ExecutionVenue.PAPER: paper}), WalletCipher(b"k" * 32), **kw)


@pytest.fixture
def agent(factory):
    return factory.agent(venue=Venue.HYPERLIQUID)


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def statuses(session: Session, signal_id: int) -> dict[int, tuple[str, str | None]]:
    rows = session.exec(select(SignalExecution).where(SignalExecution.signal_id == signal_id)).all()
    return {r.deployment_id: (r.status, r.reason) for r in rows}


def test_a_chunk_opens_what_one_deployment_at_a_time_would(session, factory, paper, agent):
    chunk = [factory.paper_deployment(agent).id for _ in range(6)]
    alone = factory.paper_deployment(agent).id
    signal = factory.signal(
        agent, token="ETH", side=Side.SHORT, score=Decimal("0.8"), status=SignalStatus.PENDING
    )
    executor = executor_on(paper)

    result = executor.execute_many(session, signal.id, chunk)
    single = executor.execute(session, signal.id, alone)

    assert result.retry == {}
    assert {d: o.status for d, o in result.outcomes.items()} == dict.fromkeys(chunk, ExecutionStatus.FILLED)
    positions = session.exec(select(Position).where(Position.signal_id == signal.id)).all()
    assert sorted(p.deployment_id for p in positions) == sorted([*chunk, alone])
    reference = session.get(Position, single.position_id)
    for position in positions:
        assert (position.market, position.side, position.venue) == ("ETH", Side.SHORT, ExecutionVenue.PAPER)
        assert position.client_order_id == client_order_id(position.deployment_id, signal.id)
        assert position.id == result.outcomes.get(position.deployment_id, single).position_id
        # the same price path, balance and sizing: the same trade as the one-deployment path made
        assert (position.size, position.entry_price, position.entry_fee, position.leverage) == (
            reference.size,
            reference.entry_price,
            reference.entry_fee,
            reference.leverage,
        )
        book = session.get(PaperAccount, position.deployment_id)
        session.refresh(book)
        assert book.cash == Decimal("10000") - position.entry_fee
        held = session.get(PaperPosition, (position.deployment_id, "ETH"))
        session.refresh(held)
        assert held.size == -position.size
    assert count(session, BillingEvent) == 0  # paper trading is free
    assert count(session, AuditLog, AuditLog.action == "position.opened") == 7


def test_two_runs_of_the_same_chunk_at_once_open_each_position_once(engine, factory, paper, agent):
    chunk = [factory.paper_deployment(agent).id for _ in range(8)]
    signal = factory.signal(agent, token="BTC", status=SignalStatus.PENDING)
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def run() -> None:
        try:
            start.wait()
            with Session(engine, expire_on_commit=False) as own:
                executor_on(paper).execute_many(own, signal.id, chunk)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Session(engine) as check:
        assert count(check, PaperFill) == len(chunk)
        assert count(check, Position) == len(chunk)
        assert count(check, BillingEvent) == 0  # paper trading is free
        assert set(statuses(check, signal.id).values()) == {(ExecutionStatus.FILLED, None)}
        for deployment_id in chunk:  # each book paid one fee, not three
            book = check.get(PaperAccount, deployment_id)
            fill = check.exec(select(PaperFill).where(PaperFill.deployment_id == deployment_id)).one()
            assert book.cash == Decimal("10000") - fill.fee


def test_a_crash_between_the_chunks_fills_and_records_is_recovered_without_second_orders(
    session, factory, paper, agent
):
    chunk = [factory.paper_deployment(agent).id for _ in range(5)]
    signal = factory.signal(agent, token="SOL", score=Decimal("0.6"), status=SignalStatus.PENDING)

    with pytest.raises(Crash):
        executor_on(paper, fault=crash_after_fill).execute_many(session, signal.id, chunk)
    session.rollback()
    assert count(session, PaperFill) == len(chunk)  # the venue filled the whole chunk
    assert count(session, Position) == 0  # and none of it was recorded

    with Session(session.get_bind(), expire_on_commit=False) as restarted:
        result = executor_on(paper).execute_many(restarted, signal.id, chunk)

    assert {o.status for o in result.outcomes.values()} == {ExecutionStatus.FILLED}
    assert count(session, PaperFill) == len(chunk)
    for deployment_id in chunk:
        cloid = client_order_id(deployment_id, signal.id)
        assert count(session, PaperFill, PaperFill.client_order_id == cloid) == 1
        assert count(session, Position, Position.deployment_id == deployment_id) == 1
    executions = session.exec(select(SignalExecution)).all()
    assert {e.attempts for e in executions} == {2}
    assert count(session, BillingEvent) == 0  # paper trading is free


def test_a_chunk_finishes_what_the_one_deployment_path_left_after_a_crash(session, factory, paper, agent):
    deployments = [factory.paper_deployment(agent).id for _ in range(3)]
    signal = factory.signal(agent, token="LINK", status=SignalStatus.PENDING)
    with pytest.raises(Crash):
        executor_on(paper, fault=crash_after_fill).execute(session, signal.id, deployments[0])
    session.rollback()

    result = executor_on(paper).execute_many(session, signal.id, deployments)

    assert {o.status for o in result.outcomes.values()} == {ExecutionStatus.FILLED}
    assert count(session, PaperFill) == 3
    assert count(session, Position) == 3


def test_skips_inside_a_chunk_are_stored_with_their_reasons(session, factory, paper, agent):
    active = factory.paper_deployment(agent).id
    paused = factory.paper_deployment(agent, status=DeploymentStatus.PAUSED).id
    small = factory.paper_deployment(agent, balance=Decimal("200")).id
    margined = factory.paper_deployment(agent, balance=Decimal("1000")).id
    # $900 of ETH at 1x holds $900 of margin: $100 available is under the $200 reserve
    size = (Decimal("900") / paper.mids()["ETH"]).quantize(Decimal("0.0001"))
    place(paper, VenueAccount(margined), OrderRequest("ETH", Side.LONG, size, "0x" + "ab" * 16))
    shorted = factory.paper_deployment(agent).id
    earlier = factory.signal(agent, token="BTC", side=Side.SHORT, status=SignalStatus.PENDING)
    assert executor_on(paper).execute(session, earlier.id, shorted).status == ExecutionStatus.FILLED
    no_book = factory.deployment(agent).id  # paper, but the venue has never heard of its account
    signal = factory.signal(agent, token="BTC", score=Decimal("0.56"), status=SignalStatus.PENDING)
    chunk = [active, paused, small, margined, shorted, no_book]

    result = executor_on(paper).execute_many(session, signal.id, chunk)

    stored = statuses(session, signal.id)
    assert stored[active] == (ExecutionStatus.FILLED, None)
    assert stored[paused] == (ExecutionStatus.SKIPPED, "deployment paused")
    assert stored[small][0] == ExecutionStatus.SKIPPED
    assert stored[small][1].startswith("below minimum: $")  # low confidence: 2% of $200 = $4
    assert stored[margined][0] == ExecutionStatus.SKIPPED
    assert stored[margined][1].startswith("insufficient balance: $")
    assert stored[shorted] == (
        ExecutionStatus.SKIPPED,
        "opposite position open: a short BTC position is open; its exits close it before a reversal",
    )
    assert stored[no_book] == (
        ExecutionStatus.FAILED,
        f"venue failed: deployment {no_book} has no paper account",
    )
    assert {d: (o.status, o.reason) for d, o in result.outcomes.items()} == stored
    assert count(session, Position, Position.signal_id == signal.id) == 1


def test_a_market_the_paper_venue_lacks_skips_the_whole_chunk(session, factory, paper, agent):
    chunk = [factory.paper_deployment(agent).id for _ in range(3)]
    signal = factory.signal(agent, token="SHIB", status=SignalStatus.PENDING)

    executor_on(paper).execute_many(session, signal.id, chunk)

    assert set(statuses(session, signal.id).values()) == {
        (ExecutionStatus.SKIPPED, "market not listed: SHIB not listed on PAPER")
    }


def test_a_venue_hiccup_hands_the_chunk_back_for_retries(session, factory, paper, agent):
    class DownVenue(PaperVenue):
        def mids(self, markets=None):
            raise TemporaryVenueError("venue down")

    chunk = [factory.paper_deployment(agent).id for _ in range(3)]
    signal = factory.signal(agent, status=SignalStatus.PENDING)
    down = DownVenue(session.get_bind(), SimulatedPriceFeed(seed=7))

    result = executor_on(down).execute_many(session, signal.id, chunk)

    assert result.retry == dict.fromkeys(chunk, "venue down")
    assert set(statuses(session, signal.id).values()) == {(ExecutionStatus.PENDING, None)}
    assert executor_on(paper).execute_many(session, signal.id, chunk).retry == {}
    assert count(session, Position) == 3


def test_deployments_off_the_batch_path_run_one_by_one_in_the_same_call(session, factory, paper):
    agent = factory.agent(venue=Venue.MULTI)
    routed = [factory.paper_deployment(agent, venue_preferences=["PAPER"]).id for _ in range(3)]
    plain = [factory.paper_deployment(agent).id for _ in range(2)]
    signal = factory.signal(agent, token="ETH", status=SignalStatus.PENDING)

    result = executor_on(paper, concurrency=2).execute_many(session, signal.id, routed + plain)

    assert {d: o.status for d, o in result.outcomes.items()} == dict.fromkeys(
        routed + plain, ExecutionStatus.FILLED
    )
    assert count(session, VenueRoutingHistory) == len(routed)  # the routed ones went through the router
    assert count(session, Position) == 5


def test_a_deployment_of_another_agent_is_refused(session, factory, paper, agent):
    mine = factory.paper_deployment(agent).id
    other = factory.paper_deployment(factory.agent()).id
    signal = factory.signal(agent, status=SignalStatus.PENDING)

    with pytest.raises(LookupError):
        executor_on(paper).execute_many(session, signal.id, [mine, other])
    assert count(session, SignalExecution) == 0


def test_one_posts_signals_share_a_chunk_and_a_deployment_trading_two_is_sized_after_its_first(
    session, factory, paper
):
    first_agent, second_agent = factory.agent(), factory.agent()
    both = factory.paper_deployment(first_agent, balance=Decimal("1000"))
    others = [factory.paper_deployment(second_agent).id for _ in range(2)]
    eth = factory.signal(first_agent, token="ETH", score=Decimal("0.9"), status=SignalStatus.PENDING)
    btc = factory.signal(first_agent, token="BTC", score=Decimal("0.9"), status=SignalStatus.PENDING)
    sol = factory.signal(second_agent, token="SOL", status=SignalStatus.PENDING)
    pairs = [(eth.id, both.id), (btc.id, both.id), *((sol.id, d) for d in others)]

    result = executor_on(paper).execute_pairs(session, pairs)

    assert {pair: o.status for pair, o in result.outcomes.items()} == dict.fromkeys(
        pairs, ExecutionStatus.FILLED
    )
    first, second = (session.get(Position, result.outcomes[(s.id, both.id)].position_id) for s in (eth, btc))
    # 8% of the $1,000 available (a long fills 5 bps above the mid), then 8% of what the first trade left
    assert Decimal("79") < first.size * first.entry_price < Decimal("80.1")
    assert second.size * second.entry_price < Decimal("74")
    assert count(session, Position) == 4
