"""Deployments, their agent wallets, positions and daily PnL snapshots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import (
    MONEY,
    PRICE,
    RATIO,
    SIZE,
    created_at_field,
    decimal_field,
    enum_field,
    ts_field,
)
from backend.models.enums import (
    CloseReason,
    DeploymentStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SizingProfile,
)


class AgentDeployment(SQLModel, table=True):
    """One user's running copy of an agent on one venue account."""

    __tablename__ = "agent_deployments"
    __table_args__ = (sa.Index("ix_deployments_agent_status", "agent_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    venue: str = enum_field(ExecutionVenue)
    status: str = enum_field(DeploymentStatus, default=DeploymentStatus.ACTIVE)
    user_wallet: str | None = Field(default=None, max_length=42)
    capital_usd: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    sizing_profile: str | None = enum_field(SizingProfile, nullable=True)
    max_trade_usd: Decimal | None = decimal_field(MONEY)
    leverage_cap: Decimal | None = decimal_field(RATIO)
    # Overrides of the agent's risk settings; NULL means "use the agent's".
    stop_loss_pct: Decimal | None = decimal_field(RATIO)
    take_profit_pct: Decimal | None = decimal_field(RATIO)
    trailing_activation_pct: Decimal | None = decimal_field(RATIO)
    trailing_distance_pct: Decimal | None = decimal_field(RATIO)
    trial_ends_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class AgentWallet(SQLModel, table=True):
    """The platform-held agent (API) wallet of a deployment. The key is only ever stored encrypted."""

    __tablename__ = "agent_wallets"

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id", unique=True)
    address: str = Field(max_length=42, unique=True)
    encrypted_private_key: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    key_version: int = Field(default=1, nullable=False)
    approved_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()


class Position(SQLModel, table=True):
    """What a deployment opened for a signal; opened exactly once per (deployment, signal)."""

    __tablename__ = "positions"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "signal_id", name="uq_positions_deployment_signal"),
        sa.Index("ix_positions_deployment_status", "deployment_id", "status"),
        sa.Index("ix_positions_status_closed", "status", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id")
    signal_id: int | None = Field(default=None, foreign_key="signals.id", index=True)
    venue: str = enum_field(ExecutionVenue)
    market: str = Field(max_length=32)
    side: str = enum_field(Side)
    size: Decimal = decimal_field(SIZE, nullable=False)
    leverage: Decimal = decimal_field(RATIO, Decimal("1"), nullable=False)
    entry_price: Decimal = decimal_field(PRICE, nullable=False)
    exit_price: Decimal | None = decimal_field(PRICE)
    trailing_high: Decimal | None = decimal_field(PRICE)
    status: str = enum_field(PositionStatus, default=PositionStatus.OPEN)
    close_reason: str | None = enum_field(CloseReason, nullable=True)
    entry_fee: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    exit_fee: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    realized_pnl: Decimal | None = decimal_field(MONEY)
    client_order_id: str | None = Field(default=None, max_length=66, unique=True)
    venue_order_id: str | None = Field(default=None, max_length=64)
    opened_at: datetime = created_at_field()
    closed_at: datetime | None = ts_field()

    @property
    def entry_notional(self) -> Decimal:
        return self.size * self.entry_price


class PnlSnapshot(SQLModel, table=True):
    __tablename__ = "pnl_snapshots"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "day", name="uq_pnl_snapshots_deployment_day"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id")
    day: date = Field(nullable=False)
    equity: Decimal = decimal_field(MONEY, nullable=False)
    realized_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    unrealized_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    created_at: datetime = created_at_field()
