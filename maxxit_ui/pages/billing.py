"""Billing `/billing`: subscriptions, this month's charges, invoices (each one's page is pages/invoice.py)."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    page_heading,
    section_title,
)
from maxxit_ui.components.sandbox import sandbox_faucet
from maxxit_ui.components.tables import data_table, figure, stat_tile
from maxxit_ui.state.billing import BillingState
from maxxit_ui.state.billing_rows import BILLING_ROUTE, InvoiceRow, LineRow, SubscriptionRow

ROUTE = BILLING_ROUTE
# Few columns, details beneath: the tables fit a 390 px phone and still read well on a desktop.
SUBSCRIPTION_COLUMNS = ("Agent", "Status", "")
LINE_COLUMNS = ("Charge", "Amount")
INVOICE_COLUMNS = ("Invoice", "Total")
NO_PRINT = {"@media print": {"display": "none !important"}}
# Printed on paper: no header, no buttons, dark text on white whatever the screen's theme.
B = BillingState


def scroll(*children: rx.Component) -> rx.Component:
    """A table in a card that scrolls sideways on a phone rather than squeezing its columns."""
    return card(*children, overflow_x="auto")


# -- /billing -------------------------------------------------------------------------------------------


def _subscription_row(row: SubscriptionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["agent_name"], weight="medium", size="2"),
                rx.text(row["deployment"], " · ", row["venue"], size="1", color_scheme="gray"),
                rx.text(row["price"], size="1", color_scheme="gray", id="sub-price-" + row["id"]),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    row["status"],
                    color_scheme=row["status_color"],
                    variant="soft",
                    id="sub-status-" + row["id"],
                ),
                rx.text(row["period"], size="1", color_scheme="gray", id="sub-period-" + row["id"]),
                rx.cond(
                    row["ending"] != "",
                    rx.text(row["ending"], size="1", color_scheme="amber", id="sub-ending-" + row["id"]),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.cond(
                row["can_cancel"],
                rx.button(
                    "Cancel",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    disabled=B.canceling,
                    on_click=B.ask("cancel", row["id"], row["agent_name"]),
                    id="cancel-sub-" + row["id"],
                ),
            ),
            justify="end",
        ),
        id="subscription-" + row["id"],
        class_name="subscription-row",
    )


def _collected_marker(row: LineRow) -> rx.Component:
    return rx.cond(
        row["collected"],
        rx.badge(
            "collected by the venue",
            color_scheme="teal",
            variant="soft",
            size="1",
            id="collected-" + row["id"],
        ),
        rx.cond(
            row["excluded"],
            rx.badge(row["status"], color_scheme="gray", variant="soft", size="1"),
        ),
    )


def line_row(row: LineRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["description"], size="2"),
                rx.text(row["date"], " · ", row["kind"], " · ", row["market"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["amount"], rx.cond(row["excluded"], "muted", "neutral"), size="2"),
                _collected_marker(row),
                spacing="1",
                align="end",
            ),
            justify="end",
        ),
        id="line-" + row["id"],
        class_name="line-row",
    )


def _invoice_row(row: InvoiceRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(
                    row["number"],
                    href=row["href"],
                    weight="medium",
                    size="2",
                    white_space="nowrap",
                    id="invoice-link-" + row["id"],
                ),
                rx.hstack(
                    rx.text(row["month"], size="1", color_scheme="gray", white_space="nowrap"),
                    rx.badge(row["status"], color_scheme=row["status_color"], variant="soft", size="1"),
                    rx.cond(
                        row["overdue"], rx.badge("overdue", color_scheme="red", variant="solid", size="1")
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["total"], size="2"),
                rx.cond(
                    row["due"] != "—",
                    rx.text(
                        "due ",
                        row["due"],
                        size="1",
                        white_space="nowrap",
                        color_scheme=rx.cond(row["overdue"], "red", "gray"),
                    ),
                ),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        id="invoice-row-" + row["id"],
        class_name="invoice-row",
    )


def _model_notes(element_id: str) -> rx.Component:
    return rx.list.unordered(
        rx.foreach(B.notes, lambda note: rx.list.item(rx.text(note, size="2"))),
        id=element_id,
        margin_y="0",
    )


def _empty() -> rx.Component:
    return card(
        rx.vstack(
            rx.text("Nothing to pay: you have no live deployments and no charges yet.", weight="medium"),
            _model_notes("billing-model"),
            rx.link(
                rx.button("Find an agent in the marketplace"), href="/marketplace", id="billing-marketplace"
            ),
            spacing="4",
            padding="8px",
        ),
        id="billing-empty",
    )


def _totals() -> rx.Component:
    return rx.grid(
        stat_tile(B.current_label, B.current_total, element_id="billing-current-total"),
        stat_tile(
            "Outstanding",
            B.outstanding,
            element_id="billing-outstanding",
            tone=rx.cond(B.has_outstanding, "negative", "neutral"),
        ),
        stat_tile("Collected by the venue", B.collected_total, element_id="billing-collected"),
        columns=rx.breakpoints(initial="1", sm="3"),
        spacing="3",
        width="100%",
    )


def _subscriptions() -> rx.Component:
    return rx.vstack(
        section_title("Subscriptions"),
        rx.cond(
            B.subscriptions.length() > 0,
            scroll(
                data_table(
                    SUBSCRIPTION_COLUMNS,
                    B.subscriptions,
                    _subscription_row,
                    element_id="subscriptions-table",
                    variant="ghost",
                )
            ),
            card(
                empty_message("No live deployments, so no subscriptions.", element_id="subscriptions-empty")
            ),
        ),
        spacing="0",
        width="100%",
    )


def _running() -> rx.Component:
    return rx.vstack(
        section_title("This month's charges"),
        rx.cond(
            B.lines.length() > 0,
            scroll(
                data_table(
                    LINE_COLUMNS,
                    B.lines,
                    line_row,
                    element_id="lines-table",
                    align_right=("Amount",),
                    variant="ghost",
                ),
                rx.hstack(
                    rx.text("To be invoiced", size="2", color_scheme="gray"),
                    figure(B.current_total, size="3", weight="bold", id="lines-total"),
                    justify="end",
                    align="center",
                    spacing="3",
                    padding_top="12px",
                ),
            ),
            card(empty_message("No charges this month.", element_id="lines-empty")),
        ),
        spacing="0",
        width="100%",
    )


def _invoices() -> rx.Component:
    return rx.vstack(
        section_title("Invoices"),
        rx.cond(
            B.invoices.length() > 0,
            scroll(
                data_table(
                    INVOICE_COLUMNS,
                    B.invoices,
                    _invoice_row,
                    element_id="invoices-table",
                    align_right=("Total",),
                    variant="ghost",
                )
            ),
            card(empty_message("No invoices yet.", element_id="invoices-empty")),
        ),
        spacing="0",
        width="100%",
    )


def _overview() -> rx.Component:
    return rx.cond(
        B.is_empty,
        _empty(),
        rx.vstack(
            _totals(),
            _subscriptions(),
            _running(),
            _invoices(),
            card(section_title("How billing works"), _model_notes("billing-notes")),
            spacing="6",
            width="100%",
        ),
    )


def _cancel_dialog() -> rx.Component:
    return confirm_dialog(
        title=["Cancel the subscription for “", B.confirm_label, "”?"],
        description=(
            "During the trial it ends now and nothing is charged. After the trial it runs to the end of the "
            "period already billed, then ends. Cancel the deployment itself on My deployments."
        ),
        keep_label="Keep it",
        confirm_label="Cancel subscription",
        on_confirm=B.confirm_cancel,
        is_open=B.confirming("cancel"),
        on_open_change=B.confirm_open_change,
        element_id="cancel-sub",
        loading=B.canceling,
    )


def _sandbox_tools() -> rx.Component:
    """In the demo's sandbox only: fund the sandbox account, and invoice this month now to try paying."""
    return rx.box(
        sandbox_faucet(),
        rx.cond(
            B.sandbox,
            rx.button(
                rx.cond(B.issuing, rx.spinner(size="2"), rx.icon("file_text", size=16)),
                "Issue this month's invoice now (sandbox)",
                on_click=B.issue_now,
                disabled=B.issuing,
                variant="outline",
                margin_top="0.5rem",
                id="sandbox-issue-invoice",
            ),
        ),
        width="100%",
        style=NO_PRINT,
    )


def billing() -> rx.Component:
    return page(
        page_heading(
            "Billing",
            "Your subscriptions, this month's charges and your invoices, paid from your own wallet.",
            element_id="billing-heading",
        ),
        _sandbox_tools(),
        rx.match(
            B.status,
            ("ready", _overview()),
            ("error", error_callout(B.error)),
            loading_message("Loading your billing…"),
        ),
        _cancel_dialog(),
    )
