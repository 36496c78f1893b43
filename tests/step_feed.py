"""A price feed that moves only on the backtest's bar grid: live ticks and backtest bars see one price path.

The simulated feed moves every minute: a monitor ticking every 15 minutes sees the bars' opens, while a
backtest walks their highs and lows too, and the two disagree by design. Sampling the simulated feed at each
bar's open and holding that price for the bar gives a path both can see whole: the monitor's tick at a bar's
open is the bar (open = high = low = close), and hourly candles for the indicators are the OHLC of their four
bars, the same for the live generator and the backtest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from backend.backtest.candles import BAR, floor_to
from backend.prices.simulated import Candle, SimulatedPriceFeed


class StepFeed:
    """The simulated feed (seed 7) held flat through each `BAR`; deterministic at any time."""

    name = "stepped"

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self._simulated = SimulatedPriceFeed(seed=seed)
        self.markets = self._simulated.markets

    def price_at(self, market: str, at: datetime) -> Decimal:
        return self._simulated.price_at(market, floor_to(at, BAR))

    def mids(self, at: datetime, markets: list[str] | None = None) -> dict[str, Decimal]:
        return {m: self.price_at(m, at) for m in (markets or list(self.markets))}

    def candles(self, market: str, start: datetime, count: int, interval: timedelta) -> list[Candle]:
        if interval < BAR or interval % BAR:
            raise ValueError("candles are whole multiples of the bar")
        steps = interval // BAR
        out = []
        at = floor_to(start, BAR)
        for _ in range(count):
            prices = [self.price_at(market, at + i * BAR) for i in range(steps)]
            # Volume from the simulated candle: seeded, and larger on larger moves, as the indicators expect.
            volume = self._simulated.candles(market, at, 1, interval)[0].volume
            out.append(Candle(at, prices[0], max(prices), min(prices), prices[-1], volume))
            at += interval
        return out
