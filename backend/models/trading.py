"""Deployments, their agent wallets, positions and daily PnL snapshots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SizingProfile,
)


class AgentDeployment(SQLModel, table=True):
    """One user's running copy of an agent on one venue account."""

    __tablename__ = "agent_deployments"
    __table_args__ = (
        sa.Index("ix_deployments_agent_status", "agent_id", "status"),
        # One reference book per agent: two workers opening it at once open one.
        sa.Index(
            "uq_agent_deployments_reference",
            "agent_id",
            unique=True,
            sqlite_where=sa.text("is_reference"),
            postgresql_where=sa.text("is_reference"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agents.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    # The strategy version this deployment accepted and trades; a newer one waits for the owner's accept.
    agent_version_id: int | None = Field(default=None, foreign_key="agent_versions.id", index=True)
    # The agent's reference book: the platform's paper book of standard capital whose trades alone make the
    # agent's public figures. Never listed among anyone's deployments, never billed.
    is_reference: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()})
    venue: str = enum_field(ExecutionVenue)
    status: str = enum_field(DeploymentStatus, default=DeploymentStatus.ACTIVE)
    user_wallet: str | None = Field(default=None, max_length=42)
    capital_usd: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    sizing_profile: str | None = enum_field(SizingProfile, nullable=True)
    max_trade_usd: Decimal | None = decimal_field(MONEY)
    leverage_cap: Decimal | None = decimal_field(RATIO)
    # Overrides of the agent's risk settings; NULL means "use the agent's".
    stoploss: Decimal | None = decimal_field(RATIO)
    take_profit: Decimal | None = decimal_field(RATIO)
    trailing_stop_positive_offset: Decimal | None = decimal_field(RATIO)
    trailing_stop_positive: Decimal | None = decimal_field(RATIO)
    # MULTI agents: the venues this deployment may trade on, in order of preference.
    venue_preferences: list[Any] | None = Field(default=None, sa_type=sa.JSON)
    trial_ends_at: datetime | None = ts_field()
    cancelled_at: datetime | None = ts_field()
    # When reconciliation last compared this deployment's venue account with our positions.
    reconciled_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class AgentWallet(SQLModel, table=True):
    """A platform-held agent (API) wallet: trades for `master_address`, never withdraws.

    The key is only ever stored encrypted. A wallet is created for one user and master account, approved
    by that account's signature, and then belongs to exactly one deployment.
    """

    __tablename__ = "agent_wallets"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    deployment_id: int | None = Field(default=None, foreign_key="agent_deployments.id", unique=True)
    master_address: str = Field(max_length=42)
    address: str = Field(max_length=42, unique=True)
    agent_name: str = Field(default="", max_length=32)
    encrypted_private_key: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    key_version: int = Field(default=1, nullable=False)
    approval_nonce: int | None = Field(default=None, sa_type=sa.BigInteger)
    approved_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()


class SignalExecution(SQLModel, table=True):
    """One signal for one deployment, claimed before any order is sent: the exactly-once record.

    The client order id is derived from (deployment, signal), so a retry after a crash asks the venue
    for that order instead of placing another.
    """

    __tablename__ = "signal_executions"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "signal_id", name="uq_signal_executions_deployment_signal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signals.id", index=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id", index=True)
    venue: str | None = enum_field(ExecutionVenue, nullable=True)
    # Derived from (deployment, signal), so that pair's uniqueness covers it; a second unique index would make
    # two racing claims fail on it instead of one of them quietly doing nothing.
    client_order_id: str = Field(max_length=66)
    status: str = enum_field(ExecutionStatus, default=ExecutionStatus.PENDING)
    reason: str | None = Field(default=None, max_length=256)
    attempts: int = Field(default=0, nullable=False)
    position_id: int | None = Field(default=None, foreign_key="positions.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


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
    # A close the venue refused while the position is still there: its reason, how often, and when to retry.
    close_error: str | None = Field(default=None, max_length=500)
    close_attempts: int = Field(default=0, nullable=False)
    next_close_attempt_at: datetime | None = ts_field()

    @property
    def entry_notional(self) -> Decimal:
        return self.size * self.entry_price


class PaperAccount(SQLModel, table=True):
    """The paper venue's book of one deployment: its virtual USDC, kept so a restart loses nothing."""

    __tablename__ = "paper_accounts"

    deployment_id: int = Field(foreign_key="agent_deployments.id", primary_key=True)
    starting_balance: Decimal = decimal_field(MONEY, nullable=False)
    cash: Decimal = decimal_field(MONEY, nullable=False)
    updated_at: datetime = created_at_field()


class PaperPosition(SQLModel, table=True):
    """The paper venue's net position per deployment and market (size > 0 long, < 0 short)."""

    __tablename__ = "paper_positions"

    deployment_id: int = Field(foreign_key="agent_deployments.id", primary_key=True)
    market: str = Field(max_length=32, primary_key=True)
    size: Decimal = decimal_field(SIZE, nullable=False)
    entry_price: Decimal = decimal_field(PRICE, nullable=False)
    leverage: Decimal = decimal_field(RATIO, Decimal("1"), nullable=False)
    updated_at: datetime = created_at_field()


class PaperFill(SQLModel, table=True):
    """A paper venue fill; its client order id is unique, as a real venue's would be per account."""

    __tablename__ = "paper_fills"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "client_order_id", name="uq_paper_fills_deployment_cloid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id", index=True)
    client_order_id: str = Field(max_length=66)
    market: str = Field(max_length=32)
    is_buy: bool = Field(nullable=False)
    size: Decimal = decimal_field(SIZE, nullable=False)
    price: Decimal = decimal_field(PRICE, nullable=False)
    fee: Decimal = decimal_field(MONEY, nullable=False)
    reduce_only: bool = Field(default=False, nullable=False)
    realized_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    created_at: datetime = created_at_field()


class PnlSnapshot(SQLModel, table=True):
    """A book at the end of one UTC day (backend.metrics.snapshots): equity then, the PnL realised during
    the day, the open positions' PnL at the day's last prices, and the day's cash flow."""

    __tablename__ = "pnl_snapshots"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "day", name="uq_pnl_snapshots_deployment_day"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id")
    day: date = Field(nullable=False)
    equity: Decimal = decimal_field(MONEY, nullable=False)
    realized_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    unrealized_pnl: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    # Cash that came in during the day (the capital on the day a deployment starts): a flow, not a return.
    net_flow_usd: Decimal = Field(
        default=Decimal("0"), sa_type=MONEY, nullable=False, sa_column_kwargs={"server_default": "0"}
    )
    created_at: datetime = created_at_field()
