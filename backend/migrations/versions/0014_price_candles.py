"""Price candles: closed candles a live price feed served, kept for backtests

Hyperliquid's candleSnapshot answers only the last 5,000 candles per interval; what was fetched stays here,
so backtest history grows instead of sliding out of the venue's window.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.common import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_candles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Numeric(28, 10), nullable=False),
        sa.Column("high", sa.Numeric(28, 10), nullable=False),
        sa.Column("low", sa.Numeric(28, 10), nullable=False),
        sa.Column("close", sa.Numeric(28, 10), nullable=False),
        sa.Column("volume", sa.Numeric(28, 10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_candles")),
        sa.UniqueConstraint(
            "source",
            "market",
            "interval_seconds",
            "start",
            name="uq_price_candles_source_market_interval_seconds_start",
        ),
    )


def downgrade() -> None:
    op.drop_table("price_candles")
