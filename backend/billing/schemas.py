"""What billing shows and accepts: the shapes the REST API returns and the Reflex pages render.

Amounts are Decimal USDC (exact, serialised as strings); months are "YYYY-MM" (UTC); fractions stay fractions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)


class LineOut(BaseModel):
    id: int
    kind: BillingKind
    status: BillingStatus
    beneficiary: Beneficiary
    amount: Decimal
    description: str
    created_at: datetime
    deployment_id: int | None
    agent_name: str | None  # the deployment's agent
    position_id: int | None
    market: str | None  # the position's
    subscription_id: int | None
    period_start: datetime | None
    period_end: datetime | None
    invoice_id: int | None
    collected_at_source: bool  # status COLLECTED: the venue took it, it is never invoiced


class SubscriptionOut(BaseModel):
    id: int
    deployment_id: int
    agent_name: str
    venue: str
    status: SubscriptionStatus
    trial_ends_at: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    past_due_since: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    price_usd: Decimal  # per month after the trial


class PaymentOut(BaseModel):
    id: int
    status: PaymentStatus
    amount: Decimal
    destination: str
    nonce: int
    tx_hash: str | None
    reason: str | None
    created_at: datetime
    submitted_at: datetime | None
    confirmed_at: datetime | None


class InvoiceSummary(BaseModel):
    id: int
    number: str | None  # None while a draft
    month: str  # "2026-12"
    status: InvoiceStatus
    total_usd: Decimal
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    overdue: bool  # open and past its due date
    user_address: str  # the account holder (operators see many)


class InvoiceOut(InvoiceSummary):
    lines: list[LineOut]
    payments: list[PaymentOut]
    payable: bool  # open, unpaid, no payment awaiting confirmation, a platform address configured
    closed_reason: str | None


class BillingOverview(BaseModel):
    """A trader's Billing page: subscriptions, this month's running charges, invoices."""

    subscriptions: list[SubscriptionOut]
    current_month: str
    current_lines: list[LineOut]  # this month's lines not on an issued invoice
    current_total_usd: Decimal  # what those will invoice (collected and waived lines excluded)
    collected_at_source_usd: Decimal  # builder fees the venue took this month
    invoices: list[InvoiceSummary]  # newest first, drafts included
    outstanding_usd: Decimal  # open invoices' totals
    paper_is_free: bool = True


class EarningRow(BaseModel):
    agent_id: int
    agent_name: str
    month: str
    accrued_usd: Decimal  # profit-share lines for the creator, not waived or voided
    collected_usd: Decimal  # of those, on paid invoices


class PayoutOut(BaseModel):
    id: int
    beneficiary: Beneficiary
    beneficiary_user_id: int | None
    beneficiary_address: str | None
    ct_account_id: int | None
    ct_handle: str | None
    amount: Decimal
    tx_hash: str
    note: str
    created_at: datetime


class EarningsOut(BaseModel):
    """A creator's Earnings page."""

    rows: list[EarningRow]  # by agent and month, newest month first
    accrued_usd: Decimal
    collected_usd: Decimal
    paid_out_usd: Decimal
    pending_usd: Decimal  # collected and not yet paid out
    payouts: list[PayoutOut]


class PayoutIn(BaseModel):
    """An operator records money sent to a creator (`user_address`) or for a CT account (`ct_account_id`)."""

    model_config = ConfigDict(extra="forbid")

    beneficiary: Beneficiary = Field(description="CREATOR or SOURCES")
    user_address: str | None = Field(default=None, pattern="^0x[0-9a-fA-F]{40}$")
    ct_account_id: int | None = Field(default=None, gt=0)
    amount: Decimal = Field(gt=0, le=Decimal("100000000"), decimal_places=6)
    tx_hash: str = Field(pattern="^0x[0-9a-fA-F]{64}$")
    note: str = Field(default="", max_length=256)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=256)


class RevenueRow(BaseModel):
    month: str
    kind: BillingKind
    beneficiary: Beneficiary
    invoiced_usd: Decimal  # on issued invoices (open, paid)
    paid_usd: Decimal  # on paid invoices, plus collected at the source


class SourcePoolRow(BaseModel):
    ct_account_id: int
    handle: str
    accrued_usd: Decimal
    collected_usd: Decimal
    paid_out_usd: Decimal
    owed_usd: Decimal  # collected - paid out


class CreatorBalanceRow(BaseModel):
    user_id: int
    address: str
    accrued_usd: Decimal
    collected_usd: Decimal
    paid_out_usd: Decimal
    owed_usd: Decimal


class OperatorSummary(BaseModel):
    revenue: list[RevenueRow]  # by month and kind, oldest first (the chart's order)
    invoices_by_status: dict[str, int]
    overdue: list[InvoiceSummary]
    subscriptions_by_state: dict[str, int]
    sources_pool: list[SourcePoolRow]
    creators: list[CreatorBalanceRow]


class PaymentRequest(BaseModel):
    """What the browser's wallet signs to pay an invoice: a Hyperliquid usdSend as EIP-712 typed data."""

    payment_id: int
    invoice_id: int
    amount: Decimal
    destination: str
    action: dict[str, Any]
    typed_data: dict[str, Any]  # for eth_signTypedData_v4
    expires_at: datetime


class PaymentSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: int = Field(gt=0)
    signature: str = Field(pattern="^0x[0-9a-fA-F]{130}$")
    # The chain the wallet signed on (the typed data's domain.chainId, as given to prepare): part of what the
    # signature covers, so the server rebuilds the same action from the stored payment.
    chain_id: int = Field(default=42161, ge=1, le=4_503_599_627_370_476)
