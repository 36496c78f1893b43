"""Billing figures as the billing pages (the trader's Billing, Earnings, the operators' Billing) draw them:
USDC with cents, months in words, shares as percent (fractions everywhere else), and the revenue chart
(invoiced beside paid, stacked by kind).

Floats appear only in the chart; every string is formatted from the Decimal the views return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import plotly.graph_objects as go

from backend.billing.schemas import RevenueRow
from backend.models.enums import BillingKind, InvoiceStatus, SubscriptionStatus
from maxxit_ui.components.charts import GRID, TEXT

CENT = Decimal("0.01")
KIND_LABELS: dict[str, str] = {
    BillingKind.SUBSCRIPTION: "Subscriptions",
    BillingKind.TRADE_FEE: "Trade fees",
    BillingKind.PROFIT_SHARE: "Profit shares",
}
KIND_COLORS: dict[str, str] = {
    BillingKind.SUBSCRIPTION: "#3e63dd",  # Radix indigo 9
    BillingKind.TRADE_FEE: "#29a383",  # jade 9, the accent
    BillingKind.PROFIT_SHARE: "#ffc53d",  # amber 9
}
MEASURES = ("Invoiced", "Paid")
INVOICE_COLORS: dict[str, str] = {
    InvoiceStatus.DRAFT: "gray",
    InvoiceStatus.OPEN: "blue",
    InvoiceStatus.PAID: "green",
    InvoiceStatus.VOID: "gray",
    InvoiceStatus.UNCOLLECTIBLE: "red",
}
SUBSCRIPTION_COLORS: dict[str, str] = {
    SubscriptionStatus.TRIALING: "blue",
    SubscriptionStatus.ACTIVE: "green",
    SubscriptionStatus.PAST_DUE: "amber",
    SubscriptionStatus.SUSPENDED: "red",
    SubscriptionStatus.CANCELED: "gray",
}


def usdc(value: Decimal | None) -> str:
    """An amount in USDC to the cent, half up ("1,234.57 USDC"); "—" when there is none."""
    if value is None:
        return "—"
    cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{'-' if cents < 0 else ''}{abs(cents):,.2f} USDC"


def share(fraction: Decimal) -> str:
    """A share held as a fraction (0.10) as people read it ("10%", "12.5%")."""
    number = (fraction * 100).normalize()
    return f"{number:f}%"


def month(value: str) -> str:
    """ "2026-12" -> "Dec 2026"; anything else as it came."""
    try:
        return datetime.strptime(value, "%Y-%m").strftime("%b %Y")
    except ValueError:
        return value


def tx_short(tx_hash: str) -> str:
    """0x12345678…abcd: enough to recognise a transaction in a narrow column."""
    return tx_hash if len(tx_hash) <= 16 else f"{tx_hash[:10]}…{tx_hash[-4:]}"


def revenue_totals(rows: Sequence[RevenueRow]) -> tuple[list[str], dict[str, dict[str, list[Decimal]]]]:
    """(months oldest first, {kind: {"Invoiced": [..per month], "Paid": [..]}}), beneficiaries summed."""
    months = sorted({r.month for r in rows})
    index = {m: i for i, m in enumerate(months)}
    totals: dict[str, dict[str, list[Decimal]]] = {}
    for r in rows:
        kind = totals.setdefault(r.kind, {m: [Decimal(0)] * len(months) for m in MEASURES})
        kind["Invoiced"][index[r.month]] += r.invoiced_usd
        kind["Paid"][index[r.month]] += r.paid_usd
    return months, totals


def revenue_figure(rows: Sequence[RevenueRow]) -> go.Figure:
    """Revenue by month: for each month an "Invoiced" and a "Paid" bar, each stacked by kind (subscriptions,
    trade fees, profit shares), so what was billed and what came in stand side by side."""
    months, totals = revenue_totals(rows)
    x = [[month(m) for m in months for _ in MEASURES], [measure for _ in months for measure in MEASURES]]
    figure = go.Figure()
    for kind in (k for k in KIND_LABELS if k in totals):
        y = [float(totals[kind][measure][i]) for i in range(len(months)) for measure in MEASURES]
        figure.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=KIND_LABELS[kind],
                marker={"color": KIND_COLORS[kind], "line": {"width": 0}},
                hovertemplate="%{x}: %{y:,.2f} USDC<extra>" + KIND_LABELS[kind] + "</extra>",
            )
        )
    figure.update_layout(
        barmode="stack",
        height=340,
        margin={"l": 56, "r": 12, "t": 28, "b": 56},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 11},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        bargap=0.25,
        xaxis={"showgrid": False, "fixedrange": True},
        yaxis={
            "gridcolor": GRID,
            "zeroline": False,
            "fixedrange": True,
            "tickformat": ",.2f",
            "ticksuffix": "",
        },
        yaxis_title={"text": "USDC"},
    )
    return figure
