"""Market indicators from hourly candles: pure arithmetic, no database, no feed.

Definitions (closes oldest first; an indicator with too few candles is None):

| indicator            | definition                                                      | candles needed |
|----------------------|-----------------------------------------------------------------|----------------|
| rsi                  | RSI(14), Wilder smoothing seeded with the simple mean           | 15             |
| macd, macd_signal    | EMA(12) - EMA(26) of closes; signal = EMA(9) of that line       | 26 / 34        |
| bollinger_position   | (close - lower) / (upper - lower), bands SMA(20) +- 2 sigma     | 20             |
| volume               | volume of the last 6 candles, summed                            | 6              |
| volume_ratio         | last 6 candles' volume / (6 * mean hourly volume of the window) | 24             |
| moving_average_trend | SMA(10) / SMA(30) - 1                                           | 30             |
| momentum             | close / close 6 candles earlier - 1 (6-hour rate of change)     | 7              |
| volatility           | sample stdev of the last 24 hourly log returns * sqrt(24)       | 25             |

EMAs use alpha = 2 / (n + 1) and start from the simple mean of their first n inputs (as StockCharts and
TA-Lib do), so a linear series has MACD exactly 7 * slope. Bollinger sigma is the population deviation.

Flat markets get neutral values rather than None, so None only ever means "not enough candles":
RSI is 50 when closes never move, the Bollinger position is 0.5 when the bands have zero width, and the
volume ratio is 1 when nothing traded at all.

Arithmetic is float; results are Decimal: ratios to 6 places, price-valued figures to 10.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from backend.prices.simulated import Candle

INTERVAL = timedelta(hours=1)
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_PERIOD, BOLLINGER_WIDTH = 20, 2.0
VOLUME_WINDOW = 6
VOLUME_BASELINE_MIN = 24
MA_FAST, MA_SLOW = 10, 30
MOMENTUM_LAG = 6
VOLATILITY_RETURNS = 24
# The most candles any indicator needs (MACD's signal line).
MIN_CANDLES_FOR_ALL = MACD_SLOW + MACD_SIGNAL - 1

RATIO_PLACES = Decimal("0.000001")
PRICE_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class Indicators:
    token: str
    as_of: datetime
    price: Decimal
    rsi: Decimal | None
    macd: Decimal | None
    macd_signal: Decimal | None
    bollinger_position: Decimal | None
    volume: Decimal | None
    volume_ratio: Decimal | None
    moving_average_trend: Decimal | None
    momentum: Decimal | None
    volatility: Decimal | None


def compute_indicators(token: str, candles: Sequence[Candle]) -> Indicators:
    """Every indicator as of the last candle's close. Candles must be hourly, consecutive, oldest first."""
    _check(candles)
    closes = [float(c.close) for c in candles]
    macd_line = _macd_line(closes)
    signal_line = _ema(macd_line, MACD_SIGNAL)
    return Indicators(
        token=token,
        as_of=candles[-1].start + INTERVAL,
        price=candles[-1].close.quantize(PRICE_PLACES),
        rsi=_ratio(rsi(closes)),
        macd=_price(macd_line[-1] if macd_line else None),
        macd_signal=_price(signal_line[-1] if signal_line else None),
        bollinger_position=_ratio(bollinger_position(closes)),
        volume=_recent_volume(candles),
        volume_ratio=_ratio(volume_ratio([float(c.volume) for c in candles])),
        moving_average_trend=_ratio(moving_average_trend(closes)),
        momentum=_ratio(momentum(closes)),
        volatility=_ratio(volatility(closes)),
    )


def _check(candles: Sequence[Candle]) -> None:
    if not candles:
        raise ValueError("no candles: indicators need at least one")
    for previous, current in pairwise(candles):
        if current.start - previous.start != INTERVAL:
            raise ValueError(f"candles must be hourly, oldest first: {previous.start} then {current.start}")
    if any(c.close <= 0 for c in candles):
        raise ValueError("candle closes must be positive")
    if any(c.volume < 0 for c in candles):
        raise ValueError("candle volumes must not be negative")


# -- the indicators, on floats ----------------------------------------------------------------------


def rsi(closes: Sequence[float], period: int = RSI_PERIOD) -> float | None:
    """Wilder's RSI: 100 when closes only rose, 0 when they only fell, 50 when they never moved."""
    if len(closes) < period + 1:
        return None
    changes = [b - a for a, b in pairwise(closes)]
    gain = sum(max(c, 0.0) for c in changes[:period]) / period
    loss = sum(max(-c, 0.0) for c in changes[:period]) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
    if loss == 0:
        return 50.0 if gain == 0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


def _ema(values: Sequence[float], period: int) -> list[float]:
    """EMA aligned with values[period-1:], seeded with the mean of the first `period` values."""
    if len(values) < period:
        return []
    alpha = 2.0 / (period + 1)
    out = [sum(values[:period]) / period]
    for value in values[period:]:
        out.append(out[-1] + alpha * (value - out[-1]))
    return out


def _macd_line(closes: Sequence[float]) -> list[float]:
    """EMA(12) - EMA(26), one value per close from the 26th on."""
    fast = _ema(closes, MACD_FAST)[MACD_SLOW - MACD_FAST :]
    slow = _ema(closes, MACD_SLOW)
    return [f - s for f, s in zip(fast, slow, strict=True)]


def bollinger_position(closes: Sequence[float]) -> float | None:
    if len(closes) < BOLLINGER_PERIOD:
        return None
    window = closes[-BOLLINGER_PERIOD:]
    mean = statistics.fmean(window)
    half_width = BOLLINGER_WIDTH * statistics.pstdev(window, mean)
    if half_width == 0:
        return 0.5
    return (closes[-1] - (mean - half_width)) / (2 * half_width)


def volume_ratio(volumes: Sequence[float]) -> float | None:
    """Recent participation against the window's average for the same span; 1 is ordinary."""
    if len(volumes) < VOLUME_BASELINE_MIN:
        return None
    baseline = VOLUME_WINDOW * statistics.fmean(volumes)
    if baseline == 0:
        return 1.0
    return sum(volumes[-VOLUME_WINDOW:]) / baseline


def moving_average_trend(closes: Sequence[float]) -> float | None:
    if len(closes) < MA_SLOW:
        return None
    return statistics.fmean(closes[-MA_FAST:]) / statistics.fmean(closes[-MA_SLOW:]) - 1.0


def momentum(closes: Sequence[float]) -> float | None:
    if len(closes) < MOMENTUM_LAG + 1:
        return None
    return closes[-1] / closes[-1 - MOMENTUM_LAG] - 1.0


def volatility(closes: Sequence[float]) -> float | None:
    """Daily volatility from hourly log returns: stdev * sqrt(24)."""
    if len(closes) < VOLATILITY_RETURNS + 1:
        return None
    recent = closes[-VOLATILITY_RETURNS - 1 :]
    returns = [math.log(b / a) for a, b in pairwise(recent)]
    return statistics.stdev(returns) * math.sqrt(24)


# -- to Decimal --------------------------------------------------------------------------------------


def _recent_volume(candles: Sequence[Candle]) -> Decimal | None:
    if len(candles) < VOLUME_WINDOW:
        return None
    return sum((c.volume for c in candles[-VOLUME_WINDOW:]), Decimal(0)).quantize(PRICE_PLACES)


def _ratio(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(RATIO_PLACES)


def _price(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(PRICE_PLACES)
