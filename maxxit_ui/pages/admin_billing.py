"""Admin: billing `/admin/billing`: revenue (a stacked bar chart, invoiced beside paid), invoices by status,
overdue invoices, subscriptions by state, creators' balances and the sources pool; one invoice with its lines;
void, waive, write off (each with a reason) and record a payout."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventHandler

from maxxit_ui.components.forms import field_error
from maxxit_ui.components.layout import card, empty_message, phone_only, section_title
from maxxit_ui.components.tables import data_table, figure_cell, table_or_empty, text_cell
from maxxit_ui.pages.admin_common import admin_page
from maxxit_ui.state.admin_billing import NOTE_MAX, REASON_MAX, TX_HASH_MAX, AdminBillingState
from maxxit_ui.state.admin_billing_rows import (
    CountDisplay,
    CreatorDisplay,
    InvoiceDisplay,
    LineDisplay,
    RevenueDisplay,
    SourceDisplay,
)
from maxxit_ui.state.inputs import ADDRESS_TEXT_MAX, ID_TEXT_MAX, NUMBER_TEXT_MAX

ROUTE = "/admin/billing"
PLOT_CONFIG = {"displayModeBar": False, "responsive": True}
REVENUE_COLUMNS = ("Month", "Kind", "To", "Invoiced", "Paid")
OVERDUE_COLUMNS = ("Invoice", "Account", "Month", "Total", "Due", "")
LINE_COLUMNS = ("Line", "Kind", "What", "To", "Status", "Amount", "")
BALANCE_COLUMNS = ("Accrued", "Collected", "Paid out", "Owed")
CREATOR_COLUMNS = ("Creator", *BALANCE_COLUMNS, "")
SOURCE_COLUMNS = ("CT account", *BALANCE_COLUMNS, "")
# On a phone each table keeps who, the figure that matters and the button.
REVENUE_HIDDEN_ON_PHONES = {"Kind": "md", "To": "md"}  # said under the month instead
OVERDUE_HIDDEN_ON_PHONES = {"Account": "md", "Month": "md"}
LINE_HIDDEN_ON_PHONES = {"Kind": "md", "To": "md", "Status": "md"}
BALANCE_HIDDEN_ON_PHONES = {"Accrued": "md", "Collected": "md", "Paid out": "md"}

S = AdminBillingState


def _labelled(label: str, element_id: str, control: rx.Component, error: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=element_id),
        control,
        error,
        spacing="1",
        width="100%",
    )


# -- revenue and counts -------------------------------------------------------------------------------------


def _revenue_row(row: RevenueDisplay) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.text(row["month"], size="2", white_space="nowrap"),
            phone_only(rx.text(row["kind"], " · ", row["beneficiary"], size="1", color_scheme="gray")),
        ),
        text_cell(row["kind"]),
        text_cell(row["beneficiary"], color_scheme="gray"),
        figure_cell(row["invoiced"]),
        figure_cell(row["paid"]),
        class_name="revenue-row",
        id="revenue-" + row["id"],
    )


def _revenue() -> rx.Component:
    return card(
        section_title("Revenue by month"),
        rx.cond(
            S.revenue.length() > 0,
            rx.vstack(
                rx.text(
                    "For each month: invoiced (on issued invoices) beside paid (paid invoices and fees the "
                    "venue collected), stacked by kind.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.plotly(data=S.revenue_figure, config=PLOT_CONFIG, width="100%", id="revenue-chart"),
                rx.box(
                    data_table(
                        REVENUE_COLUMNS,
                        S.revenue,
                        _revenue_row,
                        element_id="revenue-table",
                        align_right=("Invoiced", "Paid"),
                        hide_below=REVENUE_HIDDEN_ON_PHONES,
                        variant="ghost",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                width="100%",
            ),
            empty_message("No revenue yet.", element_id="revenue-empty"),
        ),
    )


def _count(item: CountDisplay, prefix: str) -> rx.Component:
    return rx.hstack(
        rx.badge(item["label"], color_scheme=item["color"], variant="soft"),
        rx.text(item["count"], size="2", weight="medium", id=f"{prefix}-count-" + item["key"]),
        justify="between",
        width="100%",
    )


def _counts() -> rx.Component:
    return rx.grid(
        card(
            section_title("Invoices by status"),
            rx.vstack(rx.foreach(S.invoice_counts, lambda c: _count(c, "invoices")), spacing="2"),
        ),
        card(
            section_title("Subscriptions by state"),
            rx.vstack(rx.foreach(S.subscription_counts, lambda c: _count(c, "subscriptions")), spacing="2"),
        ),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="4",
        width="100%",
    )


# -- invoices -----------------------------------------------------------------------------------------------


def _overdue_row(row: InvoiceDisplay) -> rx.Component:
    return rx.table.row(
        text_cell(row["number"], white_space="nowrap", weight="medium"),
        rx.table.cell(rx.text(row["user_short"], size="2", font_family="monospace", title=row["user"])),
        text_cell(row["month"], white_space="nowrap"),
        figure_cell(row["total"]),
        text_cell(row["due"], white_space="nowrap", color_scheme="red"),
        rx.table.cell(
            rx.button("Open", size="1", variant="soft", on_click=S.open_invoice(row["id"])),
            justify="end",
        ),
        class_name="overdue-row",
        id="overdue-" + row["id"],
    )


def _overdue() -> rx.Component:
    return card(
        section_title("Overdue invoices"),
        table_or_empty(
            OVERDUE_COLUMNS,
            S.overdue,
            _overdue_row,
            element_id="overdue-table",
            align_right=("Total",),
            hide_below=OVERDUE_HIDDEN_ON_PHONES,
            empty="Nothing overdue.",
            empty_id="overdue-empty",
        ),
        overflow_x="auto",
    )


def _line_row(row: LineDisplay) -> rx.Component:
    return rx.table.row(
        text_cell("#" + row["id"], color_scheme="gray"),
        text_cell(row["kind"], white_space="nowrap"),
        text_cell(row["description"]),
        text_cell(row["beneficiary"], color_scheme="gray"),
        rx.table.cell(rx.badge(row["status"], color_scheme=row["status_color"], variant="soft")),
        figure_cell(row["amount"]),
        rx.table.cell(
            rx.cond(
                row["waivable"],
                rx.button(
                    "Waive",
                    size="1",
                    variant="soft",
                    color_scheme="amber",
                    on_click=S.ask("waive", row["id"]),
                    id="waive-line-" + row["id"],
                ),
            ),
            justify="end",
        ),
        class_name="line-row",
        id="line-" + row["id"],
    )


def _invoice() -> rx.Component:
    inv = S.invoice
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.heading(inv["number"], size="4", id="invoice-number"),
                    rx.badge(inv["status"], color_scheme=inv["status_color"], id="invoice-status"),
                    align="center",
                    wrap="wrap",
                ),
                rx.text(
                    inv["month"],
                    " · ",
                    inv["user_short"],
                    " · issued ",
                    inv["issued"],
                    " · due ",
                    inv["due"],
                    size="2",
                    color_scheme="gray",
                    title=inv["user"],
                ),
                rx.text(
                    "Total ", rx.text(inv["total"], as_="span", weight="bold", id="invoice-total"), size="3"
                ),
                rx.cond(
                    S.invoice_reason != "",
                    rx.text("Reason: ", S.invoice_reason, size="2", color_scheme="gray", id="invoice-reason"),
                ),
                spacing="1",
                flex="1",
            ),
            rx.hstack(
                rx.cond(
                    S.can_void,
                    rx.button(
                        rx.icon("ban", size=14),
                        "Void",
                        color_scheme="red",
                        variant="soft",
                        on_click=S.ask("void", inv["id"]),
                        id="invoice-void",
                    ),
                ),
                rx.cond(
                    S.can_write_off,
                    rx.button(
                        "Mark uncollectible",
                        color_scheme="gray",
                        variant="soft",
                        on_click=S.ask("uncollectible", inv["id"]),
                        id="invoice-uncollectible",
                    ),
                ),
                rx.button("Close", variant="ghost", color_scheme="gray", on_click=S.close_invoice),
                spacing="2",
                wrap="wrap",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            gap="3",
            width="100%",
        ),
        rx.box(
            table_or_empty(
                LINE_COLUMNS,
                S.lines,
                _line_row,
                element_id="invoice-lines",
                align_right=("Amount",),
                hide_below=LINE_HIDDEN_ON_PHONES,
                empty="No lines on this invoice.",
                empty_id="invoice-lines-empty",
            ),
            overflow_x="auto",
            width="100%",
        ),
        width="100%",
        spacing="3",
        padding_top="12px",
        id="invoice-detail",
    )


def _lookup() -> rx.Component:
    return card(
        section_title("An invoice"),
        rx.flex(
            rx.input(
                placeholder="Invoice id",
                value=S.lookup,
                on_change=S.set_lookup,
                max_length=ID_TEXT_MAX,
                input_mode="numeric",
                id="invoice-lookup",
            ),
            rx.button("Open invoice", on_click=S.open_invoice(""), id="invoice-open"),
            rx.button(
                "Waive a line by id",
                variant="soft",
                color_scheme="amber",
                on_click=S.ask("waive", ""),
                id="waive-by-id",
            ),
            gap="3",
            wrap="wrap",
            align="center",
        ),
        field_error(S.lookup_error, "invoice_lookup"),
        rx.cond(S.has_invoice, _invoice()),
    )


def _reason_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.action_title),
            rx.vstack(
                _labelled(
                    S.target_label,
                    "action-target",
                    rx.input(
                        value=S.confirm_id,
                        on_change=S.set_target,
                        max_length=ID_TEXT_MAX,
                        input_mode="numeric",
                        id="action-target",
                        width="100%",
                    ),
                    field_error(S.target_error, "action_target"),
                ),
                _labelled(
                    "Reason",
                    "action-reason",
                    rx.text_area(
                        value=S.reason,
                        on_change=S.set_reason,
                        max_length=REASON_MAX,
                        placeholder="Why (kept in the audit log)",
                        id="action-reason",
                        width="100%",
                    ),
                    field_error(S.reason_error, "action_reason"),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button(
                        S.action_title,
                        color_scheme="red",
                        on_click=S.confirm,
                        loading=S.acting,
                        id="action-confirm",
                    ),
                    justify="end",
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            id="action-dialog",
            max_width="480px",
        ),
        open=S.action_open,
        on_open_change=S.confirm_open_change,
    )


# -- balances and payouts -----------------------------------------------------------------------------------


def _balance_cells(row) -> tuple[rx.Component, ...]:
    return (
        figure_cell(row["accrued"]),
        figure_cell(row["collected"]),
        figure_cell(row["paid_out"]),
        figure_cell(row["owed"], rx.cond(row["owes"], "neutral", "muted")),
    )


def _creator_row(row: CreatorDisplay) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["address_short"], size="2", font_family="monospace", title=row["address"])),
        *_balance_cells(row),
        rx.table.cell(
            rx.cond(
                row["owes"],
                rx.button(
                    "Pay out",
                    size="1",
                    variant="soft",
                    on_click=S.prefill_creator(row["address"], row["owed_raw"]),
                    id="pay-creator-" + row["id"],
                ),
            ),
            justify="end",
        ),
        class_name="creator-row",
        id="creator-" + row["id"],
    )


def _source_row(row: SourceDisplay) -> rx.Component:
    return rx.table.row(
        text_cell(row["handle"], weight="medium"),
        *_balance_cells(row),
        rx.table.cell(
            rx.cond(
                row["owes"],
                rx.button(
                    "Pay out",
                    size="1",
                    variant="soft",
                    on_click=S.prefill_source(row["handle"], row["owed_raw"]),
                    id="pay-source-" + row["id"],
                ),
            ),
            justify="end",
        ),
        class_name="source-row",
        id="source-" + row["id"],
    )


def _balances() -> rx.Component:
    return rx.vstack(
        card(
            section_title("Creators' balances"),
            table_or_empty(
                CREATOR_COLUMNS,
                S.creators,
                _creator_row,
                element_id="creators-table",
                align_right=BALANCE_COLUMNS,
                hide_below=BALANCE_HIDDEN_ON_PHONES,
                empty="No creator has earned a profit share yet.",
                empty_id="creators-empty",
            ),
            overflow_x="auto",
        ),
        card(
            section_title("Sources pool by CT account"),
            table_or_empty(
                SOURCE_COLUMNS,
                S.sources,
                _source_row,
                element_id="sources-table",
                align_right=BALANCE_COLUMNS,
                hide_below=BALANCE_HIDDEN_ON_PHONES,
                empty="No signal source has earned a share yet.",
                empty_id="sources-empty",
            ),
            overflow_x="auto",
        ),
        spacing="4",
        width="100%",
    )


def _payout_form() -> rx.Component:
    return card(
        section_title("Record a payout"),
        rx.text(
            "After sending USDC from the platform's wallet, record it here with its transaction hash.",
            size="2",
            color_scheme="gray",
            margin_bottom="12px",
        ),
        rx.grid(
            _labelled(
                "Paid to",
                "payout-beneficiary",
                rx.select.root(
                    rx.select.trigger(id="payout-beneficiary", width="100%"),
                    rx.select.content(
                        rx.select.item("A creator", value="CREATOR"),
                        rx.select.item("A signal source (CT account)", value="SOURCES"),
                    ),
                    value=S.p_beneficiary,
                    on_change=S.set_p_beneficiary,
                ),
                field_error(S.err_beneficiary, "payout_beneficiary"),
            ),
            rx.cond(
                S.paying_creator,
                _payout_input(
                    "Creator's address",
                    "payout-address",
                    S.p_address,
                    S.set_p_address,
                    field_error(S.err_address, "payout_address"),
                    max_length=ADDRESS_TEXT_MAX,
                    placeholder="0x…",
                ),
                _labelled(
                    "CT account",
                    "payout-ct",
                    rx.select(
                        S.ct_handles,
                        value=S.p_ct,
                        on_change=S.set_p_ct,
                        placeholder="Choose an account",
                        id="payout-ct",
                        width="100%",
                    ),
                    field_error(S.err_ct, "payout_ct"),
                ),
            ),
            _payout_input(
                "Amount (USDC)",
                "payout-amount",
                S.p_amount,
                S.set_p_amount,
                field_error(S.err_amount, "payout_amount"),
                max_length=NUMBER_TEXT_MAX,
                placeholder="0.00",
                input_mode="decimal",
            ),
            _payout_input(
                "Transaction hash",
                "payout-tx",
                S.p_tx,
                S.set_p_tx,
                field_error(S.err_tx, "payout_tx"),
                max_length=TX_HASH_MAX,
                placeholder="0x…",
                font_family="monospace",
            ),
            _payout_input(
                "Note (optional)",
                "payout-note",
                S.p_note,
                S.set_p_note,
                field_error(S.err_note, "payout_note"),
                max_length=NOTE_MAX,
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        field_error(S.err_form, "payout_form"),
        rx.button(
            rx.icon("send", size=16),
            "Record payout",
            on_click=S.record_payout,
            loading=S.paying,
            id="payout-record",
            margin_top="12px",
        ),
    )


def _payout_input(
    label: str,
    element_id: str,
    value: rx.Var[str],
    on_change: EventHandler,
    error: rx.Component,
    *,
    max_length: int,
    **props: Any,
) -> rx.Component:
    """One of the payout form's text fields: labelled, its error below."""
    control = rx.input(
        value=value, on_change=on_change, max_length=max_length, id=element_id, width="100%", **props
    )
    return _labelled(label, element_id, control, error)


def _content() -> rx.Component:
    return rx.vstack(
        _revenue(),
        _counts(),
        _overdue(),
        _lookup(),
        _balances(),
        _payout_form(),
        _reason_dialog(),
        spacing="4",
        width="100%",
    )


def admin_billing() -> rx.Component:
    return admin_page(
        "Admin: billing",
        "Revenue, invoices, subscriptions, what creators and signal sources are owed, and payouts.",
        S.status,
        S.error,
        _content(),
        "Loading billing…",
    )
