"""The printable invoice page: number, dates, lines and total; Print, Export CSV and Pay from the wallet."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    section_title,
)
from maxxit_ui.components.sandbox import sandbox_faucet
from maxxit_ui.components.tables import data_table, figure, table_or_empty
from maxxit_ui.pages.billing import LINE_COLUMNS, NO_PRINT, ROUTE, line_row, scroll
from maxxit_ui.state.billing import InvoiceState
from maxxit_ui.state.billing_rows import PaymentRow

INVOICE_ROUTE = f"{ROUTE}/invoices/[invoice_id]"
POLL_MS = 4000  # while a payment awaits confirmation, the page re-reads the invoice this often
PAYMENT_COLUMNS = ("Payment", "Status")
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

I = InvoiceState  # noqa: E741


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
                    line_row,
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
            scroll(
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
