"""StoredCandles against the local Hyperliquid server, on SQLite and PostgreSQL: candles fetched once and
kept, the forming one never, bars rolled up from the monitor's ticks where no venue candle is stored (then
hourly candles where the venue keeps nothing), and a data version that moves when history grows. The server
and the source share one pinned clock: no test races the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.backtest.candles import BAR, DAY, HOUR
from backend.backtest.engine import Sources, run
from backend.backtest.inputs import FeatureCache, PostCall
from backend.backtest.replay_source import Costs
from backend.backtest.stored_candles import StoredCandles, feed_source
from backend.backtest.tick_bars import roll_up_ticks
from backend.models import MarketTick, PriceCandle
from backend.models.enums import CloseReason, ExecutionVenue, Side
from backend.monitor.budget import WeightBudget
from backend.monitor.cycle import prune_ticks
from backend.prices.hyperliquid import HyperliquidPriceFeed
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.exits import Candle as Bar
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from tests.backtest_data import tweet_only_strategy
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


def _stored(
    engine: sa.Engine, market: str, interval: timedelta, source: str | None = None
) -> list[PriceCandle]:
    """The venue candles stored (or those of `source`)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(PriceCandle)
                .where(
                    PriceCandle.market == market,
                    PriceCandle.interval_seconds == interval.total_seconds(),
                    ~col(PriceCandle.source).endswith("+ticks")
                    if source is None
                    else PriceCandle.source == source,
                )
                .order_by(PriceCandle.start)
            )
        )


def _record(engine: sa.Engine, market: str, *ticks: tuple[datetime, str, str]) -> None:
    """Ticks as the monitor records them: (at, price, venue)."""
    with Session(engine) as session:
        for at, price, venue in ticks:
            session.add(MarketTick(venue=ExecutionVenue(venue), market=market, price=Decimal(price), at=at))
        session.commit()


def _roll_up(engine: sa.Engine, feed: HyperliquidPriceFeed, now: datetime) -> int:
    with Session(engine) as session:
        return roll_up_ticks(session, feed_source(feed), now)


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


def test_bars_rolled_up_from_ticks_outlive_the_ticks_and_the_venue(engine, hl_server, feed, clock):
    day = datetime(2026, 10, 1, tzinfo=UTC)  # 66 days back: past Hyperliquid's 5,000 15-minute candles
    at3 = day + timedelta(hours=3)
    _record(
        engine,
        "ETH",
        (at3 + timedelta(minutes=1), "10", "HYPERLIQUID"),
        (at3 + timedelta(minutes=5), "12", "PAPER"),
        (at3 + timedelta(minutes=9), "9.5", "HYPERLIQUID"),
        (at3 + timedelta(minutes=14), "11", "PAPER"),
        (at3 + timedelta(minutes=20), "20", "HYPERLIQUID"),
        (at3 + timedelta(minutes=7), "99", "OSTIUM"),
    )
    assert _roll_up(engine, feed, at3 + HOUR) == 2  # the recording task, that morning
    with Session(engine) as session:  # a week later every tick is gone
        assert prune_ticks(session, day + timedelta(days=8), rolled_into=feed_source(feed)) == 6
    source = _source(engine, feed, clock)  # and two months later, a backtest reads the day
    asked = _snapshots(hl_server)

    bars = source.bars("ETH", day, day + DAY)
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


def test_a_backtest_walks_the_bars_rolled_up_from_ticks(engine, hl_server, feed, clock):
    day = datetime(2026, 10, 1, tzinfo=UTC)  # beyond the venue's bars, within its hourly candles
    entry = day + timedelta(hours=3, minutes=15)
    _record(
        engine,
        "ETH",
        (entry + timedelta(minutes=1), "100", "PAPER"),
        (entry + timedelta(minutes=6), "101", "PAPER"),
        (entry + timedelta(minutes=16), "100", "PAPER"),
        (entry + timedelta(minutes=20), "85", "PAPER"),  # through the 10% stop at 90
        (entry + timedelta(minutes=25), "95", "PAPER"),
    )
    _roll_up(engine, feed, entry + HOUR)
    with Session(engine) as session:
        prune_ticks(session, day + timedelta(days=8), rolled_into=feed_source(feed))
        assert session.exec(select(MarketTick)).all() == []

    rules = MarketRules(
        "ETH", size_decimals=4, tick_size=Decimal("0.01"), min_notional=Decimal(10), max_leverage=Decimal(10)
    )
    costs = Costs(
        FillModel(Decimal(0), Decimal(0)), FeePolicy(), time_limit=None, reference_capital=Decimal(10000)
    )
    sources = Sources(_source(engine, feed, clock), {"ETH": rules}, costs, features=FeatureCache())
    posted = day + timedelta(hours=3, minutes=5)
    call = PostCall(1, 1, "someone", "long $ETH", posted, posted, "ETH", Side.LONG, Decimal("0.9"))
    outcome = run(
        [call], tweet_only_strategy(), start=day, end=day + DAY, capital=Decimal(10000), sources=sources
    )

    (trade,) = outcome.result.trades
    assert (trade.entry_at, trade.entry_price) == (entry, Decimal(100))  # the tick-built bar's open
    assert (trade.exit_at, trade.exit_price, trade.reason) == (
        entry + 2 * BAR,
        Decimal(90),
        CloseReason.STOP_LOSS,
    )


def test_a_venue_candle_wins_over_a_tick_built_bar(engine, hl_server, feed, clock):
    day = datetime(2026, 12, 4, tzinfo=UTC)  # inside the venue's window
    at3 = day + timedelta(hours=3)
    _record(
        engine, "ETH", (at3 + timedelta(minutes=1), "1", "PAPER"), (at3 + timedelta(minutes=20), "2", "PAPER")
    )
    _record(engine, "NOTLISTED", (at3 + timedelta(minutes=1), "5", "PAPER"))  # the venue has no candles of it
    _roll_up(engine, feed, day + timedelta(hours=4))
    source = _source(engine, feed, clock)

    bars = source.bars("ETH", day, day + DAY)  # fetched from the venue now, after the roll-up
    venue = [Bar(c.start, c.open, c.high, c.low, c.close) for c in _stored(engine, "ETH", BAR)]
    assert bars == venue and len(bars) == 96
    assert Decimal(1) not in {b.open for b in bars}
    assert source.bars("NOTLISTED", day, day + DAY) == [Bar.tick(at3, Decimal(5))]  # no venue candle: ticks

    # The other order: the venue's candles stored first, the ticks rolled up after.
    later = day + DAY
    stored = source.bars("ETH", later, later + DAY)
    _record(engine, "ETH", (later + timedelta(minutes=1), "1", "HYPERLIQUID"))
    _roll_up(engine, feed, later + HOUR)
    assert len(_stored(engine, "ETH", BAR, source=f"{feed_source(feed)}+ticks")) == 3
    assert _source(engine, feed, clock).bars("ETH", later, later + DAY) == stored  # a fresh process


def test_a_day_is_kept_in_memory_only_once_its_ticks_are_rolled_up(engine, hl_server, feed, clock):
    day = datetime(2026, 12, 5, tzinfo=UTC)  # yesterday: closed
    _record(engine, "NOTLISTED", (day + timedelta(hours=10, minutes=1), "5", "PAPER"))
    source = _source(engine, feed, clock)
    assert source.bars("NOTLISTED", day, day + DAY) == []  # the tick is not a bar until it is rolled up
    _roll_up(engine, feed, NOW)
    assert source.bars("NOTLISTED", day, day + DAY) == [Bar.tick(day + timedelta(hours=10), Decimal(5))]


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

    _record(engine, "ETH", (start + HOUR, "1", "PAPER"))
    assert source.data_version(["ETH", "BTC"], start, end) == second  # a tick is no bar until rolled up
    _roll_up(engine, feed, clock.at)
    assert source.data_version(["ETH", "BTC"], start, end) != second
