"""Trading events written with the changes they report, on SQLite and PostgreSQL: position opened (one
deployment and chunk paths), execution skipped (actionable reasons only, once an hour), stop moved, position
closed (monitor, retry, closed outside), close needs attention (1st refusal, then every 5th). Each site
writes one event with the right user, key and payload; a retry writes none; a rolled-back change none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from backend.agents.reference import ensure_reference_book
from backend.execution.service import Executor
from backend.models import AgentDeployment, NotificationEvent, Position
from backend.models.enums import (
    CloseReason,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.close import begin_close, finish_close, record_close
from backend.monitor.cycle import Monitor
from backend.monitor.reconcile import reconcile_deployment
from backend.notify import positions as position_events
from backend.notify.events import EMITTED, EventType, emit_many
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.exits import OpenPosition, rules_for, stop_price
from backend.trading.fees import FeePolicy
from backend.venues.base import OrderRequest, VenueAccount
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.monitor_support import CIPHER, DrivenFeed, paper_registry
from tests.notify_support import events
from tests.venue_support import place, reduce

T0 = datetime(2026, 12, 6, 12, 10, tzinfo=UTC)
FEES = FeePolicy(creator_share=Decimal("0.10"))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Crash(BaseException):
    """Stands in for the process dying between the venue's fill and our record."""


def crash_after_fill(point: str) -> None:
    if point == "after_fill":
        raise Crash(point)


FIGURES = {"size", "entry_price", "leverage", "exit_price", "realized_pnl", "fees", "stop_price"}


def numbers(payload: dict) -> dict:
    """The payload with its figures (exact decimal strings) as Decimals, to compare by value."""
    return {k: Decimal(v) if k in FIGURES else v for k, v in payload.items()}


def opened_payload(position: Position, deployment: AgentDeployment) -> dict:
    """What `position.opened` says of a long ETH paper position of the Momentum agent (`numbers` form)."""
    return {
        "position_id": position.id,
        "deployment_id": deployment.id,
        "agent_name": "Momentum",
        "venue": "PAPER",
        "market": "ETH",
        "side": "long",
        "size": position.size,
        "entry_price": position.entry_price,
        "leverage": position.leverage,
    }


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def feed() -> DrivenFeed:
    feed = DrivenFeed()
    feed.set("ETH", "3000")
    return feed


@pytest.fixture
def venues(engine, feed) -> VenueRegistry:
    return paper_registry(engine, feed)


@pytest.fixture
def executor(venues, clock) -> Executor:
    return Executor(venues, CIPHER, clock=clock)


@pytest.fixture
def agent(factory):
    return factory.agent(venue=Venue.HYPERLIQUID, name="Momentum")  # stop 10%, arms +3%, trails 1%


def pending_signal(factory, agent, clock, token="ETH", side=Side.LONG):
    return factory.signal(
        agent, token=token, side=side, status=SignalStatus.PENDING, score=Decimal("0.8"), created_at=clock.now
    )


# -- opened ---------------------------------------------------------------------------------------------


def test_an_open_is_told_once_to_the_deployments_owner_with_the_positions_figures(
    session, factory, agent, executor, clock
):
    trader = factory.user()
    deployment = factory.paper_deployment(agent, trader)
    signal = pending_signal(factory, agent, clock)

    outcome = executor.execute(session, signal.id, deployment.id)
    again = executor.execute(session, signal.id, deployment.id)  # a retried task

    assert again.position_id == outcome.position_id
    position = session.get(Position, outcome.position_id)
    [event] = events(session)
    assert (event.user_id, event.type, event.key) == (
        trader.id,
        "position.opened",
        f"position.opened:{position.id}",
    )
    assert (event.entity_type, event.entity_id) == ("position", str(position.id))
    assert numbers(event.payload) == opened_payload(position, deployment)


def test_a_crash_between_fill_and_record_tells_nothing_until_the_retry_records_it(
    session, factory, agent, venues, clock
):
    deployment = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent, clock)
    with pytest.raises(Crash):
        Executor(venues, CIPHER, clock=clock, fault=crash_after_fill).execute(
            session, signal.id, deployment.id
        )
    assert events(session) == []

    outcome = Executor(venues, CIPHER, clock=clock).execute(session, signal.id, deployment.id)

    assert [e.key for e in events(session)] == [f"position.opened:{outcome.position_id}"]


def test_a_chunk_tells_each_owner_of_their_open_once(session, factory, agent, executor, clock):
    owners = [factory.user() for _ in range(3)]
    deployments = [factory.paper_deployment(agent, owner) for owner in owners]
    signal = pending_signal(factory, agent, clock)

    result = executor.execute_many(session, signal.id, [d.id for d in deployments])
    executor.execute_many(session, signal.id, [d.id for d in deployments])  # the chunk retried

    told = events(session)
    assert len(told) == 3
    by_deployment = {e.payload["deployment_id"]: e for e in told}
    for deployment, owner in zip(deployments, owners, strict=True):
        position_id = result.outcomes[deployment.id].position_id
        event = by_deployment[deployment.id]
        assert (event.user_id, event.type, event.key) == (
            owner.id,
            "position.opened",
            f"position.opened:{position_id}",
        )
        position = session.get(Position, position_id)
        payload = numbers(event.payload)
        assert (payload["size"], payload["entry_price"]) == (position.size, position.entry_price)
        assert event.payload["agent_name"] == "Momentum" and event.payload["venue"] == "PAPER"


def test_a_chunk_crashed_after_its_fills_tells_once_on_the_retry(session, factory, agent, venues, clock):
    deployments = [factory.paper_deployment(agent).id for _ in range(2)]
    signal = pending_signal(factory, agent, clock)
    crashing = Executor(venues, CIPHER, clock=clock, fault=crash_after_fill)
    with pytest.raises(Crash):
        crashing.execute_many(session, signal.id, deployments)
    session.rollback()
    assert events(session) == []

    Executor(venues, CIPHER, clock=clock).execute_many(session, signal.id, deployments)

    assert len(events(session, EventType.POSITION_OPENED)) == 2


# -- skipped --------------------------------------------------------------------------------------------


def test_a_broke_account_hears_once_an_hour_not_once_per_signal(session, factory, agent, executor, clock):
    trader = factory.user()
    broke = factory.paper_deployment(agent, trader, balance=Decimal("5"))
    first = pending_signal(factory, agent, clock)

    outcome = executor.execute(session, first.id, broke.id)

    assert outcome.status == ExecutionStatus.SKIPPED
    [event] = events(session)
    category = outcome.reason.split(":")[0]
    slug = category.replace(" ", "_")
    assert (event.user_id, event.type, event.key) == (
        trader.id,
        "execution.skipped",
        f"execution.skipped:{broke.id}:{slug}:2026120612",
    )
    assert event.payload == {
        "deployment_id": broke.id,
        "agent_name": "Momentum",
        "signal_id": first.id,
        "market": "ETH",
        "side": "long",
        "category": category,
        "reason": outcome.reason,
    }
    # More signals the same hour: no more messages; the next hour: one more.
    clock.now = T0 + timedelta(minutes=30)
    executor.execute(session, pending_signal(factory, agent, clock, token="BTC").id, broke.id)
    assert len(events(session)) == 1
    clock.now = T0 + timedelta(minutes=55)
    executor.execute(session, pending_signal(factory, agent, clock, token="SOL").id, broke.id)
    told = events(session)
    assert [e.key.rsplit(":", 1)[1] for e in told] == ["2026120612", "2026120613"]


def test_skips_the_user_cannot_act_on_are_not_told(session, factory, agent, executor, clock):
    paused = factory.paper_deployment(agent, status=DeploymentStatus.PAUSED)
    signal = pending_signal(factory, agent, clock, token="NOPE")

    assert executor.execute(session, signal.id, paused.id).status == ExecutionStatus.SKIPPED
    active = factory.paper_deployment(agent)
    assert executor.execute(session, signal.id, active.id).status == ExecutionStatus.SKIPPED  # not listed

    assert events(session) == []


def test_a_chunk_tells_each_broke_owner_once_and_the_paused_one_nothing(
    session, factory, agent, executor, clock
):
    broke = [factory.paper_deployment(agent, balance=Decimal("5")) for _ in range(2)]
    paused = factory.paper_deployment(agent, status=DeploymentStatus.PAUSED)
    funded = factory.paper_deployment(agent)
    signal = pending_signal(factory, agent, clock)
    ids = [d.id for d in [*broke, paused, funded]]

    executor.execute_many(session, signal.id, ids)
    executor.execute_many(session, signal.id, ids)

    skipped = events(session, EventType.EXECUTION_SKIPPED)
    assert sorted(e.payload["deployment_id"] for e in skipped) == sorted(d.id for d in broke)
    assert {e.user_id for e in skipped} == {d.user_id for d in broke}
    assert all(e.key.endswith(":2026120612") for e in skipped)
    assert [e.payload["deployment_id"] for e in events(session, EventType.POSITION_OPENED)] == [funded.id]


# -- stop moved -----------------------------------------------------------------------------------------


@pytest.fixture
def monitor(engine, venues) -> Monitor:
    def close(position_id: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            finish_close(own, position_id, venues=venues, cipher=CIPHER, fees=FEES)

    return Monitor(venues, close, holder="test")


def stop_events(session: Session) -> list[NotificationEvent]:
    return events(session, EventType.STOP_MOVED)


def test_the_trailing_stop_arming_above_entry_is_told_once_for_each_milestone(
    session, factory, agent, executor, clock, feed, monitor
):
    trader = factory.user()
    deployment = factory.paper_deployment(agent, trader)
    position = session.get(
        Position,
        executor.execute(session, pending_signal(factory, agent, clock).id, deployment.id).position_id,
    )

    feed.set("ETH", "3050")  # +1.7%: best moves, nothing armed
    monitor.run_cycle(session)
    assert stop_events(session) == []
    feed.set("ETH", "3100")  # +3.3%: armed 1% below 3100 = 3069, above the entry: both at once
    monitor.run_cycle(session)
    feed.set("ETH", "3120")  # higher still: the stop moves, no milestone is new
    monitor.run_cycle(session)
    monitor.run_cycle(session)

    told = stop_events(session)
    assert [e.key for e in told] == [
        f"position.stop_moved:{position.id}:trailing_armed",
        f"position.stop_moved:{position.id}:break_even",
    ]
    assert {e.user_id for e in told} == {trader.id}
    assert numbers(told[0].payload) == {
        "position_id": position.id,
        "deployment_id": deployment.id,
        "agent_name": "Momentum",
        "market": "ETH",
        "side": "long",
        "entry_price": position.entry_price,
        "stop_price": Decimal("3100") * Decimal("0.99"),
        "milestone": "trailing_armed",
    }


def test_a_wide_trail_is_armed_first_and_reaches_break_even_later_short_too(
    session, factory, agent, executor, clock, feed, monitor
):
    deployment = factory.paper_deployment(agent, trailing_stop_positive=Decimal("0.05"))
    signal = pending_signal(factory, agent, clock, side=Side.SHORT)
    position = session.get(Position, executor.execute(session, signal.id, deployment.id).position_id)
    rules = rules_for(agent, deployment, None)

    feed.set("ETH", "2900")  # -3.3%: armed 5% above 2900 = 3045, still above (worse than) the entry
    monitor.run_cycle(session)
    assert [e.payload["milestone"] for e in stop_events(session)] == ["trailing_armed"]
    feed.set("ETH", "2850")  # 2992.5: at or better than the entry
    monitor.run_cycle(session)

    told = stop_events(session)
    assert [e.payload["milestone"] for e in told] == ["trailing_armed", "break_even"]
    state = OpenPosition(Side.SHORT, position.entry_price, position.opened_at, Decimal("2850"))
    assert Decimal(told[1].payload["stop_price"]) == stop_price(state, rules)


# -- closed ---------------------------------------------------------------------------------------------


def test_a_close_is_told_once_with_net_pnl_fees_and_reason(
    session, factory, agent, executor, clock, feed, monitor, venues
):
    trader = factory.user()
    deployment = factory.paper_deployment(agent, trader)
    opened = executor.execute(session, pending_signal(factory, agent, clock).id, deployment.id)
    feed.set("ETH", "3150")
    monitor.run_cycle(session)
    feed.set("ETH", "3100")  # under 3150 * 0.99: the trailing stop fires and the monitor closes it
    monitor.run_cycle(session)

    position = session.get(Position, opened.position_id, populate_existing=True)
    assert position.status == PositionStatus.CLOSED
    record_close(session, position.id, Decimal("1"), Decimal("0"), None, FEES)  # a retried record
    finish_close(session, position.id, venues=venues, cipher=CIPHER, fees=FEES)

    [event] = events(session, EventType.POSITION_CLOSED)
    assert (event.user_id, event.key) == (trader.id, f"position.closed:{position.id}")
    assert numbers(event.payload) == opened_payload(position, deployment) | {
        "exit_price": position.exit_price,
        "realized_pnl": position.realized_pnl,
        "fees": position.entry_fee + position.exit_fee,
        "reason": "TRAILING_STOP",
    }


def test_a_close_rolled_back_tells_nothing(session, factory, agent, executor, clock):
    deployment = factory.paper_deployment(agent)
    opened = executor.execute(session, pending_signal(factory, agent, clock).id, deployment.id)
    begin_close(session, opened.position_id, CloseReason.MANUAL)
    position = session.get(Position, opened.position_id)

    # The close's own writes, then a failure before its commit (what a crashed worker leaves behind).
    position.status, position.exit_price, position.exit_fee = (
        PositionStatus.CLOSED,
        Decimal("3000"),
        Decimal(0),
    )
    position.realized_pnl, position.close_reason = Decimal(0), CloseReason.MANUAL
    emit_many(
        session, [position_events.closed(*position_events.owner(session, position.deployment_id), position)]
    )
    assert session.info.get(EMITTED)
    session.rollback()

    assert events(session, EventType.POSITION_CLOSED) == []
    assert not session.info.get(EMITTED)


def test_a_position_gone_from_the_venue_is_told_closed_outside(session, factory, agent, engine, clock):
    paper = PaperVenue(engine, SimulatedPriceFeed(seed=7), clock=clock)
    deployment = factory.paper_deployment(agent, balance=Decimal("100000"))
    account = VenueAccount(deployment.id)
    fill = place(paper, account, OrderRequest("BTC", Side.LONG, Decimal("0.01"), "0x" + "11" * 16))

    reconcile_deployment(session, deployment, paper, now=T0)  # ours now: discovered
    session.commit()
    [row] = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
    clock.now = T0 + timedelta(hours=1)
    reduce(paper, account, OrderRequest("BTC", Side.LONG, Decimal("0.01"), "0x" + "22" * 16))
    reconcile_deployment(session, deployment, paper, now=clock.now)
    session.commit()
    reconcile_deployment(session, deployment, paper, now=clock.now + timedelta(hours=1))
    session.commit()

    opened, closed = events(session, EventType.POSITION_OPENED), events(session, EventType.POSITION_CLOSED)
    assert [e.key for e in opened] == [f"position.opened:{row.id}"]
    assert Decimal(opened[0].payload["entry_price"]) == fill.price
    assert [e.key for e in closed] == [f"position.closed:{row.id}"]
    session.refresh(row)
    assert closed[0].payload["reason"] == "EXTERNAL"
    assert Decimal(closed[0].payload["realized_pnl"]) == row.realized_pnl
    assert {e.user_id for e in opened + closed} == {deployment.user_id}


# -- needs attention ------------------------------------------------------------------------------------


def test_a_refused_close_is_told_on_the_first_refusal_then_every_fifth(
    session, factory, agent, executor, clock, venues
):
    trader = factory.user()
    deployment = factory.paper_deployment(agent, trader)
    position = session.get(
        Position,
        executor.execute(session, pending_signal(factory, agent, clock).id, deployment.id).position_id,
    )
    paper, account = venues.get(ExecutionVenue.PAPER), VenueAccount(deployment.id)
    # Part of it closed outside: the venue refuses to reduce the whole size yet still holds the rest.
    half = paper.markets()["ETH"].round_size(position.size / 2)
    reduce(paper, account, OrderRequest("ETH", Side.LONG, half, "0x" + "aa" * 16))
    begin_close(session, position.id, CloseReason.STOP_LOSS)

    now, attempts = T0, []
    for _ in range(6):
        refused = finish_close(session, position.id, venues=venues, cipher=CIPHER, fees=FEES, now=now)
        attempts.append(refused.close_attempts)
        now = refused.next_close_attempt_at
    assert attempts == [1, 2, 3, 4, 5, 6]

    told = events(session, EventType.NEEDS_ATTENTION)
    assert [e.key for e in told] == [
        f"position.needs_attention:{position.id}:1",
        f"position.needs_attention:{position.id}:5",
    ]
    assert {e.user_id for e in told} == {trader.id}
    first = told[0].payload
    assert (first["attempts"], first["market"], first["side"], first["venue"]) == (1, "ETH", "long", "PAPER")
    assert "no position to reduce" in first["reason"]
    assert first["next_attempt_at"] == (T0 + timedelta(seconds=5)).isoformat()
    assert (first["position_id"], first["deployment_id"], first["agent_name"]) == (
        position.id,
        deployment.id,
        "Momentum",
    )


# -- reference books ------------------------------------------------------------------------------------


def test_an_agents_reference_book_tells_its_creator_nothing(
    session, factory, agent, executor, clock, feed, monitor
):
    book = ensure_reference_book(session, agent, capital=Decimal("10000"), now=clock.now)
    session.commit()
    opened = executor.execute(session, pending_signal(factory, agent, clock).id, book.id)
    executor.execute_many(session, pending_signal(factory, agent, clock, token="BTC").id, [book.id])
    feed.set("ETH", "3150")  # armed and at break-even
    monitor.run_cycle(session)
    feed.set("ETH", "3100")  # the trailing stop closes it
    monitor.run_cycle(session)

    assert session.get(Position, opened.position_id, populate_existing=True).status == PositionStatus.CLOSED
    assert events(session) == []
