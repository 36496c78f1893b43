"""Admin: venues `/admin/venues`: "Refresh venues" and what it changed, then every venue market in the
token registry with its rules per token (size step, tick, minimum, maximum leverage) and whether it is
active (delisted markets take no new entries; their positions still exit)."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, empty_message, error_callout, section_title
from maxxit_ui.components.tables import data_table, text_cell
from maxxit_ui.pages.admin_common import admin_page
from maxxit_ui.state.admin_venues import AdminVenuesState, MarketRow, ReportLine

ROUTE = "/admin/venues"
COLUMNS = ("Venue", "Symbol", "Venue market", "Size step", "Tick", "Min size", "Max leverage", "Active")

S = AdminVenuesState


def _report_line(line: ReportLine) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(line["venue"], color_scheme=rx.cond(line["failed"], "red", "jade"), variant="soft"),
            rx.text(line["summary"], size="2", weight="medium"),
            wrap="wrap",
            spacing="2",
            align="center",
        ),
        rx.text(line["details"], size="1", color_scheme="gray", padding_top="4px", word_break="break-word"),
        class_name="refresh-line",
        id="refresh-" + line["id"],
        width="100%",
    )


def _refresh() -> rx.Component:
    return card(
        rx.flex(
            rx.vstack(
                section_title("Refresh venues"),
                rx.text(
                    "Reads every venue's markets now, as the hourly refresh does. A venue that cannot be "
                    "reached keeps its markets as they were.",
                    size="2",
                    color_scheme="gray",
                ),
                spacing="1",
                flex="1",
            ),
            rx.button(
                rx.cond(S.refreshing, rx.spinner(size="2"), rx.icon("refresh_cw", size=16)),
                rx.cond(S.refreshing, "Refreshing…", "Refresh venues"),
                on_click=S.refresh,
                disabled=S.refreshing,
                id="refresh-venues",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            gap="3",
            align=rx.breakpoints(initial="start", sm="center"),
            width="100%",
        ),
        rx.cond(
            S.report.length() > 0,
            rx.vstack(
                rx.text("Refreshed ", S.report_at, size="1", color_scheme="gray", id="refresh-at"),
                rx.foreach(S.report, _report_line),
                spacing="3",
                padding_top="12px",
                width="100%",
                id="refresh-report",
            ),
        ),
    )


def _row(row: MarketRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["venue"]),
        rx.table.cell(
            rx.vstack(
                rx.text(row["symbol"], size="2", weight="medium"),
                rx.text(row["name"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        text_cell(row["venue_market"], white_space="nowrap"),
        text_cell(row["size_step"]),
        text_cell(row["tick"]),
        text_cell(row["min_size"]),
        text_cell(row["max_leverage"]),
        rx.table.cell(
            rx.cond(
                row["active"],
                rx.badge("Active", color_scheme="jade", variant="soft"),
                rx.badge("Delisted", color_scheme="gray", variant="soft"),
            )
        ),
        class_name="market-row",
        id="market-" + row["id"],
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.select(
            S.venue_options,
            value=S.venue_filter,
            on_change=S.set_venue_filter,
            id="venue-filter",
        ),
        rx.input(
            placeholder="Symbol or name",
            value=S.query,
            on_change=S.set_query,
            max_length=32,
            id="market-search",
        ),
        rx.text(S.counts, size="2", color_scheme="gray", id="market-counts"),
        gap="3",
        wrap="wrap",
        align="center",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _refresh(),
        error_callout(S.error, element_id="venues-error"),
        _filters(),
        card(
            rx.cond(
                S.rows.length() > 0,
                data_table(COLUMNS, S.rows, _row, element_id="venue-markets", variant="ghost"),
                empty_message(
                    "No markets yet: refresh the venues to fill the registry.",
                    element_id="venue-markets-empty",
                ),
            ),
            overflow_x="auto",
        ),
        spacing="4",
        width="100%",
    )


def admin_venues() -> rx.Component:
    return admin_page(
        "Admin: venues",
        "The markets each venue lists, in the token registry the classifier and the executor read.",
        S.status,
        S.error,
        _content(),
        "Loading the venues' markets…",
    )
