"""The backtest's sources as the settings configure them: candles, market rules, costs, classifier.

One `CandleSource` per process, so its in-memory days serve every backtest the process runs.
"""

from __future__ import annotations

import threading

from backend.backtest.candles import CandleSource, FeedCandles
from backend.backtest.engine import Sources
from backend.backtest.replay_source import Costs
from backend.config import Settings
from backend.prices.factory import build_price_feed
from backend.venues.paper import paper_markets

_lock = threading.Lock()
_sources: dict[tuple, CandleSource] = {}


def candle_source(settings: Settings) -> CandleSource:
    """The price history backtests read: the simulated feed itself in the demo."""
    key = (settings.price_feed, settings.price_feed_seed)
    with _lock:
        if key not in _sources:
            _sources[key] = FeedCandles(build_price_feed(settings))
        return _sources[key]


def build_sources(settings: Settings, *, reclassify: bool = False) -> Sources:
    """Everything a backtest reads, from the settings the live workers run with."""
    classifier = None
    if reclassify:
        from backend.signals.classifier import build_classifier  # the LLM client only when asked for

        classifier = build_classifier(settings)
    return Sources(
        candles=candle_source(settings),
        markets=paper_markets(),
        costs=Costs.from_settings(settings),
        classifier=classifier,
    )
