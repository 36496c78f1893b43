"""Which price history a backtest reads: the simulated feed cut directly, or a live feed's stored history.

One source per process and feed, so its in-memory day cache serves every backtest the process runs (the
builder's slider moves, a sweep's cells).
"""

from __future__ import annotations

import threading

from backend.backtest.candles import CandleSource, FeedCandles
from backend.backtest.stored_candles import StoredCandles, feed_source
from backend.config import Settings
from backend.db import get_engine
from backend.monitor.budget import WeightBudget
from backend.prices.feed import PriceFeed

_sources: dict[tuple[str, str, str], CandleSource] = {}
_lock = threading.Lock()


def records_candles(settings: Settings) -> bool:
    """A live feed's candles are worth keeping; the simulated feed's past is fixed by its seed."""
    return settings.price_feed != "simulated"


def candle_source(settings: Settings, feed: PriceFeed) -> CandleSource:
    """`FeedCandles` for the simulated feed, `StoredCandles` (price_candles, filled from `feed`) otherwise;
    built once per process for each feed identity and database."""
    stored = records_candles(settings)
    key = (
        "stored" if stored else "feed",
        feed_source(feed) if stored else _seeded(feed),
        settings.database_url,
    )
    with _lock:
        source = _sources.get(key)
        if source is None:
            if stored:
                source = StoredCandles(
                    get_engine(settings.database_url),
                    feed,
                    source_name=key[1],
                    budget=WeightBudget(settings.candle_fetch_weight_per_minute),
                )
            else:
                source = FeedCandles(feed)
            _sources[key] = source
        return source


def _seeded(feed: PriceFeed) -> str:
    seed = getattr(feed, "seed", None)
    return f"{feed.name}:{seed}"
