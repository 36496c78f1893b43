"""Indicators from the price feed, kept per token and 6-hour UTC bucket in `market_indicators_6h`.

The generator asks for the figures as of a post's time (`indicators_at`); a periodic job keeps the current
bucket fresh for every known token (`refresh_indicators`). Only candles that had closed by then are used,
so an old post is never scored with prices from after it. A bucket's row holds the newest figures computed
for it: a sweep re-scoring an old post computes older figures and leaves a newer row alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col

from backend.db import insert_or_ignore
from backend.models import MarketIndicators6h
from backend.models.common import utcnow
from backend.prices.feed import PriceFeed
from backend.prices.simulated import UnknownMarket
from backend.signals.indicators import Indicators, compute_indicators

logger = logging.getLogger(__name__)

SIX_HOURS = timedelta(hours=6)
CANDLE_INTERVAL = timedelta(hours=1)
# MACD's signal line needs 34 closes; 60 leaves the EMAs 26 more steps to forget their seed.
CANDLE_COUNT = 60

_FIGURES = (
    "price",
    "rsi",
    "macd",
    "macd_signal",
    "bollinger_position",
    "volume",
    "volume_ratio",
    "moving_average_trend",
    "momentum",
    "volatility",
    "as_of",
)


def bucket_start(at: datetime) -> datetime:
    """The start of the 6-hour UTC bucket holding `at`: 00:00, 06:00, 12:00 or 18:00."""
    at = _utc(at)
    return at.replace(hour=at.hour - at.hour % 6, minute=0, second=0, microsecond=0)


def indicators_at(session: Session, feed: PriceFeed, token: str, at: datetime) -> Indicators:
    """Indicators from the hourly candles closed by `at` (floored to the hour); stores them in the bucket's
    row unless it already holds newer figures. Flushes, does not commit: the caller owns the transaction.
    """
    indicators = _compute(feed, token, at)
    _store(session, indicators, bucket_start(at))
    return indicators


def refresh_indicators(session: Session, feed: PriceFeed, tokens: Iterable[str], at: datetime) -> int:
    """Store every token's figures as of `at`; returns how many rows were written. Commits.

    Tokens the feed has no market for are skipped with a log line, so one stale registry entry does not
    stop the others.
    """
    bucket = bucket_start(at)
    written = 0
    for token in dict.fromkeys(_symbol(t) for t in tokens):
        try:
            indicators = _compute(feed, token, at)
        except UnknownMarket:
            logger.warning("no %s market for %s: indicators skipped", feed.name, token)
            continue
        written += _store(session, indicators, bucket)
    session.commit()
    logger.info("indicators refreshed for bucket %s: %d row(s) written", bucket.isoformat(), written)
    return written


# -- internals ----------------------------------------------------------------------------------------


def _compute(feed: PriceFeed, token: str, at: datetime) -> Indicators:
    end = _utc(at).replace(minute=0, second=0, microsecond=0)
    token = _symbol(token)
    candles = feed.candles(token, end - CANDLE_COUNT * CANDLE_INTERVAL, CANDLE_COUNT, CANDLE_INTERVAL)
    return compute_indicators(token, candles)


def _store(session: Session, indicators: Indicators, bucket: datetime) -> bool:
    """Insert the bucket's row, or replace its figures if they are older; whether a row was written.

    The database arbitrates, not a prior SELECT: on PostgreSQL a racing worker's insert waits for ours to
    commit, then its conditional UPDATE sees our row and only wins with a later `as_of`.
    """
    figures = {name: getattr(indicators, name) for name in _FIGURES}
    values = {"token": indicators.token, "bucket_start": bucket, **figures, "computed_at": utcnow()}
    if insert_or_ignore(session, MarketIndicators6h, values, ["token", "bucket_start"]) is not None:
        session.flush()
        return True
    statement = (
        update(MarketIndicators6h)
        .where(
            col(MarketIndicators6h.token) == indicators.token,
            col(MarketIndicators6h.bucket_start) == bucket,
            or_(
                col(MarketIndicators6h.as_of).is_(None),
                col(MarketIndicators6h.as_of) < indicators.as_of,
            ),
        )
        .values(**figures, computed_at=values["computed_at"])
        .execution_options(synchronize_session="fetch")
    )
    written = session.execute(statement).rowcount > 0
    session.flush()
    return written


def _symbol(token: str) -> str:
    symbol = (token or "").strip().upper()
    if not symbol or len(symbol) > 16:
        raise ValueError(f"not a token symbol: {token!r}")
    return symbol


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: indicator times are UTC")
    return at.astimezone(UTC)
