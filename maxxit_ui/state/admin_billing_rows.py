"""The operators' Billing page's rows: the views' Decimal figures as display strings, once, on the server."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict

from backend.billing.schemas import (
    CreatorBalanceRow,
    InvoiceOut,
    InvoiceSummary,
    LineOut,
    RevenueRow,
    SourcePoolRow,
)
from backend.models.enums import BillingStatus, InvoiceStatus, SubscriptionStatus
from maxxit_ui.components import billing_format as bf
from maxxit_ui.components import format as fmt

WAIVABLE = (BillingStatus.PENDING, BillingStatus.INVOICED)
VOIDABLE = (InvoiceStatus.DRAFT, InvoiceStatus.OPEN)


class CountDisplay(TypedDict):
    key: str
    label: str
    count: str
    color: str


class RevenueDisplay(TypedDict):
    id: str
    month: str
    kind: str
    beneficiary: str
    invoiced: str
    paid: str


class InvoiceDisplay(TypedDict):
    id: str
    number: str
    user: str
    user_short: str
    month: str
    total: str
    issued: str
    due: str
    status: str
    status_color: str
    overdue: bool


class LineDisplay(TypedDict):
    id: str
    kind: str
    status: str
    status_color: str
    beneficiary: str
    description: str
    amount: str
    waivable: bool


class BalanceDisplay(TypedDict):
    """What a creator or a CT account accrued, the platform collected and paid out, and still owes."""

    accrued: str
    collected: str
    paid_out: str
    owed: str
    owed_raw: str  # the payout form's amount when "Pay out" prefills it
    owes: bool


class SourceDisplay(BalanceDisplay):
    id: str
    handle: str


class CreatorDisplay(BalanceDisplay):
    id: str
    address: str
    address_short: str


LINE_COLORS: dict[str, str] = {
    BillingStatus.PENDING: "gray",
    BillingStatus.INVOICED: "blue",
    BillingStatus.PAID: "green",
    BillingStatus.COLLECTED: "teal",
    BillingStatus.WAIVED: "gray",
    BillingStatus.UNCOLLECTIBLE: "red",
}


def counts(
    by_key: Mapping[str, int], order: tuple[str, ...], colors: Mapping[str, str]
) -> list[CountDisplay]:
    """Every known state in its lifecycle order, zeros included, so the list never jumps around."""
    keys = [*order, *sorted(k for k in by_key if k not in order)]
    return [
        CountDisplay(
            key=k, label=fmt.label(k), count=fmt.count(by_key.get(k, 0)), color=colors.get(k, "gray")
        )
        for k in keys
    ]


def invoice_counts(by_status: Mapping[str, int]) -> list[CountDisplay]:
    return counts(by_status, tuple(InvoiceStatus), bf.INVOICE_COLORS)


def subscription_counts(by_state: Mapping[str, int]) -> list[CountDisplay]:
    return counts(by_state, tuple(SubscriptionStatus), bf.SUBSCRIPTION_COLORS)


def revenue_row(row: RevenueRow) -> RevenueDisplay:
    return RevenueDisplay(
        id=f"{row.month}-{row.kind}-{row.beneficiary}",
        month=bf.month(row.month),
        kind=bf.KIND_LABELS.get(row.kind, fmt.label(row.kind)),
        beneficiary=fmt.label(row.beneficiary),
        invoiced=bf.usdc(row.invoiced_usd),
        paid=bf.usdc(row.paid_usd),
    )


def invoice_row(invoice: InvoiceSummary) -> InvoiceDisplay:
    return InvoiceDisplay(
        id=str(invoice.id),
        number=invoice.number or f"Draft #{invoice.id}",
        user=invoice.user_address,
        user_short=fmt.short_address(invoice.user_address),
        month=bf.month(invoice.month),
        total=bf.usdc(invoice.total_usd),
        issued=fmt.day(invoice.issued_at),
        due=fmt.day(invoice.due_at),
        status=fmt.label(invoice.status),
        status_color=bf.INVOICE_COLORS.get(invoice.status, "gray"),
        overdue=invoice.overdue,
    )


def line_row(line: LineOut) -> LineDisplay:
    what = line.description or bf.KIND_LABELS.get(line.kind, fmt.label(line.kind))
    context = " · ".join(x for x in (line.agent_name, line.market) if x)
    return LineDisplay(
        id=str(line.id),
        kind=bf.KIND_LABELS.get(line.kind, fmt.label(line.kind)),
        status=fmt.label(line.status),
        status_color=LINE_COLORS.get(line.status, "gray"),
        beneficiary=fmt.label(line.beneficiary),
        description=f"{what} ({context})" if context else what,
        amount=bf.usdc(line.amount),
        waivable=line.status in WAIVABLE,
    )


def invoice_actions(invoice: InvoiceOut) -> tuple[bool, bool]:
    """(can be voided, can be written off): void a draft or open invoice, write off an open one."""
    return invoice.status in VOIDABLE, invoice.status == InvoiceStatus.OPEN


def source_row(row: SourcePoolRow) -> SourceDisplay:
    return SourceDisplay(id=str(row.ct_account_id), handle=f"@{row.handle}", **_balance(row))


def creator_row(row: CreatorBalanceRow) -> CreatorDisplay:
    return CreatorDisplay(
        id=str(row.user_id),
        address=row.address,
        address_short=fmt.short_address(row.address),
        **_balance(row),
    )


def _balance(row: SourcePoolRow | CreatorBalanceRow) -> BalanceDisplay:
    return BalanceDisplay(
        accrued=bf.usdc(row.accrued_usd),
        collected=bf.usdc(row.collected_usd),
        paid_out=bf.usdc(row.paid_out_usd),
        owed=bf.usdc(row.owed_usd),
        owed_raw=f"{max(row.owed_usd, Decimal(0)).normalize():f}",
        owes=row.owed_usd > 0,
    )
