"""The monitor cycle on the paper venue: one price request per venue, trailing highs kept, exits closed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.models import MarketTick, MonitorCycle, Position
from backend.models.enums import CloseReason, PositionStatus, Side, Venue
from backend.monitor.close import begin_close, finish_close
from backend.monitor.cycle import Monitor
from tests.monitor_support import CIPHER, DrivenFeed, open_paper_position, paper_registry

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
            finish_close(own, position_id, venues=venues, cipher=CIPHER, profit_share=SHARE)

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
