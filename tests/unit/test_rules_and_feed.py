"""The simulated price feed. (The exit rules' tests moved to tests/unit/monitor/.)"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from backend.prices.simulated import SimulatedPriceFeed, UnknownMarket


def test_feed_is_deterministic_and_tick_rounded():
    a, b = SimulatedPriceFeed(seed=3), SimulatedPriceFeed(seed=3)
    at = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    assert a.price_at("BTC", at) == b.price_at("btc", at)
    assert a.price_at("BTC", at) != SimulatedPriceFeed(seed=4).price_at("BTC", at)
    assert a.price_at("ETH", at) == a.price_at("ETH", at).quantize(D("0.1"))


def test_feed_path_is_continuous_at_day_boundaries():
    feed = SimulatedPriceFeed()
    midnight = datetime(2026, 5, 2, tzinfo=UTC)
    before, after = feed.price_at("SOL", midnight - timedelta(minutes=1)), feed.price_at("SOL", midnight)
    assert abs(after / before - 1) < D("0.02")


def test_feed_candles_and_errors():
    feed = SimulatedPriceFeed()
    candles = feed.candles("ETH", datetime(2026, 5, 2, tzinfo=UTC), 4, timedelta(hours=1))
    assert len(candles) == 4
    for c in candles:
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high and c.volume > 0
    assert candles[1].open == candles[0].close
    with pytest.raises(UnknownMarket):
        feed.price_at("NOPE", datetime(2026, 5, 2, tzinfo=UTC))
    with pytest.raises(ValueError):
        feed.price_at("BTC", datetime(2026, 5, 2))


@pytest.mark.parametrize("minutes", [1, 60, 240])
def test_candles_agree_with_minute_prices_across_midnight(minutes):
    feed = SimulatedPriceFeed(seed=7)
    start = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    for candle in feed.candles("SOL", start, 3, timedelta(minutes=minutes)):
        prices = [feed.price_at("SOL", candle.start + timedelta(minutes=i)) for i in range(minutes + 1)]
        assert (candle.open, candle.close) == (prices[0], prices[-1])
        assert (candle.high, candle.low) == (max(prices), min(prices))
    again = SimulatedPriceFeed(seed=7).candles("SOL", start, 3, timedelta(minutes=minutes))
    assert again == feed.candles("SOL", start, 3, timedelta(minutes=minutes)), "cache changes nothing"


@pytest.mark.parametrize("minutes", [1, 15, 60])
def test_ohlc_bars_are_the_candles_prices(minutes):
    """The replay's bulk bars carry exactly the prices `candles` gives, across midnights."""
    start, interval = datetime(2026, 3, 1, 22, 7, tzinfo=UTC), timedelta(minutes=minutes)
    bars = SimulatedPriceFeed(seed=3).ohlc("ETH", start, 200, interval)
    candles = SimulatedPriceFeed(seed=3).candles("ETH", start, 200, interval)
    assert bars == [(c.start, c.open, c.high, c.low, c.close) for c in candles]
