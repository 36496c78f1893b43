"""Price history for backtests: the monitor's ticks rolled up into bars and the live feed's newly closed
candles, stored every few minutes (thin wrapper)."""

from __future__ import annotations

import logging
from functools import cache

from huey import crontab

from backend.backtest.recorder import listed_markets, record_recent_candles
from backend.backtest.sources import records_candles
from backend.backtest.stored_candles import feed_source
from backend.backtest.tick_bars import roll_up_ticks
from backend.config import get_settings
from backend.db import get_engine, session_scope
from backend.models.common import utcnow
from backend.monitor.budget import WeightBudget
from backend.runtime import price_feed
from backend.venues.base import VenueError
from tasks.app import huey

logger = logging.getLogger(__name__)


@cache
def _budget() -> WeightBudget:
    """The request weight recording may spend per minute (one recorder at a time: the task lock)."""
    return WeightBudget(get_settings().candle_fetch_weight_per_minute)


@huey.periodic_task(crontab(minute=f"*/{get_settings().candle_record_minutes}"))
@huey.lock_task("record-candles")
def record_candles_task() -> int | None:
    """The monitor's ticks of closed bars rolled up into bars (before the venue is asked: that needs no
    venue), then the closed hourly and 15-minute candles of every listed market since the newest stored;
    how many rows were stored, or None when there is nothing to record (the simulated feed)."""
    settings = get_settings()
    if not records_candles(settings):
        return None
    now = utcnow()
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        rolled = roll_up_ticks(session, feed_source(price_feed()), now)
    try:
        markets = listed_markets(price_feed(), now)
    except VenueError as error:
        logger.warning("recording candles: markets unavailable: %s", error.reason)
        return rolled
    with session_scope(engine) as session:
        report = record_recent_candles(session, price_feed(), markets, now, budget=_budget())
    if report.left:
        logger.info("recording candles: %s market intervals left for the next round", report.left)
    return rolled + report.stored
