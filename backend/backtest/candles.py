"""Price history for backtests: hourly candles for indicators, short bars for walking positions.

A backtest asks for the same market's history many times (every slider move in the builder, every cell of
a sweep), so history is kept in memory in whole UTC days, per source and market, and the least recently
used days are dropped past a bound. A day is cut from the source once; equal days, equal candles.

Sources:
- `FeedCandles` over a price feed (the simulated feed in the demo: deterministic, nothing to store);
- stored history for live feeds (Hyperliquid keeps only its last 5,000 candles per interval) is
  `backend.backtest.stored_candles` (candles fetched and the monitor's ticks, kept in the database).

Bars are aligned to their interval from midnight UTC (15-minute bars open at :00, :15, :30, :45), as a
venue's candles are, so every backtest and the demo's replay walk positions through the same bars.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from backend.prices.feed import PriceFeed
from backend.prices.simulated import Candle as Hourly
from backend.trading.exits import Candle as Bar

HOUR = timedelta(hours=1)
BAR = timedelta(minutes=15)  # fine enough for the demo's stops, cheap enough for 90 days
DAY = timedelta(days=1)
CACHE_DAYS = 20_000  # market-days per kind kept in memory (40 markets over a year and a third)


class CandleSource(Protocol):
    """What a backtest reads prices from. `name` identifies the data in a result's cache key."""

    name: str

    def hourly(self, market: str, start: datetime, end: datetime) -> Sequence[Hourly]:
        """Hourly OHLCV candles opening in [start, end), both on the hour, oldest first."""
        ...

    def bars(self, market: str, start: datetime, end: datetime) -> Sequence[Bar]:
        """`BAR` candles opening in [start, end), oldest first; `start` is floored to the bar."""
        ...

    def data_version(self, markets: Sequence[str], start: datetime, end: datetime) -> str:
        """Changes whenever the candles of these markets in the window could differ."""
        ...


def floor_to(at: datetime, step: timedelta) -> datetime:
    """`at` floored to a multiple of `step` from midnight UTC."""
    at = at.astimezone(UTC)
    midnight = datetime.combine(at.date(), time(0), tzinfo=UTC)
    return midnight + (at - midnight) // step * step


class _DayCache:
    """(market, day) -> that day's candles, least recently used dropped first; safe across threads."""

    def __init__(self, load: Callable[[str, date], list], size: int = CACHE_DAYS) -> None:
        self._load = load
        self._size = size
        self._days: OrderedDict[tuple[str, date], list] = OrderedDict()
        self._lock = threading.Lock()

    def between(self, market: str, start: datetime, end: datetime) -> list:
        out: list = []
        day = start.astimezone(UTC).date()
        while _midnight(day) < end:
            candles = self._day(market, day)
            if _midnight(day) >= start and _midnight(day) + DAY <= end:
                out.extend(candles)  # a whole day inside the window: no need to look at each candle
            else:  # a day's candles are in time order: cut it at the window's edges
                first, last = bisect_left(candles, start, key=_opens), bisect_left(candles, end, key=_opens)
                out.extend(candles[first:last])
            day += timedelta(days=1)
        return out

    def _day(self, market: str, day: date) -> list:
        key = (market, day)
        with self._lock:
            if key in self._days:
                self._days.move_to_end(key)
                return self._days[key]
        candles = self._load(market, day)  # outside the lock: a slow day does not hold up the others
        with self._lock:
            self._days[key] = candles
            while len(self._days) > self._size:
                self._days.popitem(last=False)
        return candles


def _opens(candle: Hourly | Bar) -> datetime:
    return candle.start if isinstance(candle, Hourly) else candle.at


class FeedCandles:
    """Candles cut from a price feed, a day at a time. Meant for feeds whose past does not change (the
    simulated feed): a live feed's history belongs in the database first."""

    def __init__(self, feed: PriceFeed, *, identity: str | None = None, cache_days: int = CACHE_DAYS) -> None:
        self.feed = feed
        self.name = identity or _identity(feed)
        self._hourly = _DayCache(self._load_hourly, cache_days)
        self._bars = _DayCache(self._load_bars, cache_days)

    def hourly(self, market: str, start: datetime, end: datetime) -> Sequence[Hourly]:
        return self._hourly.between(market.upper(), start, end)

    def bars(self, market: str, start: datetime, end: datetime) -> Sequence[Bar]:
        return self._bars.between(market.upper(), floor_to(start, BAR), end)

    def data_version(self, markets: Sequence[str], start: datetime, end: datetime) -> str:
        return self.name  # a seeded feed's past is fixed

    def _load_hourly(self, market: str, day: date) -> list[Hourly]:
        return self.feed.candles(market, _midnight(day), 24, HOUR)

    def _load_bars(self, market: str, day: date) -> list[Bar]:
        count = int(DAY / BAR)
        ohlc = getattr(self.feed, "ohlc", None)  # the simulated feed's bulk path: the same prices, faster
        if ohlc is not None:
            return [Bar(*bar) for bar in ohlc(market, _midnight(day), count, BAR)]
        return [
            Bar(c.start, c.open, c.high, c.low, c.close)
            for c in self.feed.candles(market, _midnight(day), count, BAR)
        ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _identity(feed: PriceFeed) -> str:
    seed = getattr(feed, "seed", None)
    return f"{feed.name}:{seed}" if seed is not None else feed.name
