"""Billing `/billing`, and a printable invoice `/billing/invoices/[invoice_id]` with Export CSV and Pay."""

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
from maxxit_ui.components.tables import data_table, figure, stat_tile, table_or_empty
from maxxit_ui.state.billing import BillingState, InvoiceState
from maxxit_ui.state.billing_rows import BILLING_ROUTE, InvoiceRow, LineRow, PaymentRow, SubscriptionRow

ROUTE = BILLING_ROUTE
INVOICE_ROUTE = f"{BILLING_ROUTE}/invoices/[invoice_id]"
POLL_MS = 4000
# Few columns, details beneath: the tables fit a 390 px phone and still read well on a desktop.
SUBSCRIPTION_COLUMNS = ("Agent", "Status", "")
LINE_COLUMNS = ("Charge", "Amount")
INVOICE_COLUMNS = ("Invoice", "Total")
PAYMENT_COLUMNS = ("Payment", "Status")
NO_PRINT = {"@media print": {"display": "none !important"}}
# Printed on paper: no header, no buttons, dark text on white whatever the screen's theme.
PRINT_CSS = """
@media print {
  @page { margin: 14mm; }
  html, body, .radix-themes, body div { background: #fff !important; }
  .site-header, #demo-banner { display: none !important; }
  /* A card paints its background in ::before, beneath the children, and its border in ::after, above. */
  #invoice-document::before { background: #fff !important; }
  #invoice-document::after { box-shadow: inset 0 0 0 1px #bbb !important; }
  #invoice-document * { color: #111 !important; }
  #invoice-document .rt-Badge { background: none !important; box-shadow: inset 0 0 0 1px #999 !important; }
  #invoice-document .rt-TableCell, #invoice-document .rt-TableColumnHeaderCell {
    box-shadow: inset 0 -1px #ccc !important;
  }
}
"""

B = BillingState
I = InvoiceState  # noqa: E741


def _scroll(*children: rx.Component) -> rx.Component:
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
                    on_click=B.ask_cancel(row["id"], row["agent_name"]),
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


def _line_row(row: LineRow) -> rx.Component:
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
            _scroll(
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
            _scroll(
                data_table(
                    LINE_COLUMNS,
                    B.lines,
                    _line_row,
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
            _scroll(
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
        title=["Cancel the subscription for “", B.confirm_name, "”?"],
        description=(
            "During the trial it ends now and nothing is charged. After the trial it runs to the end of the "
            "period already billed, then ends. Cancel the deployment itself on My deployments."
        ),
        keep_label="Keep it",
        confirm_label="Cancel subscription",
        on_confirm=B.confirm_cancel,
        is_open=B.confirm_id != "",
        on_open_change=B.dialog_open_change,
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


# -- /billing/invoices/[invoice_id] ---------------------------------------------------------------------


def _fact(name: str, value: rx.Var, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(name, size="1", color_scheme="gray", weight="medium", text_transform="uppercase"),
        rx.text(value, size="2", id=element_id),
        spacing="0",
    )


def _payment_row(row: PaymentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["created"], size="2", white_space="nowrap"),
                rx.cond(
                    row["tx_hash"] != "",
                    rx.text(
                        row["tx_hash"],
                        size="1",
                        color_scheme="gray",
                        font_family="monospace",
                        word_break="break-all",
                    ),
                ),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(row["status"], color_scheme=row["status_color"], variant="soft"),
                figure(row["amount"], size="2"),
                rx.cond(row["reason"] != "", rx.text(row["reason"], size="1", color_scheme="red")),
                spacing="1",
                align="end",
            ),
            justify="end",
        ),
        id="payment-" + row["id"],
        class_name="payment-row",
    )


def _pay() -> rx.Component:
    busy = I.pay_busy != ""
    button = rx.button(
        rx.cond(busy, rx.spinner(size="2"), rx.icon("wallet", size=16)),
        I.pay_label,
        on_click=I.pay,
        disabled=busy | ~I.payable,
        color_scheme="jade",
        id="invoice-pay",
    )
    return rx.cond(
        I.can_pay_status,
        rx.vstack(
            rx.cond(I.unavailable == "", button),
            rx.cond(
                I.unavailable != "",
                rx.callout(
                    I.unavailable, icon="info", color_scheme="gray", size="1", id="invoice-pay-unavailable"
                ),
            ),
            spacing="2",
        ),
    )


def _pay_feedback() -> rx.Component:
    return rx.fragment(
        rx.cond(
            I.pay_message != "",
            rx.text(I.pay_message, size="2", color_scheme="green", id="invoice-pay-message", role="status"),
        ),
        rx.cond(
            I.pay_error != "",
            rx.text(I.pay_error, size="2", color_scheme="red", id="invoice-pay-error", role="alert"),
        ),
        rx.cond(
            I.awaiting & (I.pay_message == ""),
            rx.text(
                "A payment awaits Hyperliquid's confirmation.",
                size="2",
                color_scheme="amber",
                id="invoice-awaiting",
            ),
        ),
    )


def _actions() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _pay(),
            rx.button(
                rx.icon("printer", size=16),
                "Print",
                variant="soft",
                color_scheme="gray",
                on_click=rx.call_script("window.print()"),
                id="invoice-print",
            ),
            rx.button(
                rx.icon("download", size=16),
                "Export CSV",
                variant="soft",
                color_scheme="gray",
                on_click=I.export_csv,
                id="invoice-csv",
            ),
            spacing="3",
            wrap="wrap",
            align="start",
        ),
        _pay_feedback(),
        spacing="2",
        width="100%",
        style=NO_PRINT,
    )


def _document() -> rx.Component:
    return card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text("Maxxit", weight="bold", size="4"),
                    rx.text("Invoice", size="2", color_scheme="gray"),
                    spacing="0",
                ),
                rx.vstack(
                    rx.heading(I.number, size="5", id="invoice-number"),
                    rx.hstack(
                        rx.badge(
                            I.invoice_status,
                            color_scheme=I.status_color,
                            variant="soft",
                            size="2",
                            id="invoice-status",
                        ),
                        rx.cond(
                            I.overdue,
                            rx.badge("overdue", color_scheme="red", variant="solid", id="invoice-overdue"),
                        ),
                        spacing="1",
                    ),
                    spacing="1",
                    align="end",
                ),
                justify="between",
                align="start",
                width="100%",
                wrap="wrap",
            ),
            rx.grid(
                _fact("Month", I.month, "invoice-month"),
                _fact("Issued", I.issued, "invoice-issued"),
                _fact("Due", I.due, "invoice-due"),
                rx.cond(I.paid != "", _fact("Paid", I.paid, "invoice-paid")),
                columns=rx.breakpoints(initial="2", sm="4"),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.text(
                    "Bill to", size="1", color_scheme="gray", weight="medium", text_transform="uppercase"
                ),
                rx.text(
                    I.bill_to, size="2", font_family="monospace", word_break="break-all", id="invoice-bill-to"
                ),
                spacing="0",
            ),
            rx.box(
                table_or_empty(
                    LINE_COLUMNS,
                    I.lines,
                    _line_row,
                    element_id="invoice-lines",
                    align_right=("Amount",),
                    empty="No lines on this invoice.",
                    empty_id="invoice-lines-empty",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.hstack(
                rx.text("Total", size="3", weight="medium"),
                figure(I.total, size="5", weight="bold", id="invoice-total"),
                justify="end",
                align="center",
                spacing="4",
                width="100%",
            ),
            rx.cond(
                I.closed_reason != "",
                rx.text(
                    "Closed: ", I.closed_reason, size="2", color_scheme="gray", id="invoice-closed-reason"
                ),
            ),
            rx.text(
                "Amounts in USDC. Lines collected by the venue (Hyperliquid builder fees) are shown for the "
                "record and are not part of the total.",
                size="1",
                color_scheme="gray",
            ),
            spacing="5",
            width="100%",
        ),
        id="invoice-document",
    )


def _payments() -> rx.Component:
    return rx.cond(
        I.payments.length() > 0,
        rx.vstack(
            section_title("Payments"),
            _scroll(
                data_table(
                    PAYMENT_COLUMNS,
                    I.payments,
                    _payment_row,
                    element_id="payments-table",
                    align_right=("Status",),
                    variant="ghost",
                )
            ),
            spacing="0",
            width="100%",
            style=NO_PRINT,
        ),
    )


def _invoice_ready() -> rx.Component:
    return rx.vstack(
        _actions(),
        _document(),
        _payments(),
        # While a payment awaits confirmation, the page re-reads the invoice.
        rx.cond(
            I.awaiting,
            rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=I.poll), display="none"),
        ),
        spacing="5",
        width="100%",
    )


def invoice() -> rx.Component:
    return page(
        rx.el.style(PRINT_CSS),
        rx.link(
            rx.hstack(rx.icon("arrow_left", size=14), rx.text("Billing"), align="center", spacing="1"),
            href=ROUTE,
            size="2",
            id="invoice-back",
            style=NO_PRINT,
        ),
        rx.box(sandbox_faucet(), width="100%", style=NO_PRINT),
        rx.match(
            I.status,
            ("ready", _invoice_ready()),
            ("not_found", card(empty_message("No such invoice.", element_id="invoice-not-found"))),
            ("error", error_callout(I.error)),
            loading_message("Loading the invoice…"),
        ),
    )
