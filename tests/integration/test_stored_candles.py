"""StoredCandles against the local Hyperliquid server, on SQLite and PostgreSQL: candles fetched once and
kept, the forming one never, ticks (then hourly candles) where the venue keeps nothing, and a data version
that moves when history grows. The server and the source share one pinned clock: no test races the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.backtest.candles import BAR, DAY, HOUR
from backend.backtest.stored_candles import StoredCandles, feed_source
from backend.models import MarketTick, PriceCandle
from backend.models.enums import ExecutionVenue
from backend.monitor.budget import WeightBudget
from backend.prices.hyperliquid import HyperliquidPriceFeed
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.exits import Candle as Bar
from tests.hyperliquid_server import HyperliquidServer

SIMULATED = SimulatedPriceFeed(seed=7)  # what the server serves
NOW = datetime(2026, 12, 6, 13, 40, 12, tzinfo=UTC)


class Clock:
    """One instant for the server and the source; tests move it forward."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(hl_server: HyperliquidServer) -> Clock:
    clock = Clock(NOW)
    hl_server.state.clock = lambda: clock.at.timestamp()
    return clock


@pytest.fixture
def feed(hl_server: HyperliquidServer) -> HyperliquidPriceFeed:
    return HyperliquidPriceFeed(hl_server.url, timeout=2)


def _source(engine: sa.Engine, feed: HyperliquidPriceFeed, clock: Clock) -> StoredCandles:
    return StoredCandles(engine, feed, clock=clock)


def _stored(engine: sa.Engine, market: str, interval: timedelta) -> list[PriceCandle]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(PriceCandle)
                .where(PriceCandle.market == market, PriceCandle.interval_seconds == interval.total_seconds())
                .order_by(PriceCandle.start)
            )
        )


def _snapshots(server: HyperliquidServer) -> int:
    return len(server.info_requests("candleSnapshot"))


def test_candles_are_fetched_once_and_stored_closed_only(engine, hl_server, feed, clock):
    hour = NOW.replace(minute=0, second=0)  # the forming hourly candle opens here
    start, end = hour - timedelta(hours=30), hour + HOUR
    source = _source(engine, feed, clock)

    hourly = source.hourly("eth", start, end)
    assert hourly == SIMULATED.candles("ETH", start, 30, HOUR)  # the forming one is not served
    stored = _stored(engine, "ETH", HOUR)
    midnight = start.replace(hour=0)  # whole days are filled: from the first day's midnight to 12:00 today
    assert [c.start for c in stored] == [midnight + timedelta(hours=h) for h in range(37)]
    assert {c.source for c in stored} == {feed_source(feed)} and feed_source(feed).startswith("hyperliquid@")
    assert stored[-1].close == hourly[-1].close and stored[-1].volume == hourly[-1].volume

    bars = source.bars("ETH", hour - timedelta(hours=2), hour + HOUR)
    assert [b.at for b in bars] == [hour - timedelta(hours=2) + k * BAR for k in range(10)]  # to 13:30 only
    assert _stored(engine, "ETH", BAR)[-1].start == datetime(2026, 12, 6, 13, 15, tzinfo=UTC)

    # Another process (a fresh source, empty memory) reads the same windows from the database alone.
    asked = _snapshots(hl_server)
    again = _source(engine, feed, clock)
    assert again.hourly("ETH", start, end) == hourly
    assert again.bars("ETH", hour - timedelta(hours=2), hour + HOUR) == bars
    assert _snapshots(hl_server) == asked


def test_the_forming_candle_is_stored_once_it_closes(engine, hl_server, feed, clock):
    hour = NOW.replace(minute=0, second=0)
    source = _source(engine, feed, clock)
    assert source.hourly("BTC", hour - HOUR, hour + HOUR)[-1].start == hour - HOUR
    assert hour not in {c.start for c in _stored(engine, "BTC", HOUR)}

    clock.at = hour + HOUR + timedelta(seconds=5)  # it has ended, but the venue may still book trades in it
    assert source.hourly("BTC", hour - HOUR, hour + HOUR)[-1].start == hour - HOUR
    clock.at = hour + HOUR + timedelta(seconds=11)  # it has closed
    latest = source.hourly("BTC", hour - HOUR, hour + HOUR)
    assert [c.start for c in latest] == [hour - HOUR, hour]
    assert latest[-1] == SIMULATED.candles("BTC", hour, 1, HOUR)[0]
    assert _stored(engine, "BTC", HOUR)[-1].start == hour


def test_a_venue_failure_is_not_remembered(engine, hl_server, feed, clock):
    start = datetime(2026, 12, 3, tzinfo=UTC)
    source = _source(engine, feed, clock)
    source.hourly("SOL", start, start + DAY)  # reads meta, so the fault below meets the candle request
    hl_server.fail_next(502, path="/info")
    asked = _snapshots(hl_server)
    assert source.hourly("SOL", start - DAY, start) == []  # nothing stored yet, nothing fetched
    assert source.hourly("ETH", start - DAY, start) == []  # the venue is down: not asked again for a while
    assert _snapshots(hl_server) == asked  # the failed request was not served
    source._paused_until = 0.0  # a minute later
    assert source.hourly("SOL", start - DAY, start) == SIMULATED.candles("SOL", start - DAY, 24, HOUR)


def test_fills_stay_within_the_weight_budget(engine, hl_server, feed, clock):
    day = datetime(2026, 12, 1, tzinfo=UTC)
    seconds = [0.0]
    budget = WeightBudget(21, clock=lambda: seconds[0])  # one request of 24 candles a minute
    source = StoredCandles(engine, feed, clock=clock, budget=budget)
    assert source.hourly("ETH", day, day + DAY) == SIMULATED.candles("ETH", day, 24, HOUR)
    asked = _snapshots(hl_server)
    assert source.hourly("BTC", day, day + DAY) == []  # over budget: what is stored, which is nothing
    assert _snapshots(hl_server) == asked and _stored(engine, "BTC", HOUR) == []
    seconds[0] += 61  # a minute later the gap is filled: the empty day was not remembered
    assert source.hourly("BTC", day, day + DAY) == SIMULATED.candles("BTC", day, 24, HOUR)


def test_ticks_then_hourly_candles_stand_in_where_the_venue_keeps_no_bars(engine, hl_server, feed, clock):
    day = datetime(2026, 10, 1, tzinfo=UTC)  # 66 days back: past Hyperliquid's 5,000 15-minute candles
    with Session(engine) as session:
        for minute, price, venue in [
            (1, "10", "HYPERLIQUID"),
            (5, "12", "PAPER"),
            (9, "9.5", "HYPERLIQUID"),
            (14, "11", "PAPER"),
            (20, "20", "HYPERLIQUID"),
            (7, "99", "OSTIUM"),
        ]:
            session.add(
                MarketTick(
                    venue=ExecutionVenue(venue),
                    market="ETH",
                    price=Decimal(price),
                    at=day + timedelta(hours=3, minutes=minute),
                )
            )
        session.commit()
    source = _source(engine, feed, clock)
    asked = _snapshots(hl_server)

    bars = source.bars("ETH", day, day + DAY)
    at3 = day + timedelta(hours=3)
    ticked = [b for b in bars if at3 <= b.at < at3 + HOUR]
    assert ticked == [
        Bar(at3, Decimal("10"), Decimal("12"), Decimal("9.5"), Decimal("11")),  # OSTIUM's mids are not ours
        Bar.tick(at3 + BAR, Decimal("20")),
    ]
    hourly = SIMULATED.candles("ETH", day, 24, HOUR)
    others = [b for b in bars if not at3 <= b.at < at3 + HOUR]
    assert others == [Bar(c.start, c.open, c.high, c.low, c.close) for c in hourly if c.start != at3]
    assert (
        _snapshots(hl_server) == asked + 1
    )  # the hourly candles; no 15-minute request the venue cannot answer
    assert _stored(engine, "ETH", BAR) == []


def test_data_version_moves_when_history_grows(engine, hl_server, feed, clock):
    start, end = datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC)
    source = _source(engine, feed, clock)
    first = source.data_version(["ETH", "BTC"], start, end)
    assert first == source.data_version(["btc", "ETH"], start, end)
    assert first == _source(engine, feed, clock).data_version(["ETH", "BTC"], start, end)  # any process
    assert len(_stored(engine, "ETH", HOUR)) == 24 * 2 + 13  # filled before hashing: to 12:00 today

    clock.at += HOUR  # another hour closed: the venue has it, so the version moves
    second = source.data_version(["ETH", "BTC"], start, end)
    assert second != first
    assert len(_stored(engine, "ETH", HOUR)) == 24 * 2 + 14

    with Session(engine) as session:  # ticks inside the venue's window never stand in for bars
        session.add(MarketTick(venue=ExecutionVenue.PAPER, market="ETH", price=Decimal(1), at=start))
        session.commit()
    assert source.data_version(["ETH", "BTC"], start, end) == second

    old = datetime(2026, 10, 1, tzinfo=UTC)  # older than the venue's bars: ticks there count
    before = source.data_version(["ETH"], old, old + DAY)
    with Session(engine) as session:
        session.add(MarketTick(venue=ExecutionVenue.PAPER, market="ETH", price=Decimal(1), at=old + HOUR))
        session.commit()
    assert source.data_version(["ETH"], old, old + DAY) != before
