"""Venue markets, token registry, routing decisions and the audit log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import (
    PRICE,
    RATIO,
    SIZE,
    UTCDateTime,
    created_at_field,
    decimal_field,
    enum_field,
    utcnow,
)
from backend.models.enums import ExecutionVenue


class VenueStatus(SQLModel, table=True):
    """A venue's trading rules for one market, in the app's units (per token), as the last refresh read them.

    `market` is the symbol people write (PEPE); `venue_market` the venue's name for it (kPEPE) and `units`
    the tokens in one of its contracts (1000). Inactive: delisted, so no new entries; exits still run.
    """

    __tablename__ = "venue_status"
    __table_args__ = (sa.UniqueConstraint("venue", "market", name="uq_venue_status_venue_market"),)

    id: int | None = Field(default=None, primary_key=True)
    venue: str = enum_field(ExecutionVenue)
    market: str = Field(max_length=32)
    venue_market: str | None = Field(default=None, max_length=32)
    units: int = Field(default=1, nullable=False)
    min_size: Decimal = decimal_field(SIZE, Decimal("0"), nullable=False)
    min_notional_usd: Decimal = decimal_field(PRICE, Decimal("10"), nullable=False)
    tick_size: Decimal = decimal_field(PRICE, nullable=False)
    size_decimals: int = Field(default=4, nullable=False)
    max_leverage: Decimal = decimal_field(RATIO, Decimal("1"), nullable=False)
    slippage_guard_bps: int = Field(default=50, nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    updated_at: datetime = created_at_field()


class TokenRegistry(SQLModel, table=True):
    """Token symbols, their aliases for classification, and on-chain addresses where a venue needs them."""

    __tablename__ = "token_registry"
    __table_args__ = (sa.UniqueConstraint("symbol", "venue", name="uq_token_registry_symbol_venue"),)

    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(max_length=16, index=True)
    name: str = Field(default="", max_length=64)
    venue: str = enum_field(ExecutionVenue)
    chain: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=64)
    decimals: int | None = Field(default=None)
    is_active: bool = Field(default=True, nullable=False)  # the venue lists it and takes entries
    created_at: datetime = created_at_field()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VenueRoutingHistory(SQLModel, table=True):
    """Why a MULTI agent's signal went to the venue it went to."""

    __tablename__ = "venue_routing_history"

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signals.id", index=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id", index=True)
    chosen_venue: str | None = enum_field(ExecutionVenue, nullable=True)
    reason: str = Field(max_length=256)
    candidates: list[Any] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    created_at: datetime = created_at_field()


class Lease(SQLModel, table=True):
    """A named lock across processes that lapses when its holder stops renewing it (the monitor cycle)."""

    __tablename__ = "leases"

    name: str = Field(max_length=64, primary_key=True)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class MonitorCycle(SQLModel, table=True):
    """One monitor cycle's figures, for operators: how long, how many positions, how many venue requests."""

    __tablename__ = "monitor_cycles"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    duration_ms: Decimal = decimal_field(RATIO, nullable=False)
    positions_watched: int = Field(default=0, nullable=False)
    closes_requested: int = Field(default=0, nullable=False)
    venue_requests: int = Field(default=0, nullable=False)
    venue_errors: int = Field(default=0, nullable=False)
    holder: str = Field(default="", max_length=128)


class MarketTick(SQLModel, table=True):
    """A mid the monitor saw: one row per venue and market per cycle, what position charts are drawn from."""

    __tablename__ = "market_ticks"
    __table_args__ = (sa.Index("ix_market_ticks_venue_market_at", "venue", "market", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    venue: str = enum_field(ExecutionVenue)
    market: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    price: Decimal = decimal_field(PRICE, nullable=False)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    ip: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
