"""Recording a live feed's recent candles, so backtest history grows past what the venue keeps.

Hyperliquid answers only its last 5,000 candles per interval: a 15-minute bar older than 52 days is gone
unless someone stored it. A periodic task (`tasks/candles.py`) stores, for every market the feed lists, the
hourly and 15-minute candles closed since the newest one stored (the last `RECENT` when none is), the most
overdue first, within a request-weight budget: what a round cannot afford waits for the next round, which
catches up from where this one stopped. The same task first rolls the monitor's ticks up into bars
(`backend.backtest.tick_bars`), which asks nothing of the venue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from backend.backtest.candles import BAR, HOUR, floor_to
from backend.backtest.stored_candles import (
    KEPT,
    candle_request_weight,
    closed_edge,
    feed_source,
    store_candles,
    venue_first,
)
from backend.models import PriceCandle
from backend.monitor.budget import Spender
from backend.prices.feed import PriceFeed
from backend.prices.simulated import UnknownMarket
from backend.venues.base import TemporaryVenueError, VenueError

logger = logging.getLogger(__name__)

RECENT = timedelta(hours=6)  # how far back a market with nothing stored starts
INTERVALS = (HOUR, BAR)


@dataclass(frozen=True)
class RecordReport:
    stored: int  # closed candles handed to the database (those already there are ignored)
    requests: int
    left: int  # (market, interval) pairs behind that wait for a later round (budget, venue trouble)


def listed_markets(feed: PriceFeed, now: datetime) -> list[str]:
    """Every market the feed prices now (one allMids request on Hyperliquid)."""
    return sorted(feed.mids(now))


def record_recent_candles(
    session: Session,
    feed: PriceFeed,
    markets: Sequence[str],
    now: datetime,
    *,
    source: str | None = None,
    budget: Spender | None = None,
    recent: timedelta = RECENT,
) -> RecordReport:
    """Store the closed candles of `markets` since the newest stored one; each market's interval is
    committed as it is fetched, so a round cut short keeps what it got."""
    source = source or feed_source(feed)
    names = sorted({m.upper() for m in markets})
    newest = _newest(session, source, names)
    due: list[tuple[datetime, str, timedelta]] = []
    for interval in INTERVALS:
        closed = closed_edge(interval, now)
        oldest = venue_first(interval, now, KEPT)
        for market in names:
            latest = newest.get((market, int(interval.total_seconds())))
            since = latest + interval if latest is not None else floor_to(now - recent, interval)
            since = max(since, oldest)
            if since < closed:
                due.append((since, market, interval))
    # Most overdue first; on a tie (the first 15 minutes of an hour) every hourly before any bars, since a
    # backtest reads hourly candles for every call and bars only for the positions it opens.
    due.sort(key=lambda job: (job[0], -job[2], job[1]))
    stored = requests = 0
    for index, (since, market, interval) in enumerate(due):
        count = (floor_to(now, interval) - since) // interval + 1  # the forming one comes back too
        if budget is not None and not budget.try_spend(candle_request_weight(count)):
            return RecordReport(stored, requests, len(due) - index)
        requests += 1
        try:
            candles = feed.candles(market, since, count, interval)
        except UnknownMarket:
            continue  # delisted between the listing and now
        except TemporaryVenueError as error:
            logger.warning("recording candles stopped at %s %s: %s", market, interval, error.reason)
            return RecordReport(stored, requests, len(due) - index)
        except VenueError as error:
            logger.warning("recording %s %s candles failed: %s", market, interval, error.reason)
            continue
        stored += store_candles(session, source, market, interval, candles, now)
        session.commit()
    return RecordReport(stored, requests, 0)


def _newest(session: Session, source: str, markets: list[str]) -> dict[tuple[str, int], datetime]:
    c = PriceCandle.__table__.c
    rows = session.execute(
        sa.select(c.market, c.interval_seconds, sa.func.max(c.start))
        .where(c.source == source, c.market.in_(markets))
        .group_by(c.market, c.interval_seconds)
    ).all()
    return {(market, seconds): start for market, seconds, start in rows}
