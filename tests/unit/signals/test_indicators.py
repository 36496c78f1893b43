"""Indicators on series whose answers can be worked out by hand."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.prices.simulated import Candle
from backend.signals.indicators import Indicators, compute_indicators

START = datetime(2025, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

# Wilder's worked example (as reproduced by StockCharts), and its RSI(14) from the 15th close on.
WILDER = [
    44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28,
    46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18,
    44.22, 44.57, 43.42, 42.66, 43.13,
]  # fmt: skip
# Exact Wilder smoothing; StockCharts' table reads 70.53, 66.32, ... because it rounds the averages.
WILDER_RSI = [
    70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34, 54.67, 50.39, 40.02, 41.49,
    41.90, 45.50, 37.32, 33.09, 37.79,
]  # fmt: skip


def candles(closes, volumes=None) -> list[Candle]:
    volumes = volumes or [1000] * len(closes)
    out = []
    for i, (close, volume) in enumerate(zip(closes, volumes, strict=True)):
        price = Decimal(str(close))
        out.append(Candle(START + i * HOUR, price, price, price, price, Decimal(str(volume))))
    return out


def indicators(closes, volumes=None) -> Indicators:
    return compute_indicators("BTC", candles(closes, volumes))


def test_price_and_as_of_come_from_the_last_candle() -> None:
    ind = indicators([100, 101, 102.5])
    assert ind.token == "BTC"
    assert ind.price == Decimal("102.5")
    assert ind.as_of == START + 3 * HOUR  # the last candle's close, not its start


def test_rsi_first_value_of_wilders_example_by_hand() -> None:
    # First 14 changes: gains sum to 3.34, losses to 1.40; RS = 3.34 / 1.40.
    expected = 100 - 100 / (1 + 3.34 / 1.40)  # 70.464135...
    assert indicators(WILDER[:15]).rsi == Decimal(expected).quantize(Decimal("0.000001"))
    assert indicators(WILDER[:14]).rsi is None


def test_rsi_follows_wilders_example_throughout() -> None:
    got = [float(indicators(WILDER[:n]).rsi) for n in range(15, len(WILDER) + 1)]
    assert got == pytest.approx(WILDER_RSI, abs=0.005)


@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        ([100 + i for i in range(40)], Decimal(100)),
        ([100 - i for i in range(40)], Decimal(0)),
        ([100] * 40, Decimal(50)),  # never moved: neither overbought nor oversold
    ],
    ids=["rising", "falling", "constant"],
)
def test_rsi_extremes(closes, expected) -> None:
    assert indicators(closes).rsi == expected


def test_macd_of_a_linear_series_is_seven_slopes() -> None:
    # EMA(n) of c = a + b*t, seeded with the SMA, lags by b*(n-1)/2: EMA12 - EMA26 = b*(12.5 - 5.5) = 7b.
    ind = indicators([100 + 0.5 * i for i in range(60)])
    assert ind.macd == Decimal("3.5000000000")
    assert ind.macd_signal == Decimal("3.5000000000")


def test_macd_needs_26_closes_and_its_signal_34() -> None:
    line = [100 + 0.5 * i for i in range(40)]
    assert indicators(line[:25]).macd is None
    assert indicators(line[:26]).macd == Decimal("3.5")
    assert indicators(line[:33]).macd_signal is None
    assert indicators(line[:34]).macd_signal == Decimal("3.5")


def test_bollinger_position_by_hand() -> None:
    # Alternating 9 and 11: mean 10, population sigma 1, bands 8 and 12; a close of 11 sits at 3/4.
    assert indicators([9, 11] * 10).bollinger_position == Decimal("0.75")
    assert indicators([11, 9] * 10).bollinger_position == Decimal("0.25")
    assert indicators([9, 11] * 9 + [9]).bollinger_position is None


def test_bollinger_position_can_leave_the_bands() -> None:
    # 19 x 10 then 30: mean 11, sigma sqrt(19); position = (19 + 2 sqrt 19) / (4 sqrt 19).
    expected = (19 + 2 * math.sqrt(19)) / (4 * math.sqrt(19))
    got = indicators([10] * 19 + [30]).bollinger_position
    assert got == Decimal(expected).quantize(Decimal("0.000001"))
    assert got > 1


def test_bollinger_position_of_a_flat_market_is_the_middle() -> None:
    assert indicators([100] * 20).bollinger_position == Decimal("0.5")


def test_volume_and_volume_ratio_by_hand() -> None:
    # 18 hours at 1, then 6 at 4: last 6 sum to 24; the 6-hour average is 6 * 42/24 = 10.5.
    ind = indicators([100] * 24, [1] * 18 + [4] * 6)
    assert ind.volume == Decimal(24)
    assert ind.volume_ratio == Decimal("2.285714")
    assert indicators([100] * 23, [1] * 23).volume_ratio is None
    assert indicators([100] * 24, [0] * 24).volume_ratio == Decimal(1)
    assert indicators([100] * 5).volume is None
    assert indicators([100] * 6).volume == Decimal(6000)


def test_moving_average_trend_by_hand() -> None:
    # SMA10 = 130, SMA30 = (20 * 100 + 10 * 130) / 30 = 110.
    ind = indicators([100] * 20 + [130] * 10)
    assert ind.moving_average_trend == Decimal("0.181818")
    assert indicators([100] * 29).moving_average_trend is None


def test_momentum_is_the_six_hour_rate_of_change() -> None:
    assert indicators([50, 100, 1, 1, 1, 1, 1, 110]).momentum == Decimal("0.1")
    assert indicators([100] * 6).momentum is None


def test_volatility_of_alternating_returns_by_hand() -> None:
    # 24 log returns of +-r: mean 0, sample sigma r * sqrt(24/23); daily = sigma * sqrt(24) = 24r/sqrt(23).
    r = 0.01
    closes = [100 * math.exp(r * (i % 2)) for i in range(25)]
    assert indicators(closes).volatility == Decimal(24 * r / math.sqrt(23)).quantize(Decimal("0.000001"))
    assert indicators(closes[:24]).volatility is None
    assert indicators([100] * 25).volatility == 0


def test_one_candle_gives_a_price_and_nothing_else() -> None:
    ind = indicators([100])
    assert ind.price == 100
    figures = {f.name: getattr(ind, f.name) for f in fields(Indicators)}
    del figures["token"], figures["as_of"], figures["price"]
    assert len(figures) == 9
    assert set(figures.values()) == {None}


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [Candle(START, *[Decimal(1)] * 5), Candle(START + 2 * HOUR, *[Decimal(1)] * 5)],  # a gap
        [Candle(START + HOUR, *[Decimal(1)] * 5), Candle(START, *[Decimal(1)] * 5)],  # newest first
        candles([100, 0]),
        candles([100, 100], [1, -1]),
    ],
    ids=["empty", "gap", "reversed", "zero-close", "negative-volume"],
)
def test_bad_candles_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        compute_indicators("BTC", bad)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=0, max_value=1e9)),
        min_size=35,
        max_size=70,
    )
)
def test_bounded_indicators_stay_in_bounds(rows) -> None:
    closes, volumes = zip(*rows, strict=True)
    ind = indicators(list(closes), list(volumes))
    assert 0 <= ind.rsi <= 100
    assert ind.volatility >= 0
    # Ratios are rounded to 6 places, so a near-total fall may read as exactly -1.
    assert ind.momentum >= -1
    assert ind.moving_average_trend >= -1
    # All the window's volume in its last 6 hours is the ceiling (len / 6), give or take the rounding.
    assert 0 <= ind.volume_ratio <= Decimal(len(closes)) / 6 + Decimal("0.000001")
