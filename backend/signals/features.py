"""The eight feature values an agent weighs, each in [0, 1]: 1 backs opening `side` now, 0.5 is neutral.

squash(x, k) = 0.5 + 0.5 * tanh(k * x): smooth, 0.5 at x = 0, and k sets how large an x counts as strong.
Each k puts about one typical deviation of x (measured on the simulated feed's hourly candles across
BTC, SOL, DOGE and WIF) near 0.73 / 0.27, so no feature sits pinned at 0 or 1 in ordinary markets.

| feature        | long value                           | short value | why                                 |
|----------------|--------------------------------------|-------------|-------------------------------------|
| tweet          | classifier confidence                | the same    | how sure the call itself is         |
| rsi            | (100 - rsi) / 100                    | rsi / 100   | oversold backs a long (mean revert) |
| macd           | squash((macd - signal) / price, 150) | 1 - long    | histogram above zero: rising pace   |
| bollinger      | 1 - clamp(position)                  | clamp(pos.) | near the lower band backs a long    |
| volume         | squash(volume_ratio - 1, 2)          | the same    | rising participation confirms calls |
| moving_average | squash(sma10 / sma30 - 1, 25)        | 1 - long    | trend following                     |
| momentum       | squash(6h rate of change, 20)        | 1 - long    | trend following                     |
| volatility     | 1 - clamp(daily volatility / 0.10)   | the same    | calm markets leave room for a stop  |

Directional features (rsi, macd, bollinger, moving_average, momentum) are computed for a long, rounded, and
the short value is 1 minus that rounded value, so f_long + f_short == 1 exactly. A missing indicator gives
0.5. RSI and Bollinger read the market as mean-reverting while MACD, moving average and momentum read it as
trending: they disagree on purpose, and each agent's weights choose which view it trusts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from backend.models.agents import WEIGHT_NAMES
from backend.models.enums import Side
from backend.signals.indicators import Indicators

FEATURE_NAMES: tuple[str, ...] = WEIGHT_NAMES

PLACES = Decimal("0.0001")
NEUTRAL = Decimal("0.5000")
ONE = Decimal(1)

K_MACD = 150.0
K_VOLUME = 2.0
K_MOVING_AVERAGE = 25.0
K_MOMENTUM = 20.0
VOLATILITY_CAP = 0.10  # daily; at or above it the volatility feature is 0


def squash(x: float, k: float) -> float:
    """0.5 + 0.5 * tanh(k * x): maps any real into (0, 1) with 0.5 at zero."""
    return 0.5 + 0.5 * math.tanh(k * x)


def feature_values(indicators: Indicators, side: Side, confidence: Decimal) -> dict[str, Decimal]:
    """The eight features for a call on `side` with the classifier's `confidence`, in FEATURE_NAMES order."""
    side = Side(side)
    if not Decimal(0) <= confidence <= ONE:
        raise ValueError(f"confidence must be in [0, 1], got {confidence}")
    long_values = {
        "rsi": _long_rsi(indicators.rsi),
        "macd": _long_macd(indicators),
        "bollinger": _long_bollinger(indicators.bollinger_position),
        "moving_average": _squashed(indicators.moving_average_trend, K_MOVING_AVERAGE),
        "momentum": _squashed(indicators.momentum, K_MOMENTUM),
    }
    values = {name: value if side is Side.LONG else ONE - value for name, value in long_values.items()}
    values["tweet"] = _round(confidence)
    values["volume"] = _volume(indicators.volume_ratio)
    values["volatility"] = _volatility(indicators.volatility)
    return {name: values[name] for name in FEATURE_NAMES}


def score(weights: Mapping[str, int], features: Mapping[str, Decimal]) -> Decimal | None:
    """The weighted mean sum(w * f) / sum(w), to 4 places; None when every weight is zero."""
    unknown = set(weights) - set(FEATURE_NAMES)
    if unknown:
        raise ValueError(f"unknown weight names: {sorted(unknown)}")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    used = {name: w for name, w in weights.items() if w}
    missing = set(used) - set(features)
    if missing:
        raise ValueError(f"no feature value for weighted names: {sorted(missing)}")
    total = sum(used.values())
    if total == 0:
        return None
    weighted = sum((Decimal(w) * features[name] for name, w in used.items()), Decimal(0))
    return _round(weighted / total)


# -- one feature each, for a long --------------------------------------------------------------------


def _long_rsi(rsi: Decimal | None) -> Decimal:
    return NEUTRAL if rsi is None else _round((100 - _clamp(rsi, Decimal(0), Decimal(100))) / 100)


def _long_macd(ind: Indicators) -> Decimal:
    if ind.macd is None or ind.macd_signal is None:
        return NEUTRAL
    return _round(squash(float((ind.macd - ind.macd_signal) / ind.price), K_MACD))


def _long_bollinger(position: Decimal | None) -> Decimal:
    return NEUTRAL if position is None else _round(ONE - _clamp(position, Decimal(0), ONE))


def _squashed(x: Decimal | None, k: float) -> Decimal:
    return NEUTRAL if x is None else _round(squash(float(x), k))


def _volume(volume_ratio: Decimal | None) -> Decimal:
    return NEUTRAL if volume_ratio is None else _round(squash(float(volume_ratio) - 1.0, K_VOLUME))


def _volatility(volatility: Decimal | None) -> Decimal:
    if volatility is None:
        return NEUTRAL
    return _round(1 - _clamp(float(volatility) / VOLATILITY_CAP, 0.0, 1.0))


def _clamp(x, low, high):
    return max(low, min(high, x))


def _round(x: Decimal | float) -> Decimal:
    return Decimal(x).quantize(PLACES)
