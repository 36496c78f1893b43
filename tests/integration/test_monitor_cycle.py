"""The monitor cycle on the paper venue: one price request per venue, trailing highs kept, exits closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.models import MarketTick, MonitorCycle, Position
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, Side, Venue
from backend.monitor.close import begin_close, finish_close
from backend.monitor.cycle import Monitor
from backend.trading.fees import FeePolicy
from backend.venues.base import OrderRequest, VenueAccount
from tests.monitor_support import CIPHER, DrivenFeed, open_paper_position, paper_registry
from tests.venue_support import reduce

SHARE = Decimal("0.10")


@pytest.fixture
def feed() -> DrivenFeed:
    return DrivenFeed()


@pytest.fixture
def venues(engine, feed):
    return paper_registry(engine, feed)


@pytest.fixture
def monitor(engine, venues) -> Monitor:
    def close(position_id: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            finish_close(own, position_id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE))

    return Monitor(venues, close, holder="test")


@pytest.fixture
def deployment_and_agent(factory):
    agent = factory.agent(venue=Venue.HYPERLIQUID)  # defaults: stop 10%, trailing arms +3%, trails 1%
    return factory.paper_deployment(agent), agent


def test_a_long_rides_up_arms_its_trailing_stop_and_closes_on_the_pullback(
    session, factory, feed, venues, monitor, deployment_and_agent
):
    deployment, agent = deployment_and_agent
    feed.set("ETH", "3000")
    position = open_paper_position(session, factory, venues, deployment, agent, "ETH", Side.LONG)
    assert position.entry_price == Decimal("3000")

    for price in ("3050", "3100", "3120"):  # +4%: armed, trailing 1% below 3120 = 3088.8
        feed.set("ETH", price)
        report = monitor.run_cycle(session)
        assert report.closes_requested == 0
    session.refresh(position)
    assert position.trailing_high == Decimal("3120") and position.status == PositionStatus.OPEN

    feed.set("ETH", "3088")
    report = monitor.run_cycle(session)

    session.refresh(position)
    assert report.closes_requested == 1
    assert (position.status, position.close_reason) == (PositionStatus.CLOSED, CloseReason.TRAILING_STOP)
    assert position.exit_price == Decimal("3088")
    assert position.realized_pnl > 0


def test_a_short_hits_its_hard_stop(session, factory, feed, venues, monitor, deployment_and_agent):
    deployment, agent = deployment_and_agent
    feed.set("SOL", "100")
    position = open_paper_position(session, factory, venues, deployment, agent, "SOL", Side.SHORT)
    feed.set("SOL", "110.5")

    monitor.run_cycle(session)

    session.refresh(position)
    assert (position.status, position.close_reason) == (PositionStatus.CLOSED, CloseReason.STOP_LOSS)
    assert position.realized_pnl < 0


def test_one_price_request_per_venue_per_cycle_and_ticks_recorded(
    session, factory, feed, venues, monitor, deployment_and_agent
):
    deployment, agent = deployment_and_agent
    for market in ("BTC", "ETH", "SOL", "AVAX"):
        open_paper_position(session, factory, venues, deployment, agent, market, Side.LONG)
    before = feed.mids_requests

    report = monitor.run_cycle(session)

    assert feed.mids_requests - before == 1 == report.venue_requests
    assert report.positions_watched == 4
    ticks = session.exec(select(MarketTick.market)).all()
    assert sorted(ticks) == ["AVAX", "BTC", "ETH", "SOL"]
    cycle = session.exec(select(MonitorCycle)).one()
    assert (cycle.positions_watched, cycle.venue_requests, cycle.holder) == (4, 1, "test")


def test_a_manual_close_is_finished_by_the_next_cycle(
    session, factory, feed, venues, monitor, deployment_and_agent
):
    deployment, agent = deployment_and_agent
    position = open_paper_position(session, factory, venues, deployment, agent, "BTC", Side.LONG)
    begin_close(session, position.id, CloseReason.MANUAL)

    report = monitor.run_cycle(session)

    session.refresh(position)
    assert report.closing_handed_out == 1
    assert (position.status, position.close_reason) == (PositionStatus.CLOSED, CloseReason.MANUAL)
    assert session.exec(select(func.count()).select_from(Position)).one() == 1


def test_a_refused_close_is_handed_out_again_only_when_its_retry_is_due(
    engine, session, factory, venues, deployment_and_agent
):
    deployment, agent = deployment_and_agent
    position = open_paper_position(session, factory, venues, deployment, agent, "ETH", Side.LONG)
    paper, account = venues.get(ExecutionVenue.PAPER), VenueAccount(deployment.id)
    # Half closed outside: the venue refuses to reduce the whole size while it still holds the rest.
    half = paper.markets()["ETH"].round_size(position.size / 2)
    reduce(paper, account, OrderRequest("ETH", Side.LONG, half, "0x" + "aa" * 16))
    begin_close(session, position.id, CloseReason.MANUAL)
    now = [datetime(2026, 12, 6, 12, 0, tzinfo=UTC)]
    handed: list[int] = []

    def close(position_id: int) -> None:
        handed.append(position_id)
        with Session(engine, expire_on_commit=False) as own:
            finish_close(
                own,
                position_id,
                venues=venues,
                cipher=CIPHER,
                fees=FeePolicy(creator_share=SHARE),
                now=now[0],
            )

    monitor = Monitor(venues, close, holder="test", clock=lambda: now[0])
    seen = []
    for seconds in (0, 4, 5, 10, 14, 15):  # refused at 0 (retry at 5), at 5 (retry at 15), at 15
        now[0] = datetime(2026, 12, 6, 12, 0, tzinfo=UTC) + timedelta(seconds=seconds)
        seen.append(monitor.run_cycle(session).closing_handed_out)

    assert seen == [1, 0, 1, 0, 0, 1]
    session.refresh(position)
    assert position.status == PositionStatus.CLOSING and position.close_attempts == 3
    assert position.next_close_attempt_at == now[0] + timedelta(seconds=20)
