"""Billing events: every charge exactly once, keyed by an idempotency key."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import MONEY, created_at_field, decimal_field, enum_field
from backend.models.enums import BillingKind, BillingStatus


class BillingEvent(SQLModel, table=True):
    __tablename__ = "billing_events"
    __table_args__ = (sa.Index("ix_billing_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    kind: str = enum_field(BillingKind)
    status: str = enum_field(BillingStatus, default=BillingStatus.PENDING)
    user_id: int = Field(foreign_key="users.id")
    deployment_id: int | None = Field(default=None, foreign_key="agent_deployments.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="positions.id", index=True)
    beneficiary_user_id: int | None = Field(default=None, foreign_key="users.id")
    amount: Decimal = decimal_field(MONEY, nullable=False)
    currency: str = Field(default="USDC", max_length=8)
    description: str = Field(default="", max_length=256)
    created_at: datetime = created_at_field()
