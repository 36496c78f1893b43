"""Exit rules and the simulated price feed."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.models.enums import CloseReason, Side
from backend.monitor.rules import ExitRules, OpenPosition, exit_reason, stop_price, update_best_price
from backend.prices.simulated import SimulatedPriceFeed, UnknownMarket

T0 = datetime(2026, 6, 1, tzinfo=UTC)
RULES = ExitRules(take_profit=D("0.20"), time_limit=timedelta(hours=48))


def pos(side=Side.LONG, best=D("100")):
    return OpenPosition(side=side, entry_price=D("100"), opened_at=T0, best_price=best)


@pytest.mark.parametrize(
    ("side", "best", "price", "expected"),
    [
        (Side.LONG, D("100"), D("90"), CloseReason.STOP_LOSS),
        (Side.LONG, D("100"), D("91"), None),
        (Side.LONG, D("120"), D("120"), CloseReason.TAKE_PROFIT),
        (Side.LONG, D("102.9"), D("101.5"), None),  # trailing not armed below +3%
        (Side.LONG, D("105"), D("103.95"), CloseReason.TRAILING_STOP),  # 1% below the best
        (Side.LONG, D("105"), D("104"), None),
        (Side.SHORT, D("100"), D("110"), CloseReason.STOP_LOSS),
        (Side.SHORT, D("95"), D("95.95"), CloseReason.TRAILING_STOP),
        (Side.SHORT, D("95"), D("95.5"), None),
        (Side.SHORT, D("80"), D("80"), CloseReason.TAKE_PROFIT),
    ],
)
def test_exit_table(side, best, price, expected):
    assert exit_reason(pos(side, best), RULES, price, T0 + timedelta(hours=1)) == expected


def test_time_limit():
    assert exit_reason(pos(), RULES, D("100"), T0 + timedelta(hours=48)) == CloseReason.TIME_LIMIT


def test_bad_settings_refused():
    with pytest.raises(ValueError):
        ExitRules(stoploss=D("0"))
    with pytest.raises(ValueError):
        ExitRules(take_profit=D("-1"))


prices = st.lists(st.decimals(min_value=D("50"), max_value=D("150"), places=2), min_size=1, max_size=50)


@given(prices, st.sampled_from([Side.LONG, Side.SHORT]))
def test_stop_never_loosens(path, side):
    best = D("100")
    last_stop = stop_price(pos(side, best), RULES)
    for price in path:
        best = update_best_price(side, best, price)
        stop = stop_price(pos(side, best), RULES)
        assert stop >= last_stop if side == Side.LONG else stop <= last_stop
        last_stop = stop


moves = st.decimals(min_value=D("50"), max_value=D("150"), places=2)


@given(moves, moves)
def test_long_and_short_mirror(best, price):
    # Mirrored around the entry (p -> 200 - p), a short sees exactly the moves a long sees.
    rules = ExitRules(
        take_profit=D("0.2"), trailing_stop_positive_offset=D("0.6")
    )  # trailing never arms here
    best = max(best, price)
    long_reason = exit_reason(pos(Side.LONG, best), rules, price, T0)
    short_reason = exit_reason(pos(Side.SHORT, 200 - best), rules, 200 - price, T0)
    assert long_reason == short_reason


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
