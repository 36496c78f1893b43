"""CT posts with their classification, agent signals, and the 6-hour indicator table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import PRICE, RATIO, created_at_field, decimal_field, enum_field, ts_field
from backend.models.enums import PostSource, Side, SignalStatus


class CtPost(SQLModel, table=True):
    __tablename__ = "ct_posts"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_ct_posts_source_external_id"),
        sa.Index("ix_ct_posts_account_posted", "ct_account_id", "posted_at"),
        sa.Index("ix_ct_posts_ingested", "ingested_at"),
        # The sample feed resumes from its newest post.
        sa.Index("ix_ct_posts_source_posted", "source", "posted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ct_account_id: int = Field(foreign_key="ct_accounts.id")
    source: str = enum_field(PostSource)
    external_id: str = Field(max_length=64)
    text: str = Field(max_length=4000)
    posted_at: datetime = ts_field(nullable=False)
    ingested_at: datetime = created_at_field()

    # Classification: NULL until classified.
    is_signal: bool | None = Field(default=None)
    token: str | None = Field(default=None, max_length=16)
    side: str | None = enum_field(Side, nullable=True)
    confidence: Decimal | None = decimal_field(RATIO)
    reasoning: str | None = Field(default=None, max_length=1000)
    classifier: str | None = Field(default=None, max_length=64)
    classified_at: datetime | None = ts_field()
    # Set once the generator has scored the post for every follower; the sweep looks for posts without it.
    signals_generated_at: datetime | None = ts_field()


class Signal(SQLModel, table=True):
    """One agent version's decision to trade a token; at most one per version, token and 6-hour UTC bucket."""

    __tablename__ = "signals"
    __table_args__ = (
        sa.UniqueConstraint(
            "agent_id",
            "agent_version_id",
            "token",
            "bucket_start",
            name="uq_signals_agent_version_token_bucket",
        ),
        sa.Index("ix_signals_agent_created", "agent_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id")
    # The strategy version that made it; deployments act only on signals of the version they accepted.
    agent_version_id: int | None = Field(default=None, foreign_key="agent_versions.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="ct_posts.id", index=True)
    token: str = Field(max_length=16)
    side: str = enum_field(Side)
    score: Decimal = decimal_field(RATIO, nullable=False)
    features: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    # The weights and threshold it was scored with: the agent may be edited later. NULL on old rows.
    weights: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    threshold: Decimal | None = decimal_field(RATIO)
    bucket_start: datetime = ts_field(nullable=False)
    status: str = enum_field(SignalStatus, default=SignalStatus.PENDING)
    skip_reason: str | None = Field(default=None, max_length=256)
    created_at: datetime = created_at_field()


class MarketIndicators6h(SQLModel, table=True):
    """Indicators per token and 6-hour bucket, computed from the price feed's candles."""

    __tablename__ = "market_indicators_6h"
    __table_args__ = (sa.UniqueConstraint("token", "bucket_start", name="uq_indicators_token_bucket"),)

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=16)
    bucket_start: datetime = ts_field(nullable=False)
    price: Decimal = decimal_field(PRICE, nullable=False)
    rsi: Decimal | None = decimal_field(RATIO)
    macd: Decimal | None = decimal_field(PRICE)
    macd_signal: Decimal | None = decimal_field(PRICE)
    bollinger_position: Decimal | None = decimal_field(RATIO)
    volume: Decimal | None = decimal_field(PRICE)
    volume_ratio: Decimal | None = decimal_field(RATIO)
    moving_average_trend: Decimal | None = decimal_field(RATIO)
    momentum: Decimal | None = decimal_field(RATIO)
    volatility: Decimal | None = decimal_field(RATIO)
    # The close of the last candle the figures use; a row is only replaced by a later as_of.
    as_of: datetime | None = ts_field()
    computed_at: datetime = created_at_field()


class ImpactFactorHistory(SQLModel, table=True):
    """How a CT account's calls performed, kept as history."""

    __tablename__ = "impact_factor_history"
    __table_args__ = (sa.Index("ix_impact_account_computed", "ct_account_id", "computed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ct_account_id: int = Field(foreign_key="ct_accounts.id")
    impact_factor: Decimal = decimal_field(RATIO, nullable=False)
    sample_size: int = Field(default=0, nullable=False)
    computed_at: datetime = created_at_field()
