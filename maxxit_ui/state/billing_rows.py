"""Rows of the Billing pages, formatted once on the server from backend.billing.schemas.

Amounts are USDC with cents ("20.00 USDC"); shares are percent only here, where they are drawn.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from backend.billing.schemas import InvoiceOut, InvoiceSummary, LineOut, PaymentOut, SubscriptionOut
from backend.config import Settings
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from maxxit_ui.components import format as fmt
from maxxit_ui.components.billing_format import share, usdc

PAPER_IS_FREE = "Paper trading is free: no fees, no subscription."
BILLING_ROUTE = "/billing"

SUBSCRIPTION_BADGES: dict[str, tuple[str, str]] = {
    SubscriptionStatus.TRIALING: ("Trial", "blue"),
    SubscriptionStatus.ACTIVE: ("Active", "green"),
    SubscriptionStatus.PAST_DUE: ("Past due", "amber"),
    SubscriptionStatus.SUSPENDED: ("Suspended", "red"),
    SubscriptionStatus.CANCELED: ("Canceled", "gray"),
}
INVOICE_BADGES: dict[str, tuple[str, str]] = {
    InvoiceStatus.DRAFT: ("Draft", "gray"),
    InvoiceStatus.OPEN: ("Open", "blue"),
    InvoiceStatus.PAID: ("Paid", "green"),
    InvoiceStatus.VOID: ("Void", "gray"),
    InvoiceStatus.UNCOLLECTIBLE: ("Uncollectible", "red"),
}
PAYMENT_BADGES: dict[str, tuple[str, str]] = {
    PaymentStatus.PREPARED: ("Awaiting signature", "gray"),
    PaymentStatus.SUBMITTED: ("Submitted", "amber"),
    PaymentStatus.CONFIRMED: ("Confirmed", "green"),
    PaymentStatus.REJECTED: ("Refused", "red"),
    PaymentStatus.EXPIRED: ("Expired", "gray"),
}
LINE_STATUS: dict[str, str] = {
    BillingStatus.PENDING: "Running",
    BillingStatus.INVOICED: "Invoiced",
    BillingStatus.PAID: "Paid",
    BillingStatus.COLLECTED: "Collected by the venue",
    BillingStatus.WAIVED: "Waived",
    BillingStatus.UNCOLLECTIBLE: "Written off",
}
KIND_LABELS: dict[str, str] = {
    BillingKind.TRADE_FEE: "Trade fee",
    BillingKind.PROFIT_SHARE: "Profit share",
    BillingKind.SUBSCRIPTION: "Subscription",
}
BENEFICIARY_NOTES: dict[str, str] = {
    Beneficiary.CREATOR: "to the agent's creator",
    Beneficiary.SOURCES: "to the signal's sources",
}


PAYMENTS_OFF = (
    "Payments from the wallet are not configured on this server yet, so this invoice cannot be paid here."
)
SUBMITTED = "Payment submitted: waiting for Hyperliquid to confirm it."
CONFIRMED = "Payment confirmed: the invoice is paid."


class SubscriptionRow(TypedDict):
    id: str
    agent_name: str
    deployment: str
    venue: str
    status: str
    status_color: str
    period: str  # "Trial until 2027-01-05", "2026-12-01 to 2027-01-01", "Canceled 2026-12-04"
    ending: str  # "Ends at period end (2027-01-01)" when canceled at period end, else ""
    price: str  # "20.00 USDC / month"
    can_cancel: bool


class LineRow(TypedDict):
    id: str
    date: str
    kind: str
    description: str
    market: str  # "ETH · Hyper Momentum", or the agent alone
    amount: str
    status: str
    collected: bool  # taken by the venue as a builder fee: never invoiced
    excluded: bool  # collected or waived: not part of what is owed


class InvoiceRow(TypedDict):
    id: str
    href: str
    number: str
    month: str
    status: str
    status_color: str
    total: str
    due: str
    overdue: bool


class PaymentRow(TypedDict):
    id: str
    status: str
    status_color: str
    amount: str
    created: str
    tx_hash: str
    reason: str


def month_name(month: str) -> str:
    """ "2026-12" as "December 2026" (the value itself when it is not a month)."""
    try:
        return datetime.strptime(month, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return month


def invoice_href(invoice_id: int) -> str:
    return f"{BILLING_ROUTE}/invoices/{invoice_id}"


def _badge(table: dict[str, tuple[str, str]], status: str) -> tuple[str, str]:
    return table.get(status, (fmt.label(status), "gray"))


def _period(sub: SubscriptionOut) -> str:
    if sub.status == SubscriptionStatus.CANCELED:
        return f"Canceled {fmt.day(sub.canceled_at)}" if sub.canceled_at else "Canceled"
    if sub.status == SubscriptionStatus.TRIALING or sub.current_period_start is None:
        return f"Trial until {fmt.day(sub.trial_ends_at)}"
    return f"{fmt.day(sub.current_period_start)} to {fmt.day(sub.current_period_end)}"


def subscription_row(sub: SubscriptionOut) -> SubscriptionRow:
    status, color = _badge(SUBSCRIPTION_BADGES, sub.status)
    canceled = sub.status == SubscriptionStatus.CANCELED
    ends = sub.current_period_end or sub.trial_ends_at
    return SubscriptionRow(
        id=str(sub.id),
        agent_name=sub.agent_name,
        deployment=f"#{sub.deployment_id}",
        venue=fmt.venue_label(sub.venue),
        status=status,
        status_color=color,
        period=_period(sub),
        ending=f"Ends at period end ({fmt.day(ends)})" if sub.cancel_at_period_end and not canceled else "",
        price=f"{usdc(sub.price_usd)} / month",
        can_cancel=not canceled and not sub.cancel_at_period_end,
    )


def _kind(line: LineOut) -> str:
    kind = KIND_LABELS.get(line.kind, fmt.label(line.kind))
    note = BENEFICIARY_NOTES.get(line.beneficiary)
    return f"{kind} ({note})" if note else kind


def _market(line: LineOut) -> str:
    parts = [p for p in (line.market, line.agent_name) if p]
    return " · ".join(parts) if parts else "—"


def line_row(line: LineOut) -> LineRow:
    collected = line.collected_at_source or line.status == BillingStatus.COLLECTED
    description = line.description or _kind(line)
    if line.kind == BillingKind.SUBSCRIPTION and line.period_start is not None:
        description = f"{description} ({fmt.day(line.period_start)} to {fmt.day(line.period_end)})"
    return LineRow(
        id=str(line.id),
        date=fmt.day(line.created_at),
        kind=_kind(line),
        description=description,
        market=_market(line),
        amount=usdc(line.amount),
        status=LINE_STATUS.get(line.status, fmt.label(line.status)),
        collected=collected,
        excluded=collected or line.status == BillingStatus.WAIVED,
    )


def invoice_row(invoice: InvoiceSummary) -> InvoiceRow:
    status, color = _badge(INVOICE_BADGES, invoice.status)
    return InvoiceRow(
        id=str(invoice.id),
        href=invoice_href(invoice.id),
        number=invoice.number or "Draft",
        month=month_name(invoice.month),
        status=status,
        status_color=color,
        total=usdc(invoice.total_usd),
        due=fmt.day(invoice.due_at),
        overdue=invoice.overdue,
    )


def payment_row(payment: PaymentOut) -> PaymentRow:
    status, color = _badge(PAYMENT_BADGES, payment.status)
    return PaymentRow(
        id=str(payment.id),
        status=status,
        status_color=color,
        amount=usdc(payment.amount),
        created=fmt.timestamp(payment.created_at),
        tx_hash=payment.tx_hash or "",
        reason=payment.reason or "",
    )


def pay_unavailable(invoice: InvoiceOut, platform_address: str | None) -> str:
    """Why an open invoice cannot be paid here ("" when it can, or when Pay is not offered at all)."""
    if invoice.status != InvoiceStatus.OPEN or invoice.payable or platform_address:
        return ""
    return PAYMENTS_OFF


def payment_feedback(payment: PaymentOut) -> tuple[str, str]:
    """(message, error) beside the Pay button for the payment just submitted."""
    if payment.status == PaymentStatus.CONFIRMED:
        return CONFIRMED, ""
    if payment.status == PaymentStatus.SUBMITTED:
        return SUBMITTED, ""
    reason = (payment.reason or "Hyperliquid refused the payment").rstrip(".")
    return "", f"Payment refused: {reason}."


def pricing_notes(settings: Settings) -> list[str]:
    """The model in a few sentences, from the configured amounts (the empty page explains it)."""
    fee = usdc(settings.trade_fee_usd)
    builder = settings.builder_fee_tenths_bps
    per_trade = f"{fee} per executed trade"
    if builder:
        rate = share(Decimal(builder) / Decimal(100_000))
        per_trade += f", or a Hyperliquid builder fee of {rate} of the order that the venue collects instead"
    creator, sources = settings.creator_share_pct, settings.sources_share_pct
    return [
        PAPER_IS_FREE,
        f"Live trading costs {per_trade}.",
        f"Profitable closes share {share(creator + sources)} of the profit after fees: "
        f"{share(creator)} to the agent's creator and {share(sources)} to the signal's sources.",
        f"Each live deployment is free for {settings.trial_days} days, "
        f"then {usdc(settings.subscription_usd)} a month.",
        "Charges gather into one invoice a month, which you pay from your own wallet: the platform never "
        "holds your funds, and an agent wallet can trade but never move them.",
    ]
