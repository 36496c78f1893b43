"""Earnings `/earnings`: the creator's totals (accrued, collected, paid out, pending), profit shares by agent
and month, and the payouts received with their transaction hashes."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    page_heading,
    phone_only,
    section_title,
)
from maxxit_ui.components.tables import figure, figure_cell, stat_tile, table_or_empty, text_cell
from maxxit_ui.state.earnings import EarningDisplay, EarningsState, PayoutDisplay

ROUTE = "/earnings"
EARNING_COLUMNS = ("Month", "Agent", "Accrued", "Collected")
PAYOUT_COLUMNS = ("Date", "Amount", "Transaction", "Note")
# On a phone the month moves under the agent's name and the note goes: the figures stay on screen.
EARNING_HIDDEN_ON_PHONES = {"Month": "md"}
PAYOUT_HIDDEN_ON_PHONES = {"Note": "md"}

S = EarningsState


def _tiles() -> rx.Component:
    return rx.grid(
        stat_tile("Accrued", S.accrued, element_id="earnings-accrued", value_size="5", width=None),
        stat_tile("Collected", S.collected, element_id="earnings-collected", value_size="5", width=None),
        stat_tile("Paid out", S.paid_out, element_id="earnings-paid-out", value_size="5", width=None),
        stat_tile("Pending", S.pending, element_id="earnings-pending", value_size="5", width=None),
        columns=rx.breakpoints(initial="2", md="4"),
        spacing="3",
        width="100%",
    )


def _earning_row(row: EarningDisplay) -> rx.Component:
    return rx.table.row(
        text_cell(row["month"], white_space="nowrap"),
        rx.table.cell(
            rx.text(row["agent"], size="2", weight="medium"),
            phone_only(rx.text(row["month"], size="1", color_scheme="gray")),
        ),
        rx.table.cell(figure(row["accrued"], size="2", id="earning-accrued-" + row["id"]), justify="end"),
        figure_cell(row["collected"]),
        class_name="earning-row",
        id="earning-" + row["id"],
    )


def _payout_row(row: PayoutDisplay) -> rx.Component:
    return rx.table.row(
        text_cell(row["date"], white_space="nowrap", color_scheme="gray"),
        figure_cell(row["amount"]),
        rx.table.cell(
            rx.text(
                row["tx_short"], size="2", font_family="monospace", title=row["tx_hash"], white_space="nowrap"
            ),
        ),
        text_cell(row["note"], color_scheme="gray"),
        class_name="payout-row",
        id="payout-" + row["id"],
    )


def _by_month() -> rx.Component:
    return card(
        section_title("By agent and month"),
        table_or_empty(
            EARNING_COLUMNS,
            S.rows,
            _earning_row,
            element_id="earnings-table",
            align_right=("Accrued", "Collected"),
            hide_below=EARNING_HIDDEN_ON_PHONES,
            empty=(
                "No profit shares yet: they appear when a follower of your agents closes a profitable live "
                "trade."
            ),
            empty_id="earnings-empty",
        ),
        overflow_x="auto",
    )


def _payouts() -> rx.Component:
    return card(
        section_title("Payouts received"),
        table_or_empty(
            PAYOUT_COLUMNS,
            S.payouts,
            _payout_row,
            element_id="payouts-table",
            align_right=("Amount",),
            hide_below=PAYOUT_HIDDEN_ON_PHONES,
            empty="No payouts yet.",
            empty_id="payouts-empty",
        ),
        overflow_x="auto",
    )


def _no_agents() -> rx.Component:
    return card(
        rx.vstack(
            empty_message(
                "You have no agents yet. Build one and publish it: when its followers close a profitable "
                "live trade, you earn a share.",
                element_id="earnings-no-agents",
            ),
            rx.link(rx.button("Build an agent"), href="/agents/new"),
            align="center",
            width="100%",
            padding_bottom="24px",
        )
    )


def _content() -> rx.Component:
    return rx.cond(
        S.has_agents,
        rx.vstack(
            rx.text(S.share_note, size="2", color_scheme="gray", id="earnings-share-note"),
            _tiles(),
            rx.text(
                "Collected: on invoices your followers paid. Pending: collected and not yet paid out to you.",
                size="1",
                color_scheme="gray",
            ),
            _by_month(),
            _payouts(),
            spacing="4",
            width="100%",
        ),
        _no_agents(),
    )


def earnings() -> rx.Component:
    return page(
        page_heading("Earnings", "Your share of your followers' profits, and what has been paid to you."),
        rx.match(
            S.status,
            ("ready", _content()),
            ("error", error_callout(S.error)),
            loading_message("Loading your earnings…"),
        ),
    )
