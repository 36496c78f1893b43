"""Agents (strategies), the CT accounts they follow, and their cached performance figures."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import (
    MONEY,
    RATIO,
    created_at_field,
    decimal_field,
    enum_field,
    ts_field,
)
from backend.models.enums import AgentStatus, SizingProfile, Venue, Visibility

WEIGHT_NAMES: tuple[str, ...] = (
    "tweet",
    "rsi",
    "macd",
    "bollinger",
    "volume",
    "moving_average",
    "momentum",
    "volatility",
)


def _weight() -> int:
    return Field(default=0, ge=0, le=100, nullable=False)


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    __table_args__ = (
        sa.UniqueConstraint("creator_id", "name", name="uq_agents_creator_name"),
        sa.Index("ix_agents_listing", "visibility", "status"),
        *(
            sa.CheckConstraint(f"weight_{w} BETWEEN 0 AND 100", name=f"weight_{w}_range")
            for w in WEIGHT_NAMES
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    creator_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=2000)
    venue: str = enum_field(Venue, index=True)
    visibility: str = enum_field(Visibility, default=Visibility.PUBLIC)
    status: str = enum_field(AgentStatus, default=AgentStatus.ACTIVE)

    weight_tweet: int = _weight()
    weight_rsi: int = _weight()
    weight_macd: int = _weight()
    weight_bollinger: int = _weight()
    weight_volume: int = _weight()
    weight_moving_average: int = _weight()
    weight_momentum: int = _weight()
    weight_volatility: int = _weight()

    # Risk settings as fractions (0.10 = 10%); old-platform defaults.
    stoploss: Decimal = decimal_field(RATIO, Decimal("0.10"), nullable=False)
    take_profit: Decimal | None = decimal_field(RATIO, Decimal("0.20"))
    trailing_stop_positive_offset: Decimal = decimal_field(RATIO, Decimal("0.03"), nullable=False)
    trailing_stop_positive: Decimal = decimal_field(RATIO, Decimal("0.01"), nullable=False)
    sizing_profile: str = enum_field(SizingProfile, default=SizingProfile.MODERATE)
    signal_threshold: Decimal = decimal_field(RATIO, Decimal("0.55"), nullable=False)
    # The leverage its trades are sized at (1x up to the market's maximum); deployments default to it.
    leverage: Decimal = Field(
        default=Decimal("1"), sa_type=RATIO, nullable=False, sa_column_kwargs={"server_default": "1"}
    )
    # The number of its newest version (AgentVersion.number); an edit of the strategy adds one.
    version: int = Field(default=1, nullable=False, sa_column_kwargs={"server_default": "1"})

    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

    # Figures of the agent's reference book only (backend.metrics), follower deployments never count; all
    # fractions (0.10 = 10%; percent is for screens). NULL until the reference book has closed a trade.
    trades_count: int = Field(default=0, nullable=False, index=True)
    win_rate: Decimal | None = decimal_field(RATIO)
    total_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    volume_usd: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    apr_30d: Decimal | None = Field(default=None, sa_type=RATIO, index=True)
    apr_90d: Decimal | None = decimal_field(RATIO)
    apr_si: Decimal | None = decimal_field(RATIO)
    sharpe_30d: Decimal | None = Field(default=None, sa_type=RATIO, index=True)
    sortino_30d: Decimal | None = decimal_field(RATIO)
    max_drawdown: Decimal | None = decimal_field(RATIO)
    profit_factor: Decimal | None = decimal_field(RATIO)  # NULL also when nothing was ever lost
    metrics_updated_at: datetime | None = ts_field()

    def weights(self) -> dict[str, int]:
        return {name: getattr(self, f"weight_{name}") for name in WEIGHT_NAMES}


class AgentVersion(SQLModel, table=True):
    """An immutable snapshot of an agent's strategy: what a deployment accepted, what a signal was made by.

    `strategy` holds every setting that changes trading: the 8 weights, threshold, followed CT account ids,
    exits (Freqtrade's names), sizing profile, leverage and venue; `backend.agents.versions` reads it.
    """

    __tablename__ = "agent_versions"
    __table_args__ = (sa.UniqueConstraint("agent_id", "number", name="uq_agent_versions_agent_number"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    number: int = Field(nullable=False)
    strategy: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    note: str = Field(default="", max_length=256)  # what changed, in words
    created_at: datetime = created_at_field()


class CtAccount(SQLModel, table=True):
    """A crypto-Twitter account the platform follows."""

    __tablename__ = "ct_accounts"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=32, unique=True)
    display_name: str = Field(default="", max_length=64)
    followers_count: int = Field(default=0, nullable=False)
    # From the reference-book outcomes of its posts over the trailing 90 days (backend.metrics.impact),
    # resting on `impact_calls` calls; every computation is also kept in ImpactFactorHistory.
    impact_factor: Decimal = decimal_field(RATIO, Decimal("0"), nullable=False)
    impact_calls: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    is_active: bool = Field(default=True, nullable=False)
    # Created by the demo seed under a fictional handle: the only accounts the sample feed may post as.
    is_demo: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()})
    last_seen_external_id: str | None = Field(default=None, max_length=64)
    # X's numeric user id, looked up once by handle and kept: timelines are fetched by id.
    x_user_id: str | None = Field(default=None, max_length=32)
    # Removed accounts keep their posts for history; adding the handle again restores the account.
    removed_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()


class AgentAccount(SQLModel, table=True):
    """Which CT accounts an agent follows."""

    __tablename__ = "agent_accounts"

    agent_id: int = Field(foreign_key="agents.id", primary_key=True)
    ct_account_id: int = Field(foreign_key="ct_accounts.id", primary_key=True, index=True)
    created_at: datetime = created_at_field()
