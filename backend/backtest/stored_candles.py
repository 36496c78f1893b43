"""Price history for backtests on a live feed: candles kept in the database, fetched where missing.

Hyperliquid's candleSnapshot answers only its last 5,000 candles per interval (52 days of 15-minute bars,
208 days of hourly ones), so what is fetched is stored (`price_candles`) and history grows: through the
periodic recorder (`backend.backtest.recorder`) and through every read that finds a gap the venue can still
fill. Only closed candles are stored (start + interval <= now, with a few seconds' grace for the venue to
book the last trades) and served: the forming one never is, so what a backtest reads is what `data_version`
counts.

The monitor's ticks are rolled up into stored bars too (`backend.backtest.tick_bars`, under their own
source): a bar with no venue candle stored is the tick-built one, so a fetched venue candle always wins.
Where the venue keeps nothing any more and neither was stored, a stored hourly candle stands in (one
coarser bar at the hour's open, the hour's OHLC).

Days are cached in memory as `FeedCandles` caches them, but only once settled: closed, their ticks rolled
up, and either checked against the venue by this process or older than anything it keeps. Today is read
afresh every time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time as clock_time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

from backend.backtest.candles import BAR, CACHE_DAYS, DAY, HOUR, floor_to
from backend.backtest.tick_bars import roll_up_edge, ticks_source, unrolled_since
from backend.config import HYPERLIQUID_NETWORKS
from backend.db import insert_many_or_ignore
from backend.models import PriceCandle
from backend.models.common import utcnow
from backend.monitor.budget import Spender
from backend.prices.feed import PriceFeed
from backend.prices.simulated import Candle as Hourly
from backend.prices.simulated import UnknownMarket
from backend.trading.exits import Candle as Bar
from backend.venues.base import VenueError

logger = logging.getLogger(__name__)

KEPT = 5000  # candles per interval Hyperliquid's candleSnapshot still answers
UNIQUE = ["source", "market", "interval_seconds", "start"]
# Hyperliquid's candleSnapshot, the feed's candle source (not a venue read): it weighs 20, plus 1 per 60
# candles it returns.
CANDLE_SNAPSHOT_WEIGHT = 20
CANDLES_PER_WEIGHT = 60
PAUSE_SECONDS = 60.0  # after the venue failed, reads use what is stored this long instead of asking again
SETTLE = timedelta(seconds=10)  # a candle is final this long after its end: clocks differ, trades land late

Sessions = Callable[[], Session]


def feed_source(feed: PriceFeed) -> str:
    """The `source` a feed's candles are stored under: its name, and its network when not mainnet, so
    testnet and mainnet prices never mix ("hyperliquid", "hyperliquid-testnet", "hyperliquid@host:port")."""
    base = getattr(feed, "base_url", None)
    if not base:
        return feed.name
    for network, url in HYPERLIQUID_NETWORKS.items():
        if base.rstrip("/") == url:
            return feed.name if network == "mainnet" else f"{feed.name}-{network}"
    return f"{feed.name}@{urlsplit(base).netloc}"[:64]


def candle_request_weight(count: int) -> int:
    """The Hyperliquid request weight of asking for `count` candles (at most 5,000: one request)."""
    return CANDLE_SNAPSHOT_WEIGHT + math.ceil(count / CANDLES_PER_WEIGHT)


def closed_edge(interval: timedelta, now: datetime) -> datetime:
    """Candles opening before this have closed (and settled); the one opening at it is still forming."""
    return floor_to(now - SETTLE, interval)


def venue_first(interval: timedelta, now: datetime, kept: int = KEPT) -> datetime:
    """The oldest candle start the venue still answers for (the forming candle counts among `kept`)."""
    return floor_to(now, interval) - (kept - 1) * interval


def store_candles(
    session: Session, source: str, market: str, interval: timedelta, candles: Iterable[Hourly], now: datetime
) -> int:
    """Insert the closed ones of `candles` (ignoring those already stored); how many were closed.
    The caller commits."""
    seconds = int(interval.total_seconds())
    rows = [
        {
            "source": source,
            "market": market,
            "interval_seconds": seconds,
            "start": c.start,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume,
        }
        for c in candles
        if c.start < closed_edge(interval, now)  # the forming candle would change after we stored it
    ]
    insert_many_or_ignore(session, PriceCandle, rows, UNIQUE)
    return len(rows)


class StoredCandles:
    """A `CandleSource` over `price_candles`, filled from `feed` on demand (see the module docstring)."""

    def __init__(
        self,
        database: Engine | Sessions,
        feed: PriceFeed,
        *,
        source_name: str | None = None,
        kept: int = KEPT,
        budget: Spender | None = None,
        cache_days: int = CACHE_DAYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if isinstance(database, Engine):
            engine = database
            self._sessions: Sessions = lambda: Session(engine, expire_on_commit=False)
        else:
            self._sessions = database
        self.feed = feed
        self.name = source_name or feed_source(feed)
        self._ticks = ticks_source(self.name)  # where the monitor's ticks are rolled up into bars
        self._kept = kept
        self._budget = budget  # request weight fills may spend: the IP's limit is shared with trading
        self._clock = clock
        self._size = cache_days
        self._days: OrderedDict[tuple[int, str, date], list] = OrderedDict()
        self._checked: set[tuple[int, str, date]] = set()  # closed days compared with the venue
        self._today: dict[tuple[int, str], tuple[date, datetime]] = {}  # (day, checked before) of today
        self._paused_until = (
            0.0  # time.monotonic(): a venue that is down costs one timeout, not one per market
        )
        self._lock = threading.Lock()

    # -- CandleSource ---------------------------------------------------------------------------------

    def hourly(self, market: str, start: datetime, end: datetime) -> Sequence[Hourly]:
        return self._series(HOUR, market.upper(), start, end)

    def bars(self, market: str, start: datetime, end: datetime) -> Sequence[Bar]:
        return self._series(BAR, market.upper(), floor_to(start, BAR), end)

    def data_version(self, markets: Sequence[str], start: datetime, end: datetime) -> str:
        """A short hash of what is stored for these markets in the window (count and newest start per
        market, interval and source: venue candles and tick-built bars), after filling what the venue can.
        History that grows changes it; the same history gives the same hash in any process."""
        now = self._clock()
        names = sorted({m.upper() for m in markets})
        lo, hi = _midnight(start.date()), _day_end(end)
        for market in names:
            for interval in (HOUR, BAR):
                self._fill(market, interval, lo, hi, now)
        c = PriceCandle.__table__.c
        with self._sessions() as session:
            stored = session.execute(
                sa.select(c.source, c.market, c.interval_seconds, sa.func.count(), sa.func.max(c.start))
                .where(
                    c.source.in_([self.name, self._ticks]),
                    c.market.in_(names),
                    c.start >= start,
                    c.start < end,
                )
                .group_by(c.source, c.market, c.interval_seconds)
            ).all()
        facts = sorted(
            [m, s, "venue" if source == self.name else "ticks", n, _iso(at)] for source, m, s, n, at in stored
        )
        digest = hashlib.sha256(json.dumps([self.name, facts]).encode()).hexdigest()[:16]
        return f"{self.name}:{digest}"

    # -- reading --------------------------------------------------------------------------------------

    def _series(self, interval: timedelta, market: str, start: datetime, end: datetime) -> list:
        now = self._clock()
        seconds = int(interval.total_seconds())
        days = list(_days(start, end))
        found: dict[date, list] = {}
        with self._lock:
            for day in days:
                key = (seconds, market, day)
                if key in self._days:
                    self._days.move_to_end(key)
                    found[day] = self._days[key]
        missing = [day for day in days if day not in found]
        if missing:
            lo, hi = _midnight(missing[0]), _midnight(missing[-1]) + DAY
            self._fill(market, interval, lo, hi, now)
            if interval == BAR and lo < self._hourly_edge(now):  # hourly candles stand in for bars there
                self._fill(market, HOUR, lo, min(hi, self._hourly_edge(now)), now)
            # Asked before loading (a roll-up after it may be missing from what is loaded), and only when a
            # day has closed: otherwise none is settled anyway.
            closed = interval == BAR and lo + DAY <= closed_edge(BAR, now)
            rolled = self._rolled_until(market, now) if closed else None
            loaded = self._load(market, interval, lo, hi, now)
            for day in missing:
                found[day] = loaded.get(day, [])
                if self._settled(seconds, market, day, interval, now, rolled):
                    self._remember((seconds, market, day), found[day])
        return [c for day in days for c in found[day] if start <= _opens(c) < end]

    def _load(
        self, market: str, interval: timedelta, lo: datetime, hi: datetime, now: datetime
    ) -> dict[date, list]:
        """Stored candles opening in [lo, hi) by day; for bars, gaps filled as `_fill_bars` says."""
        with self._sessions() as session:
            rows = self._stored(session, market, interval, lo, hi)
            if interval == BAR:
                bars = {r.start: Bar(r.start, r.open, r.high, r.low, r.close) for r in rows}
                self._fill_bars(session, market, bars, lo, hi, now)
                candles: list = [bars[at] for at in sorted(bars)]
            else:
                candles = [Hourly(r.start, r.open, r.high, r.low, r.close, r.volume) for r in rows]
        by_day: dict[date, list] = {}
        for candle in candles:
            by_day.setdefault(_opens(candle).date(), []).append(candle)
        return by_day

    def _stored(
        self,
        session: Session,
        market: str,
        interval: timedelta,
        lo: datetime,
        hi: datetime,
        *,
        source: str | None = None,
    ) -> list:
        c = PriceCandle.__table__.c
        return session.execute(
            sa.select(c.start, c.open, c.high, c.low, c.close, c.volume)
            .where(
                c.source == (source or self.name),
                c.market == market,
                c.interval_seconds == int(interval.total_seconds()),
                c.start >= lo,
                c.start < hi,
            )
            .order_by(c.start)
        ).all()

    def _fill_bars(
        self,
        session: Session,
        market: str,
        bars: dict[datetime, Bar],
        lo: datetime,
        hi: datetime,
        now: datetime,
    ) -> None:
        """Bars with no venue candle stored: the one rolled up from the monitor's ticks, else (where the venue
        keeps no bars) one per stored hourly candle."""
        for r in self._stored(session, market, BAR, lo, hi, source=self._ticks):
            bars.setdefault(r.start, Bar(r.start, r.open, r.high, r.low, r.close))
        edge = self._hourly_edge(now)
        if lo < edge:
            covered = {floor_to(at, HOUR) for at in bars}
            for r in self._stored(session, market, HOUR, lo, min(hi, edge)):
                if r.start not in covered:
                    bars[r.start] = Bar(r.start, r.open, r.high, r.low, r.close)

    def _rolled_until(self, market: str, now: datetime) -> datetime:
        """Bars opening before this have every tick of theirs rolled up (or none to roll up)."""
        with self._sessions() as session:
            since = unrolled_since(session, self.name, market)
        edge = roll_up_edge(now)
        return edge if since is None else min(edge, since)

    # -- filling from the venue -----------------------------------------------------------------------

    def _fill(self, market: str, interval: timedelta, lo: datetime, hi: datetime, now: datetime) -> None:
        """Fetch and store the closed candles in [lo, hi) (whole days) the venue has and we do not."""
        seconds = int(interval.total_seconds())
        closed = closed_edge(interval, now)
        first, end = max(lo, venue_first(interval, now, self._kept)), min(hi, closed)
        today, checked_before = self._today.get((seconds, market), (None, None))
        wanted = [
            at
            for at in _steps(first, end, interval)
            if (seconds, market, at.date()) not in self._checked
            and not (at.date() == today and checked_before is not None and at < checked_before)
        ]
        if not wanted or clock_time.monotonic() < self._paused_until:
            return
        with self._sessions() as session:
            stored = self._stored(session, market, interval, wanted[0], wanted[-1] + interval)
            have = {r.start for r in stored}
            missing = [at for at in wanted if at not in have]
            if missing:
                count = (missing[-1] - missing[0]) // interval + 1
                if self._budget is not None and not self._budget.try_spend(candle_request_weight(count)):
                    logger.info("%s %s candles not fetched: over the weight budget", market, interval)
                    return  # not marked checked: a later read fills it
                try:
                    fetched = self.feed.candles(market, missing[0], count, interval)
                except UnknownMarket:
                    fetched = []  # not listed there (any more): nothing to store, ticks may still fill bars
                except VenueError as error:
                    logger.warning("%s %s candles not fetched: %s", market, interval, error.reason)
                    if error.retryable:
                        self._paused_until = clock_time.monotonic() + PAUSE_SECONDS
                    return  # nothing marked checked: a later read tries again
                store_candles(session, self.name, market, interval, fetched, now)
                session.commit()
        with self._lock:
            for day in {at.date() for at in wanted}:
                if _midnight(day) + DAY <= closed:
                    self._checked.add((seconds, market, day))
            if end == closed:  # the window reached the present: today's closed candles were compared too
                self._today[(seconds, market)] = (closed.date(), closed)

    def _settled(
        self,
        seconds: int,
        market: str,
        day: date,
        interval: timedelta,
        now: datetime,
        rolled: datetime | None = None,
    ) -> bool:
        """Nothing more can come for this day: it has closed, its ticks are rolled up into bars (before
        `rolled`), and the venue was asked or keeps nothing."""
        day_end = _midnight(day) + DAY
        if day_end > closed_edge(interval, now):
            return False
        if interval == BAR and (rolled is None or day_end > rolled):
            return False  # a bar of it may yet be rolled up from ticks
        if (
            interval == BAR
            and day_end <= self._hourly_edge(now)
            and not self._settled(int(HOUR.total_seconds()), market, day, HOUR, now)
        ):
            return False  # its bars may yet come from hourly candles
        return day_end <= venue_first(interval, now, self._kept) or (seconds, market, day) in self._checked

    def _hourly_edge(self, now: datetime) -> datetime:
        """Bars in days before this are beyond the venue's window: hourly candles stand in for lost ones."""
        return floor_to(venue_first(BAR, now, self._kept), DAY)

    def _remember(self, key: tuple[int, str, date], candles: list) -> None:
        with self._lock:
            self._days[key] = candles
            while len(self._days) > self._size:
                self._days.popitem(last=False)


def _opens(candle: Hourly | Bar) -> datetime:
    return candle.start if isinstance(candle, Hourly) else candle.at


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _day_end(at: datetime) -> datetime:
    """Midnight at or after `at`."""
    floor = floor_to(at, DAY)
    return floor if floor == at else floor + DAY


def _days(start: datetime, end: datetime) -> Iterator[date]:
    day = floor_to(start, DAY).date()
    while _midnight(day) < end:
        yield day
        day += timedelta(days=1)


def _steps(first: datetime, end: datetime, interval: timedelta) -> Iterator[datetime]:
    at = first
    while at < end:
        yield at
        at += interval


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()
