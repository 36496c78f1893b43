"""Recording the live feed's recent candles (backend function and its Huey task), and which candle source a
backtest gets, against the local Hyperliquid server on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from huey.exceptions import TaskLockedException
from sqlmodel import Session, select

from backend import runtime
from backend.backtest.candles import BAR, HOUR, FeedCandles
from backend.backtest.recorder import record_recent_candles
from backend.backtest.sources import candle_source
from backend.backtest.stored_candles import StoredCandles, feed_source
from backend.backtest.tick_bars import ticks_source
from backend.config import Settings, get_settings
from backend.models import MarketTick, PriceCandle
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue
from backend.monitor.budget import WeightBudget
from backend.prices.hyperliquid import HyperliquidPriceFeed
from backend.prices.simulated import SimulatedPriceFeed
from tasks import candles as candle_tasks
from tasks import monitor as monitor_tasks
from tests.hyperliquid_server import HyperliquidServer

SIMULATED = SimulatedPriceFeed(seed=7)
NOW = datetime(2026, 12, 6, 13, 40, 12, tzinfo=UTC)


@pytest.fixture
def feed(hl_server: HyperliquidServer) -> HyperliquidPriceFeed:
    return HyperliquidPriceFeed(hl_server.url, timeout=2)


def _starts(session: Session, market: str, interval: timedelta) -> list[datetime]:
    return list(
        session.exec(
            select(PriceCandle.start)
            .where(PriceCandle.market == market, PriceCandle.interval_seconds == interval.total_seconds())
            .order_by(PriceCandle.start)
        )
    )


def _pin(server: HyperliquidServer, at: datetime) -> None:
    server.state.clock = lambda: at.timestamp()


def test_recent_candles_are_recorded_and_caught_up(session, hl_server, feed):
    _pin(hl_server, NOW)
    report = record_recent_candles(session, feed, ["ETH", "btc"], NOW)
    # The last six hours: hourly candles 07:00-12:00 and bars 07:30-13:15, the forming ones left out.
    assert (report.stored, report.requests, report.left) == (2 * (6 + 24), 4, 0)
    hours = _starts(session, "BTC", HOUR)
    assert hours == [datetime(2026, 12, 6, h, tzinfo=UTC) for h in range(7, 13)]
    assert _starts(session, "ETH", BAR)[-1] == datetime(2026, 12, 6, 13, 15, tzinfo=UTC)
    stored = session.exec(select(PriceCandle).where(PriceCandle.market == "ETH").order_by(PriceCandle.start))
    expected = SIMULATED.candles("ETH", datetime(2026, 12, 6, 7, tzinfo=UTC), 6, HOUR)
    assert [(c.start, c.open, c.close, c.volume) for c in stored if c.interval_seconds == 3600] == [
        (c.start, c.open, c.close, c.volume) for c in expected
    ]

    assert record_recent_candles(session, feed, ["ETH", "BTC"], NOW).requests == 0  # nothing new closed

    later = NOW + timedelta(hours=2)  # a worker that missed two hours picks up where the last one stopped
    _pin(hl_server, later)
    report = record_recent_candles(session, feed, ["ETH", "BTC"], later)
    assert (report.stored, report.requests) == (2 * (2 + 8), 4)
    assert _starts(session, "BTC", HOUR) == [datetime(2026, 12, 6, h, tzinfo=UTC) for h in range(7, 15)]
    bars = _starts(session, "ETH", BAR)
    assert bars == [datetime(2026, 12, 6, 7, 30, tzinfo=UTC) + k * BAR for k in range(32)]


def test_a_round_stays_within_its_weight_budget(session, hl_server, feed):
    _pin(hl_server, NOW)
    budget = WeightBudget(25)  # one candleSnapshot of 7 candles weighs 21
    report = record_recent_candles(session, feed, ["ETH", "BTC", "SOL"], NOW, budget=budget)
    assert (report.requests, report.left) == (1, 5)
    assert _starts(session, "BTC", HOUR) != []  # the most overdue first: hourly, then by name
    assert session.exec(select(sa.func.count()).select_from(PriceCandle)).one() == 6


def test_hourly_candles_go_first_when_bars_are_as_overdue(session, hl_server, feed):
    early = datetime(2026, 12, 6, 13, 5, 12, tzinfo=UTC)  # 6 h back is 07:05: both intervals start 07:00
    _pin(hl_server, early)
    report = record_recent_candles(session, feed, ["ETH", "BTC", "SOL"], early, budget=WeightBudget(3 * 21))
    assert (report.requests, report.left) == (3, 3)
    intervals = session.exec(select(PriceCandle.market, PriceCandle.interval_seconds).distinct()).all()
    assert sorted(intervals) == [("BTC", 3600), ("ETH", 3600), ("SOL", 3600)]


def test_stored_history_serves_backtests_without_the_venue(engine, session, hl_server, feed):
    _pin(hl_server, NOW)
    record_recent_candles(session, feed, ["ETH"], NOW)
    source = StoredCandles(engine, feed, clock=lambda: NOW)
    asked = len(hl_server.info_requests("candleSnapshot"))
    today = datetime(2026, 12, 6, tzinfo=UTC)
    # The recorder stored today's closed candles from 07:00; the source fills the rest of today once.
    source.hourly("ETH", today, NOW)
    assert len(hl_server.info_requests("candleSnapshot")) == asked + 1
    assert _starts(session, "ETH", HOUR) == [today + h * HOUR for h in range(13)]
    assert source.hourly("ETH", today, NOW) == SIMULATED.candles("ETH", today, 13, HOUR)
    assert len(hl_server.info_requests("candleSnapshot")) == asked + 1


@pytest.fixture
def task_settings(engine: sa.Engine, hl_server: HyperliquidServer, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HYPERLIQUID_API", hl_server.url)
    yield
    get_settings.cache_clear()
    runtime.forget()
    candle_tasks._budget.cache_clear()


def _run_task(monkeypatch, price_feed: str) -> int | None:
    monkeypatch.setenv("PRICE_FEED", price_feed)
    get_settings.cache_clear()
    runtime.forget()
    candle_tasks._budget.cache_clear()
    deadline = time.monotonic() + 60
    while True:  # the lock lives in one Huey store shared by every test process: wait until it is free
        try:
            return candle_tasks.record_candles_task.call_local()
        except TaskLockedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_the_task_skips_the_simulated_feed(task_settings, session, hl_server, monkeypatch):
    assert _run_task(monkeypatch, "simulated") is None
    assert hl_server.info_requests() == []
    assert session.exec(select(sa.func.count()).select_from(PriceCandle)).one() == 0


def test_the_task_records_listed_markets_within_its_budget(task_settings, session, hl_server, monkeypatch):
    monkeypatch.setenv("CANDLE_FETCH_WEIGHT_PER_MINUTE", "120")  # five requests of 21
    stored = _run_task(monkeypatch, "hyperliquid")
    finished = utcnow()
    listed = sorted(HyperliquidPriceFeed(hl_server.url).mids(finished))
    rows = session.exec(select(PriceCandle).order_by(PriceCandle.market, PriceCandle.start)).all()
    assert stored == len(rows) > 0
    assert {r.market for r in rows} == set(listed[:5])  # all equally overdue: hourly first, by name
    assert {r.interval_seconds for r in rows} == {3600}
    assert all(r.start + timedelta(seconds=r.interval_seconds) <= finished for r in rows)  # none forming
    assert {r.source for r in rows} == {f"hyperliquid@127.0.0.1:{hl_server.port}"}


def test_the_task_rolls_ticks_up_and_the_prune_keeps_those_it_has_not(
    task_settings, session, hl_server, monkeypatch
):
    old = utcnow() - timedelta(days=8)  # past the week ticks are kept
    session.add(MarketTick(venue=ExecutionVenue.PAPER, market="ETH", at=old, price=Decimal(3000)))
    session.commit()
    monkeypatch.setenv("PRICE_FEED", "hyperliquid")
    get_settings.cache_clear()
    runtime.forget()
    assert monitor_tasks.prune_ticks_task.call_local() == 0  # not rolled up yet: kept

    monkeypatch.setenv("CANDLE_FETCH_WEIGHT_PER_MINUTE", "21")  # the venue's candles are not the point here
    stored = _run_task(monkeypatch, "hyperliquid")
    source = ticks_source(f"hyperliquid@127.0.0.1:{hl_server.port}")
    rolled = session.exec(select(PriceCandle).where(PriceCandle.source == source)).all()
    assert [(r.market, r.start, r.close) for r in rolled] == [
        ("ETH", old.replace(minute=old.minute // 15 * 15, second=0, microsecond=0), Decimal(3000))
    ]
    assert stored == session.exec(select(sa.func.count()).select_from(PriceCandle)).one()
    assert monitor_tasks.prune_ticks_task.call_local() == 1


def test_with_the_simulated_feed_the_prune_keeps_a_week(task_settings, session, monkeypatch):
    session.add(
        MarketTick(venue=ExecutionVenue.PAPER, market="ETH", at=utcnow() - timedelta(days=8), price=1)
    )
    session.commit()
    monkeypatch.setenv("PRICE_FEED", "simulated")
    get_settings.cache_clear()
    runtime.forget()
    assert monitor_tasks.prune_ticks_task.call_local() == 1


def test_each_feed_gets_its_source_once_per_process(engine, hl_server, feed):
    url = engine.url.render_as_string(hide_password=False)
    simulated = candle_source(Settings(database_url=url), SIMULATED)
    assert isinstance(simulated, FeedCandles) and simulated.name == "simulated:7"
    live_settings = Settings(database_url=url, price_feed="hyperliquid", hyperliquid_api=hl_server.url)
    live = candle_source(live_settings, feed)
    assert isinstance(live, StoredCandles) and live.name == feed_source(feed)
    assert (
        candle_source(live_settings, HyperliquidPriceFeed(hl_server.url)) is live
    )  # its day cache is shared
    assert candle_source(Settings(database_url=url), SimulatedPriceFeed(seed=7)) is simulated


def test_networks_are_stored_apart():
    names = [
        feed_source(HyperliquidPriceFeed(u))
        for u in (
            "https://api.hyperliquid.xyz",
            "https://api.hyperliquid-testnet.xyz/",
            "http://localhost:8080",
        )
    ]
    assert names == ["hyperliquid", "hyperliquid-testnet", "hyperliquid@localhost:8080"]
