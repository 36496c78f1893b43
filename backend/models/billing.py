"""Billing: lines (every charge exactly once, keyed by an idempotency key), subscriptions per live deployment,
monthly invoices per user, their wallet payments, and payouts to creators and signal sources.

Amounts come from the trading core's fee policy (`backend.trading.fees`); these tables only keep them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import MONEY, UTCDateTime, created_at_field, decimal_field, enum_field, ts_field
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)


class BillingEvent(SQLModel, table=True):
    """One billing line: what a trade, a close or a subscription period owes, and to whom."""

    __tablename__ = "billing_events"
    __table_args__ = (
        sa.Index("ix_billing_user_created", "user_id", "created_at"),
        sa.Index("ix_billing_events_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    kind: str = enum_field(BillingKind)
    status: str = enum_field(BillingStatus, default=BillingStatus.PENDING)
    user_id: int = Field(foreign_key="users.id")  # who pays
    deployment_id: int | None = Field(default=None, foreign_key="agent_deployments.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="positions.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscriptions.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoices.id", index=True)
    beneficiary: str = enum_field(Beneficiary, default=Beneficiary.PLATFORM)
    beneficiary_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)  # the creator
    ct_account_id: int | None = Field(default=None, foreign_key="ct_accounts.id", index=True)  # a source
    amount: Decimal = decimal_field(MONEY, nullable=False)
    currency: str = Field(default="USDC", max_length=8)
    description: str = Field(default="", max_length=256)
    # A subscription line's period [start, end).
    period_start: datetime | None = ts_field()
    period_end: datetime | None = ts_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = ts_field()


class Subscription(SQLModel, table=True):
    """A live deployment's subscription: trial from activation, then monthly periods billed in advance."""

    __tablename__ = "subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="agent_deployments.id", unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    status: str = enum_field(SubscriptionStatus, default=SubscriptionStatus.TRIALING, index=True)
    trial_ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The paid period running now (None while trialing).
    current_period_start: datetime | None = ts_field()
    current_period_end: datetime | None = ts_field(index=True)
    past_due_since: datetime | None = ts_field()
    cancel_at_period_end: bool = Field(default=False, nullable=False)
    canceled_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Invoice(SQLModel, table=True):
    """One user's invoice for one calendar month (UTC): their lines of that month, paid from their wallet."""

    __tablename__ = "invoices"
    __table_args__ = (sa.UniqueConstraint("user_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=32, unique=True)  # MX-2026-12-000123, set on issue
    user_id: int = Field(foreign_key="users.id", index=True)
    month: datetime = Field(sa_type=UTCDateTime, nullable=False)  # the first instant of the month, UTC
    status: str = enum_field(InvoiceStatus, default=InvoiceStatus.DRAFT, index=True)
    total_usd: Decimal = decimal_field(MONEY, Decimal("0"), nullable=False)
    issued_at: datetime | None = ts_field()
    due_at: datetime | None = ts_field(index=True)
    paid_at: datetime | None = ts_field()
    closed_reason: str | None = Field(default=None, max_length=256)  # why voided or written off
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class InvoicePayment(SQLModel, table=True):
    """One attempt to pay an invoice with a user-signed Hyperliquid usdSend.

    The nonce (the action's `time`) is issued by the server with the typed data, so a signature binds to
    this invoice, this amount and this destination; a replay finds its nonce used.
    """

    __tablename__ = "invoice_payments"
    __table_args__ = (sa.UniqueConstraint("payer", "nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    status: str = enum_field(PaymentStatus, default=PaymentStatus.PREPARED, index=True)
    payer: str = Field(max_length=42)  # the invoice holder's address, lower case
    destination: str = Field(max_length=42)  # the platform's address, lower case
    amount: Decimal = decimal_field(MONEY, nullable=False)
    nonce: int = Field(sa_type=sa.BigInteger, nullable=False)
    hyperliquid_chain: str = Field(max_length=8)  # Mainnet or Testnet
    tx_hash: str | None = Field(default=None, max_length=80)
    reason: str | None = Field(default=None, max_length=500)  # the venue's refusal, or why it expired
    created_at: datetime = created_at_field()
    submitted_at: datetime | None = ts_field()
    confirmed_at: datetime | None = ts_field()


class Payout(SQLModel, table=True):
    """Money the platform sent to a creator or for a signal source, recorded by an operator."""

    __tablename__ = "payouts"

    id: int | None = Field(default=None, primary_key=True)
    beneficiary: str = enum_field(Beneficiary)  # CREATOR or SOURCES
    beneficiary_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    ct_account_id: int | None = Field(default=None, foreign_key="ct_accounts.id", index=True)
    amount: Decimal = decimal_field(MONEY, nullable=False)
    tx_hash: str = Field(max_length=80, unique=True)
    note: str = Field(default="", max_length=256)
    recorded_by_user_id: int = Field(foreign_key="users.id")
    created_at: datetime = created_at_field()
