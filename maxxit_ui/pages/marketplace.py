"""Marketplace `/marketplace`: every public agent, sortable, filterable by venue, searchable, paged; the
controls live in the URL (see state/marketplace.py)."""

from __future__ import annotations

import reflex as rx

from backend.venues.catalog import PAPER_ONLY_NOTE
from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    page_heading,
)
from maxxit_ui.components.tables import data_table, figure, figure_cell, venue_badge
from maxxit_ui.state.marketplace import SEARCH_MAX_LENGTH, SORT_LABELS, VENUE_LABELS, MarketplaceState
from maxxit_ui.state.rows import AgentRow

# The result and the risk first.
COLUMNS = (
    "Agent",
    "Total PnL",
    "Max drawdown",
    "APR 30d",
    "Win rate",
    "Trades",
    "Venue",
    "Sharpe",
    "Sortino",
    "Profit factor",
)
# On a phone: the name, the result and the risk; the rest from 480 or 768 px. Who made an agent and whom it
# follows sit under its name, its leverage beside its venue, so a desktop row fits 1440 px.
PHONE_HIDDEN = {
    "APR 30d": "sm",
    **{name: "md" for name in ("Win rate", "Trades", "Venue", "Sharpe", "Sortino", "Profit factor")},
}
NUMERIC = ("Total PnL", "Max drawdown", "APR 30d", "Win rate", "Trades", "Sharpe", "Sortino", "Profit factor")


def _select(
    options: dict[str, str], value: rx.Var[str], on_change, *, element_id: str, label: str
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=element_id, aria_label=label, min_width="150px"),
        rx.select.content(*(rx.select.item(text, value=key) for key, text in options.items())),
        value=value,
        on_change=on_change,
    )


def _controls() -> rx.Component:
    s = MarketplaceState
    return rx.flex(
        rx.vstack(
            rx.input(
                placeholder="Search agents, creators, CT handles…",
                value=s.search,
                on_change=s.set_search,  # debounced by Reflex: one query per pause in typing
                max_length=SEARCH_MAX_LENGTH,
                id="search-input",
                width="100%",
                size="2",
            ),
            rx.cond(
                s.search_error != "", rx.text(s.search_error, size="1", color_scheme="red", id="search-error")
            ),
            spacing="1",
            flex="1",
            min_width="min(240px, 100%)",
        ),
        rx.hstack(
            rx.text("Venue", size="2", color_scheme="gray"),
            _select(VENUE_LABELS, s.venue, s.set_venue, element_id="venue-filter", label="Venue"),
            align="center",
            spacing="2",
        ),
        rx.hstack(
            rx.text("Sort by", size="2", color_scheme="gray"),
            _select(SORT_LABELS, s.sort, s.set_sort, element_id="sort-select", label="Sort by"),
            align="center",
            spacing="2",
        ),
        gap="16px",
        wrap="wrap",
        align="start",
        width="100%",
    )


def _row(row: AgentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(row["name"], href=row["href"], weight="medium", class_name="agent-link"),
                rx.text(
                    "by ",
                    row["creator"],
                    " · ",
                    row["ct_accounts"],
                    size="1",
                    color_scheme="gray",
                    max_width="260px",
                    truncate=True,
                    display=rx.breakpoints(initial="none", md="block"),
                    class_name="agent-byline",
                ),
                rx.cond(
                    row["paper_only"],
                    rx.badge(
                        PAPER_ONLY_NOTE,
                        color_scheme="amber",
                        variant="soft",
                        size="1",
                        class_name="paper-only",
                        white_space="normal",  # wraps on a phone rather than widening the name column
                    ),
                ),
                spacing="1",
                align="start",
            ),
        ),
        rx.table.cell(figure(row["pnl"], row["pnl_tone"], size="2"), justify="end", class_name="agent-pnl"),
        rx.table.cell(
            figure(row["max_drawdown"], row["max_drawdown_tone"], size="2"),
            justify="end",
            class_name="agent-drawdown",
        ),
        figure_cell(row["apr_30d"], row["apr_30d_tone"]),
        figure_cell(row["win_rate"], row["win_rate_tone"]),
        figure_cell(row["trades"]),
        rx.table.cell(
            rx.hstack(
                venue_badge(row["venue"], row["venue_color"]),
                rx.text(row["leverage"], size="2", class_name="agent-leverage"),
                spacing="2",
                align="center",
                wrap="nowrap",
            )
        ),
        figure_cell(row["sharpe"], row["sharpe_tone"]),
        figure_cell(row["sortino"], row["sortino_tone"]),
        figure_cell(row["profit_factor"]),
        class_name="agent-row",
    )


def _pagination() -> rx.Component:
    s = MarketplaceState
    return rx.hstack(
        rx.text(s.total_label, size="2", color_scheme="gray", id="total-count"),
        rx.hstack(
            rx.button(
                rx.icon("chevron_left", size=16),
                "Prev",
                on_click=s.prev_page,
                disabled=~s.has_prev,
                variant="soft",
                color_scheme="gray",
                id="prev-page",
            ),
            rx.text(s.page_label, size="2", id="page-label"),
            rx.button(
                "Next",
                rx.icon("chevron_right", size=16),
                on_click=s.next_page,
                disabled=~s.has_next,
                variant="soft",
                color_scheme="gray",
                id="next-page",
            ),
            align="center",
            spacing="3",
        ),
        justify="between",
        align="center",
        wrap="wrap",
        gap="8px",
        width="100%",
    )


def _results() -> rx.Component:
    s = MarketplaceState
    return rx.cond(
        s.status != "loading",
        rx.cond(
            s.rows.length() > 0,
            rx.box(  # a wide table scrolls inside its card, never the page
                data_table(
                    COLUMNS,
                    s.rows,
                    _row,
                    element_id="agents-table",
                    align_right=NUMERIC,
                    variant="ghost",
                    hide_below=PHONE_HIDDEN,
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.vstack(
                empty_message("No agents match these filters.", element_id="agents-empty"),
                rx.button("Clear filters", on_click=s.clear_filters, variant="soft", id="clear-filters"),
                align="center",
                width="100%",
                padding_bottom="24px",
            ),
        ),
        loading_message("Loading agents…"),
    )


def marketplace() -> rx.Component:
    return page(
        page_heading(
            "Marketplace", "Public agents and how they have traded. Figures update as positions close."
        ),
        _controls(),
        error_callout(MarketplaceState.error),
        rx.cond(
            MarketplaceState.error == "",
            card(rx.vstack(_results(), _pagination(), spacing="4", width="100%")),
        ),
    )
