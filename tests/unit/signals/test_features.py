"""Feature values: bounds, neutrality, long/short symmetry, and the weighted score."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.models.agents import WEIGHT_NAMES
from backend.models.enums import Side
from backend.signals.features import FEATURE_NAMES, feature_values, score
from backend.signals.indicators import Indicators

DIRECTIONAL = ("rsi", "macd", "bollinger", "moving_average", "momentum")
SIDELESS = ("tweet", "volume", "volatility")
HALF = Decimal("0.5")

EMPTY = Indicators(
    token="BTC",
    as_of=datetime(2025, 3, 1, 12, tzinfo=UTC),
    price=Decimal(100),
    rsi=None,
    macd=None,
    macd_signal=None,
    bollinger_position=None,
    volume=None,
    volume_ratio=None,
    moving_average_trend=None,
    momentum=None,
    volatility=None,
)


def long_and_short(ind: Indicators, confidence: str = "0.8") -> tuple[dict, dict]:
    return (
        feature_values(ind, Side.LONG, Decimal(confidence)),
        feature_values(ind, Side.SHORT, Decimal(confidence)),
    )


def squash(x: float, k: float) -> Decimal:
    return Decimal(0.5 + 0.5 * math.tanh(k * x)).quantize(Decimal("0.0001"))


def test_feature_names_are_the_weight_names_in_order() -> None:
    assert FEATURE_NAMES == WEIGHT_NAMES
    assert list(feature_values(EMPTY, Side.LONG, Decimal("0.7"))) == list(WEIGHT_NAMES)


def test_missing_indicators_are_neutral_and_tweet_is_the_confidence() -> None:
    values = feature_values(EMPTY, Side.SHORT, Decimal("0.73"))
    assert values == {name: Decimal("0.73") if name == "tweet" else HALF for name in FEATURE_NAMES}
    assert all(v.as_tuple().exponent == -4 for v in values.values())


def test_rsi_oversold_backs_a_long() -> None:
    long, short = long_and_short(replace(EMPTY, rsi=Decimal("30")))
    assert (long["rsi"], short["rsi"]) == (Decimal("0.7"), Decimal("0.3"))


def test_bollinger_near_the_lower_band_backs_a_long_and_is_clamped() -> None:
    long, short = long_and_short(replace(EMPTY, bollinger_position=Decimal("0.2")))
    assert (long["bollinger"], short["bollinger"]) == (Decimal("0.8"), Decimal("0.2"))
    long, short = long_and_short(replace(EMPTY, bollinger_position=Decimal("1.4")))
    assert (long["bollinger"], short["bollinger"]) == (Decimal(0), Decimal(1))


def test_macd_histogram_relative_to_price() -> None:
    # Histogram 0.2 on a price of 100 is 0.002 of price; k = 150.
    ind = replace(EMPTY, macd=Decimal("1.2"), macd_signal=Decimal("1.0"))
    long, short = long_and_short(ind)
    assert long["macd"] == squash(0.002, 150) == Decimal("0.6457")
    assert short["macd"] == Decimal("0.3543")
    assert long_and_short(replace(EMPTY, macd=Decimal(1)))[0]["macd"] == HALF  # no signal line yet


def test_trend_and_momentum_follow_the_move() -> None:
    ind = replace(EMPTY, moving_average_trend=Decimal("-0.02"), momentum=Decimal("0.03"))
    long, short = long_and_short(ind)
    assert long["moving_average"] == squash(-0.02, 25) < HALF < short["moving_average"]
    assert short["momentum"] == Decimal(1) - squash(0.03, 20) < HALF < long["momentum"]


def test_volume_confirms_either_side() -> None:
    long, short = long_and_short(replace(EMPTY, volume_ratio=Decimal(2)))
    assert long["volume"] == short["volume"] == squash(1, 2) == Decimal("0.9820")
    assert long_and_short(replace(EMPTY, volume_ratio=Decimal(1)))[0]["volume"] == HALF
    assert long_and_short(replace(EMPTY, volume_ratio=Decimal("0.5")))[0]["volume"] < HALF


@pytest.mark.parametrize(
    ("volatility", "expected"), [("0", "1"), ("0.03", "0.7"), ("0.1", "0"), ("0.4", "0")]
)
def test_calmer_markets_score_higher_on_volatility(volatility, expected) -> None:
    long, short = long_and_short(replace(EMPTY, volatility=Decimal(volatility)))
    assert long["volatility"] == short["volatility"] == Decimal(expected)


def test_side_given_as_text_is_accepted() -> None:
    ind = replace(EMPTY, rsi=Decimal(20))
    assert feature_values(ind, "short", Decimal("0.5")) == feature_values(ind, Side.SHORT, Decimal("0.5"))


@pytest.mark.parametrize("confidence", ["-0.01", "1.01"])
def test_confidence_outside_zero_to_one_is_refused(confidence) -> None:
    with pytest.raises(ValueError, match="confidence"):
        feature_values(EMPTY, Side.LONG, Decimal(confidence))


def test_an_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError):
        feature_values(EMPTY, "sideways", Decimal("0.5"))


def _maybe(strategy):
    return st.none() | strategy


def _decimals(low: str, high: str):
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=6)


indicator_sets = st.builds(
    Indicators,
    token=st.just("ETH"),
    as_of=st.just(EMPTY.as_of),
    price=_decimals("0.000001", "1000000"),
    rsi=_maybe(_decimals("0", "100")),
    macd=_maybe(_decimals("-100000", "100000")),
    macd_signal=_maybe(_decimals("-100000", "100000")),
    bollinger_position=_maybe(_decimals("-5", "5")),
    volume=_maybe(_decimals("0", "1000000000")),
    volume_ratio=_maybe(_decimals("0", "20")),
    moving_average_trend=_maybe(_decimals("-1", "10")),
    momentum=_maybe(_decimals("-1", "10")),
    volatility=_maybe(_decimals("0", "5")),
)


@given(indicator_sets, _decimals("0", "1"))
def test_features_are_bounded_and_symmetric_between_sides(ind, confidence) -> None:
    long = feature_values(ind, Side.LONG, confidence)
    short = feature_values(ind, Side.SHORT, confidence)
    for values in (long, short):
        assert list(values) == list(FEATURE_NAMES)
        assert all(Decimal(0) <= v <= Decimal(1) for v in values.values())
    for name in DIRECTIONAL:
        assert long[name] + short[name] == 1, name
    for name in SIDELESS:
        assert long[name] == short[name], name


def test_score_is_the_weighted_mean() -> None:
    features = {name: HALF for name in FEATURE_NAMES} | {"tweet": Decimal("0.9"), "rsi": Decimal("0.2")}
    weights = dict.fromkeys(FEATURE_NAMES, 0) | {"tweet": 3, "rsi": 1}
    assert score(weights, features) == Decimal("0.725")  # (3 * 0.9 + 0.2) / 4
    assert score({"tweet": 100}, features) == Decimal("0.9")
    assert score(dict.fromkeys(FEATURE_NAMES, 10), features) == Decimal("0.5125")  # 4.1 / 8


def test_score_rounds_to_four_places() -> None:
    features = {"tweet": Decimal(1), "rsi": Decimal(0)}
    assert score({"tweet": 1, "rsi": 2}, features) == Decimal("0.3333")
    assert score({"tweet": 1, "rsi": 2}, features).as_tuple().exponent == -4


def test_score_without_weights_is_none() -> None:
    features = dict.fromkeys(FEATURE_NAMES, HALF)
    assert score(dict.fromkeys(FEATURE_NAMES, 0), features) is None
    assert score({}, features) is None


@pytest.mark.parametrize(
    ("weights", "message"),
    [({"tweet": -1, "rsi": 5}, "negative"), ({"sentiment": 5}, "unknown"), ({"macd": 5}, "no feature")],
)
def test_score_refuses_bad_weights(weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        score(weights, {"tweet": HALF, "rsi": HALF})


@given(
    st.fixed_dictionaries({name: st.integers(0, 100) for name in FEATURE_NAMES}),
    st.fixed_dictionaries({name: _decimals("0", "1") for name in FEATURE_NAMES}),
)
def test_score_stays_between_the_smallest_and_largest_weighted_feature(weights, features) -> None:
    result = score(weights, features)
    used = [features[name] for name, w in weights.items() if w]
    if not used:
        assert result is None
    else:
        assert min(used).quantize(Decimal("0.0001")) <= result <= max(used).quantize(Decimal("0.0001"))
