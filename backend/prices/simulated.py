"""A seeded price feed: the same seed gives the same prices, at any time, on any machine.

Daily log prices walk from a fixed epoch as an Ornstein-Uhlenbeck process pulled back toward each
market's level (half-life `HALF_LIFE_DAYS`): a month's chart still trends, but years later the prices are
still plausible beside what people post. Inside a day a Brownian bridge joins the two daily values minute
by minute, with a short-lived jitter on top (`JITTER_SCALE`). Any instant is reachable cheaply: the daily
levels are kept per market and extended lazily.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate

from backend.prices.markets import MARKETS, MarketSpec

EPOCH = date(2024, 1, 1)
MINUTES_PER_DAY = 1440
CANDLE_CACHE_SIZE = 50_000
BRIDGE_CACHE_SIZE = 8192  # days of minute paths (11.5 kB each): every market over the demo's history
HALF_LIFE_DAYS = 45  # of a deviation from the market's level
REVERSION = 0.5 ** (1 / HALF_LIFE_DAYS)  # the share of yesterday's deviation left today
USD_VOLUME_PER_MINUTE = 25_000.0  # a candle's typical traded value; its volume is in tokens
# Minute-scale jitter on top of the bridge: a mean-reverting (Ornstein-Uhlenbeck) wobble with a few minutes'
# half-life and a spread of this share of the market's daily volatility (BTC: about 0.4%). Minutes move as
# a busy market's do, so the demo's stops and targets, under a percent or two away, fire within minutes,
# while hours and days keep nearly the market's annual volatility: the wobble does not accumulate.
JITTER_SCALE = 0.135
JITTER_HALF_LIFE_MINUTES = 5
_JITTER_KEEP = 0.5 ** (1 / JITTER_HALF_LIFE_MINUTES)


@dataclass(frozen=True)
class Candle:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class UnknownMarket(KeyError):
    """The feed has no such market."""


class SimulatedPriceFeed:
    """Deterministic prices per market and minute for a given seed."""

    name = "simulated"

    def __init__(self, seed: int = 7, markets: dict[str, MarketSpec] | None = None) -> None:
        self.seed = seed
        self.markets = markets or MARKETS
        self._candle_cache: dict[tuple[str, datetime, int], Candle] = {}

    def price_at(self, market: str, at: datetime) -> Decimal:
        spec = self._spec(market)
        day, minute = self._split(at)
        log_price = self._intraday(spec.symbol, day)[minute]
        return self._to_price(spec, log_price)

    def mids(self, at: datetime, markets: list[str] | None = None) -> dict[str, Decimal]:
        """Every market's price at one instant: one call per cycle, as a venue's allMids."""
        return {m: self.price_at(m, at) for m in (markets or list(self.markets))}

    def path(
        self, market: str, start: datetime, end: datetime, step: timedelta
    ) -> list[tuple[datetime, Decimal]]:
        """Prices from start to end (inclusive) every `step` (a whole number of minutes)."""
        if step < timedelta(minutes=1) or step.total_seconds() % 60:
            raise ValueError("step must be a whole number of minutes")
        points = []
        at = _floor_minute(start)
        while at <= end:
            points.append((at, self.price_at(market, at)))
            at += step
        return points

    def candles(self, market: str, start: datetime, count: int, interval: timedelta) -> list[Candle]:
        """`count` OHLCV candles from `start`, built from the minute path; volume is seeded noise
        that grows with the size of the move, as real volume does. Candles are cached: indicator
        windows slide an hour at a time and would otherwise rebuild the same candles again and again."""
        spec = self._spec(market)
        minutes = int(interval.total_seconds() // 60)
        if minutes < 1:
            raise ValueError("interval must be at least a minute")
        at = _floor_minute(start)
        out = []
        for _ in range(count):
            key = (spec.symbol, at, minutes)
            candle = self._candle_cache.get(key)
            if candle is None:
                if len(self._candle_cache) >= CANDLE_CACHE_SIZE:
                    self._candle_cache.clear()
                candle = self._candle_cache[key] = self._candle(spec, at, minutes)
            out.append(candle)
            at += interval
        return out

    def ohlc(
        self, market: str, start: datetime, count: int, interval: timedelta
    ) -> list[tuple[datetime, Decimal, Decimal, Decimal, Decimal]]:
        """`count` bars from `start` with the prices `candles` gives them, without volume or the cache: a
        replay over months reads each bar once, and this walks the minute path once instead of per bar."""
        spec = self._spec(market)
        minutes = int(interval.total_seconds() // 60)
        if minutes < 1:
            raise ValueError("interval must be at least a minute")
        at = _floor_minute(start)
        logs = self._minute_logs(spec.symbol, at, count * minutes + 1)
        price = _pricer(spec)
        bars = []
        close = price(logs[0])
        for i in range(count):
            window = logs[i * minutes : (i + 1) * minutes + 1]
            open_, close = close, price(window[-1])  # a bar opens where the one before closed
            bars.append((at + i * interval, open_, price(max(window)), price(min(window)), close))
        return bars

    def _candle(self, spec: MarketSpec, at: datetime, minutes: int) -> Candle:
        logs = self._minute_logs(spec.symbol, at, minutes + 1)
        # Rounding to the tick is monotonic, so the extremes of the rounded prices are the rounded extremes.
        open_, high, low, close = (self._to_price(spec, x) for x in (logs[0], max(logs), min(logs), logs[-1]))
        rng = random.Random(f"{self.seed}:{spec.symbol}:vol:{at.isoformat()}")
        move = abs(float(close / open_) - 1)
        base_volume = USD_VOLUME_PER_MINUTE / float(spec.start_price) * minutes
        volume = Decimal(str(round(base_volume * (0.5 + rng.random()) * (1 + 40 * move), 2)))
        return Candle(at, open_, high, low, close, volume)

    def _minute_logs(self, symbol: str, start: datetime, count: int) -> list[float]:
        """`count` consecutive minute log prices from `start`, across midnights."""
        day, minute = self._split(start)
        logs: list[float] = []
        while len(logs) < count:
            path = self._intraday(symbol, day)[:MINUTES_PER_DAY]  # minute 1440 is the next day's 0
            logs.extend(path[minute : minute + count - len(logs)])
            day, minute = day + timedelta(days=1), 0
        return logs

    # -- internals ----------------------------------------------------------------------------------

    def _spec(self, market: str) -> MarketSpec:
        try:
            return self.markets[market.upper()]
        except KeyError:
            raise UnknownMarket(market) from None

    @staticmethod
    def _split(at: datetime) -> tuple[date, int]:
        if at.tzinfo is None:
            raise ValueError("naive datetime: prices are asked for in UTC")
        at = at.astimezone(UTC)
        day = at.date()
        if day < EPOCH:
            raise ValueError(f"the simulated feed starts on {EPOCH}")
        return day, at.hour * 60 + at.minute

    @staticmethod
    def _to_price(spec: MarketSpec, log_price: float) -> Decimal:
        return _pricer(spec)(log_price)

    def _daily_sigma(self, symbol: str) -> float:
        return self.markets[symbol].annual_volatility / math.sqrt(365)

    def _day_level(self, symbol: str, day: date) -> float:
        return _day_levels(self.seed, symbol, self._daily_sigma(symbol), (day - EPOCH).days + 1)[
            (day - EPOCH).days
        ]

    def _intraday(self, symbol: str, day: date) -> tuple[float, ...]:
        start = self._day_level(symbol, day)
        end = self._day_level(symbol, day + timedelta(days=1))
        return _bridge(self.seed, symbol, day, start, end, self._daily_sigma(symbol))


_LEVELS: dict[tuple[int, str, float], list[float]] = {}


def _day_levels(seed: int, symbol: str, sigma: float, days: int) -> list[float]:
    """Daily log levels (relative to the market's level) from the epoch, extended lazily, kept per market.

    Each day keeps `REVERSION` of yesterday's deviation and adds a seeded shock: an AR(1), the daily
    sampling of an Ornstein-Uhlenbeck process, whose spread settles at sigma / sqrt(1 - REVERSION**2).
    """
    levels = _LEVELS.setdefault((seed, symbol, sigma), [0.0])
    while len(levels) <= days:
        block = (len(levels) - 1) // 256
        rng = random.Random(f"{seed}:{symbol}:days:{block}")
        shocks = [rng.gauss(0.0, sigma) for _ in range(256)]
        for shock in shocks[(len(levels) - 1) % 256 :]:
            levels.append(levels[-1] * REVERSION + shock)
    return levels


def stationary_spread(annual_volatility: float) -> float:
    """The standard deviation of a market's log price around its level, once the start is forgotten."""
    sigma = annual_volatility / math.sqrt(365)
    return sigma / math.sqrt(1 - REVERSION**2)


@lru_cache(maxsize=BRIDGE_CACHE_SIZE)
def _bridge(seed: int, symbol: str, day: date, start: float, end: float, sigma: float) -> array[float]:
    """Minute log prices from start to end: a random walk pinned at both ends of the day.

    Gaussian steps by Box-Muller from one seeded stream (twice as fast as `Random.gauss`), kept as a
    packed array: a quarter of the memory of a tuple of floats, so the cache holds a 40-market quarter.
    """
    rng = random.Random(f"{seed}:{symbol}:minutes:{day.isoformat()}")
    uniform, log, cos, sin, sqrt = rng.random, math.log, math.cos, math.sin, math.sqrt

    def gaussians(scale: float) -> list[float]:
        out: list[float] = []
        for _ in range(MINUTES_PER_DAY // 2):
            radius, angle = scale * sqrt(-2.0 * log(1.0 - uniform())), math.tau * uniform()
            out.append(radius * cos(angle))
            out.append(radius * sin(angle))
        return out

    walk = list(accumulate(gaussians(sigma / sqrt(MINUTES_PER_DAY)), initial=0.0))
    drift = (walk[-1] - (end - start)) / MINUTES_PER_DAY
    # The jitter: an AR(1) from 0, then tilted back to 0 at midnight so days still join where they meet.
    keep = _JITTER_KEEP
    jitter = list(
        accumulate(
            gaussians(JITTER_SCALE * sigma * sqrt(1 - keep * keep)), lambda x, e: x * keep + e, initial=0.0
        )
    )
    tilt = jitter[-1] / MINUTES_PER_DAY
    return array(
        "d", [start + w - drift * i + j - tilt * i for i, (w, j) in enumerate(zip(walk, jitter, strict=True))]
    )


@lru_cache(maxsize=256)
def _pricer(spec: MarketSpec) -> Callable[[float], Decimal]:
    """Log price -> price on the market's tick. For a tick of 10**e it counts ticks in floats and writes
    the count at exponent e: monotonic, as rounding to the tick must be, and faster than formatting and
    quantizing each of the million prices a replay reads."""
    level, tick, exp = float(spec.start_price), spec.tick_size, math.exp
    _, digits, exponent = tick.normalize().as_tuple()
    if digits != (1,) or not isinstance(exponent, int):

        def on_tick(log_price: float) -> Decimal:
            price = Decimal(str(level * exp(log_price)))
            return price.quantize(spec.tick_size)

        return on_tick
    scale = 10.0**-exponent
    return lambda log_price: Decimal(round(level * exp(log_price) * scale)).scaleb(exponent)


def _floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
