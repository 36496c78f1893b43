"""What every price feed offers: prices now, every market's mid at once, and candles for indicators."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from backend.prices.simulated import Candle


class PriceFeed(Protocol):
    name: str

    def price_at(self, market: str, at: datetime) -> Decimal: ...

    def mids(self, at: datetime, markets: list[str] | None = None) -> dict[str, Decimal]: ...

    def candles(self, market: str, start: datetime, count: int, interval: timedelta) -> list[Candle]: ...
