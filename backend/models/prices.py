"""Price history kept for backtests: candles a live feed served, so history outlives the venue's window."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import PRICE, SIZE, UTCDateTime, decimal_field


class PriceCandle(SQLModel, table=True):
    """One closed candle of a market at a price source, in the app's units (per token, PEPE not kPEPE).

    `source` names the feed and its network ("hyperliquid", "hyperliquid-testnet"): two networks' prices never
    mix; with "+ticks" ("hyperliquid+ticks") it marks a 15-minute bar rolled up from the monitor's ticks
    (`backend.backtest.tick_bars`), which a venue candle of the same bar outranks. Only closed candles are
    stored (ended a few seconds or more before they were fetched), so a row never changes once written; the
    unique key makes storing idempotent across workers.
    """

    __tablename__ = "price_candles"
    __table_args__ = (
        sa.UniqueConstraint(
            "source",
            "market",
            "interval_seconds",
            "start",
            name="uq_price_candles_source_market_interval_seconds_start",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    market: str = Field(max_length=32)
    interval_seconds: int = Field(nullable=False)
    start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    open: Decimal = decimal_field(PRICE, nullable=False)
    high: Decimal = decimal_field(PRICE, nullable=False)
    low: Decimal = decimal_field(PRICE, nullable=False)
    close: Decimal = decimal_field(PRICE, nullable=False)
    volume: Decimal = decimal_field(SIZE, Decimal("0"), nullable=False)
