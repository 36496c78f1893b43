"""The monitor's ticks rolled up into stored 15-minute bars, so the mids it saw outlive the ticks.

The monitor records the mids of the markets it watches every cycle (`market_ticks`) and prunes them after a
week; Hyperliquid forgets a 15-minute candle after 52 days. Rolling each closed bar's ticks up into
`price_candles` keeps them: the OHLC of the bar's mids in the order they were seen (one mid is a flat bar),
volume 0, stored under the feed's source with `+ticks` (`ticks_source`), so a tick-built bar never takes a
venue candle's place: a backtest reads it only where no venue candle is stored for the bar.

Rows are never changed once written (insert-or-ignore on the unique key) and a bar is rolled up only once
its ticks have all landed (`TICK_SETTLE`), so rolling up twice, or again after a crash, gives the same rows.
Each market's newest tick-built bar marks how far its ticks are rolled up (`rolled_through`): the prune
deletes only ticks before it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from backend.backtest.candles import BAR, floor_to
from backend.db import insert_many_or_ignore
from backend.models import MarketTick, PriceCandle
from backend.models.enums import ExecutionVenue

logger = logging.getLogger(__name__)

TICK_VENUES = (ExecutionVenue.HYPERLIQUID.value, ExecutionVenue.PAPER.value)  # both record the feed's mids
# A monitor cycle commits its ticks after asking every venue (a timeout is 10 s each): a bar is rolled up
# this long after its end, when no tick of it can still arrive.
TICK_SETTLE = timedelta(minutes=2)
UNIQUE = ["source", "market", "interval_seconds", "start"]
STREAM = 5000  # ticks fetched at a time: a first roll-up reads a week of them
CHUNK = 500  # bars inserted at a time


def ticks_source(source: str) -> str:
    """The `source` the bars rolled up from the ticks of a feed stored under `source` are kept under."""
    return f"{source[:58]}+ticks"


def roll_up_edge(now: datetime) -> datetime:
    """Bars opening before this are rolled up: every tick of them has landed."""
    return floor_to(now - TICK_SETTLE, BAR)


def rolled_through(session: Session, source: str) -> dict[str, datetime]:
    """Per market, when its newest tick-built bar ends: its ticks before that are rolled up."""
    c = PriceCandle.__table__.c
    rows = session.execute(
        sa.select(c.market, sa.func.max(c.start))
        .where(c.source == ticks_source(source), c.interval_seconds == int(BAR.total_seconds()))
        .group_by(c.market)
    ).all()
    return {market: start + BAR for market, start in rows}


def unrolled_since(session: Session, source: str, market: str) -> datetime | None:
    """When the oldest tick of `market` not yet rolled up was seen; None when every tick is rolled up."""
    t = MarketTick.__table__.c
    through = _through(session, source, market)
    query = sa.select(sa.func.min(t.at)).where(t.venue.in_(TICK_VENUES), t.market == market)
    if through is not None:
        query = query.where(t.at >= through)
    return session.execute(query).scalar_one()


def _through(session: Session, source: str, market: str) -> datetime | None:
    c = PriceCandle.__table__.c
    newest = session.execute(
        sa.select(sa.func.max(c.start)).where(
            c.source == ticks_source(source),
            c.market == market,
            c.interval_seconds == int(BAR.total_seconds()),
        )
    ).scalar_one()
    return None if newest is None else newest + BAR


def roll_up_ticks(session: Session, source: str, now: datetime) -> int:
    """Store a bar for every settled bar with ticks not yet rolled up, market by market (each committed: a
    run cut short keeps what it did, the next carries on); how many bars were handed to the database."""
    edge = roll_up_edge(now)
    t = MarketTick.__table__.c
    markets = (
        session.execute(
            sa.select(t.market).where(t.venue.in_(TICK_VENUES), t.at < edge).distinct().order_by(t.market)
        )
        .scalars()
        .all()
    )
    through = rolled_through(session, source)
    stored = 0
    for market in markets:
        query = sa.select(t.at, t.price).where(t.venue.in_(TICK_VENUES), t.market == market, t.at < edge)
        if market in through:
            query = query.where(t.at >= through[market])
        ticks = session.execute(query.order_by(t.at, t.id).execution_options(yield_per=STREAM))
        # The ticks are streamed, the bars (96 a day) kept: nothing is written while the ticks are read.
        rows = [_row(ticks_source(source), market, at, prices) for at, prices in group_by_bar(ticks)]
        for start in range(0, len(rows), CHUNK):
            insert_many_or_ignore(session, PriceCandle, rows[start : start + CHUNK], UNIQUE)
        session.commit()
        stored += len(rows)
    if stored:
        logger.info("rolled %s bars up from the monitor's ticks", stored)
    return stored


def group_by_bar(ticks: Iterable) -> Iterator[tuple[datetime, list[Decimal]]]:
    """(at, price) rows, oldest first, grouped by the bar they fall in."""
    current: datetime | None = None
    prices: list[Decimal] = []
    for at, price in ticks:
        bar = floor_to(at, BAR)
        if bar != current:
            if prices:
                yield current, prices  # type: ignore[misc]
            current, prices = bar, []
        prices.append(price)
    if prices:
        yield current, prices  # type: ignore[misc]


def _row(source: str, market: str, start: datetime, prices: list[Decimal]) -> dict:
    return {
        "source": source,
        "market": market,
        "interval_seconds": int(BAR.total_seconds()),
        "start": start,
        "open": prices[0],
        "high": max(prices),
        "low": min(prices),
        "close": prices[-1],
        "volume": Decimal(0),
    }
