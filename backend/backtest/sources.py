"""Which price history a backtest reads: the simulated feed cut directly, or a live feed's stored history.

One source per process and feed, so its in-memory day cache serves every backtest the process runs (the
builder's slider moves, a sweep's cells).
"""

from __future__ import annotations

import threading

from sqlmodel import Session, col, select

from backend.backtest.candles import CandleSource, FeedCandles
from backend.backtest.engine import Sources
from backend.backtest.replay_source import Costs
from backend.backtest.stored_candles import StoredCandles, feed_source
from backend.config import Settings
from backend.db import get_engine
from backend.models import VenueStatus
from backend.models.enums import ExecutionVenue
from backend.monitor.budget import WeightBudget
from backend.prices.feed import PriceFeed
from backend.runtime import runtime_for
from backend.trading.market import MarketRules
from backend.venues.paper import paper_markets

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


def market_rules(settings: Settings) -> dict[str, MarketRules]:
    """The rules trades are sized and filled by: the paper venue's with the simulated feed, else the live
    venue's as the last refresh stored them (venue_status), active markets only."""
    if not records_candles(settings):
        return paper_markets()
    with Session(get_engine(settings.database_url)) as session:
        rows = session.exec(
            select(VenueStatus).where(
                VenueStatus.venue == ExecutionVenue.HYPERLIQUID, col(VenueStatus.is_active)
            )
        ).all()
    return {
        row.market: MarketRules(
            market=row.market,
            size_decimals=row.size_decimals,
            tick_size=row.tick_size,
            min_notional=row.min_notional_usd,
            max_leverage=row.max_leverage,
            min_size=row.min_size,
        )
        for row in rows
    } or paper_markets()


def build_sources(settings: Settings, *, reclassify: bool = False) -> Sources:
    """Everything a backtest reads, from the settings the live workers run with."""
    classifier = None
    if reclassify:
        from backend.signals.classifier import build_classifier  # the LLM client only when asked for

        classifier = build_classifier(settings)
    return Sources(
        candles=candle_source(settings, runtime_for(settings).price_feed),
        markets=market_rules(settings),
        costs=Costs.from_settings(settings),
        classifier=classifier,
    )
