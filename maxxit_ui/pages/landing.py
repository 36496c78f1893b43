"""Landing page `/`: what Maxxit is, live platform figures, the top five agents, a way to the marketplace."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import (
    LEADERBOARD_ID,
    SCROLL_TO_LEADERBOARD,
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    section_title,
)
from maxxit_ui.components.tables import data_table, figure, figure_cell, stat_tile, text_cell, venue_badge
from maxxit_ui.state.landing import LandingState
from maxxit_ui.state.rows import AgentRow

LEADER_COLUMNS = ("#", "Agent", "Venue", "Creator", "Trades", "Win rate", "APR 30d", "Total PnL")
# A phone keeps the rank, the agent and its two headline figures.
LEADER_HIDDEN_ON_PHONES = {"Venue": "md", "Creator": "md", "Trades": "md", "Win rate": "md"}
# Arriving at /#leaderboard from another page: the router looked for the element before this page was
# there, so the leaderboard scrolls itself into view once its rows are in.
SCROLL_WHEN_ASKED = f"if (location.hash === '#{LEADERBOARD_ID}') {{ {SCROLL_TO_LEADERBOARD} }}"


def _hero() -> rx.Component:
    return rx.vstack(
        rx.badge("Non-custodial · CT signals · 5 venues", variant="surface", radius="full", size="2"),
        rx.heading("AI trading agents that read crypto Twitter", size="8", weight="bold", id="landing-title"),
        rx.text(
            "Pick an agent from the marketplace, deploy it to your own venue account, and let it trade the "
            "calls of the accounts it follows with trailing stops on every position. Agents can trade, "
            "never withdraw.",
            size="4",
            color_scheme="gray",
            max_width="720px",
        ),
        rx.hstack(
            rx.link(
                rx.button("Browse the marketplace", rx.icon("arrow_right", size=16), size="3"),
                href="/marketplace",
                id="cta-marketplace",
            ),
            rx.link(
                rx.button("See the leaderboard", size="3", variant="soft", color_scheme="gray"),
                href=f"/#{LEADERBOARD_ID}",
                on_click=rx.call_script(SCROLL_TO_LEADERBOARD),
            ),
            spacing="3",
            wrap="wrap",
            padding_top="8px",
        ),
        spacing="4",
        padding_y="24px",
    )


def _stats() -> rx.Component:
    s = LandingState
    return rx.grid(
        stat_tile("Public agents", s.agents, element_id="stat-agents"),
        stat_tile("Active deployments", s.active_deployments, element_id="stat-deployments"),
        stat_tile("Trades closed", s.trades, element_id="stat-trades"),
        stat_tile("Volume", s.volume, element_id="stat-volume"),
        stat_tile("Realised PnL", s.realized_pnl, element_id="stat-pnl", tone=s.realized_pnl_tone),
        stat_tile("CT accounts followed", s.ct_accounts, element_id="stat-ct-accounts"),
        columns=rx.breakpoints(initial="2", sm="3", lg="6"),
        spacing="4",
        width="100%",
    )


def _leader_row(row: AgentRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        text_cell(index + 1, color_scheme="gray"),
        rx.table.cell(rx.link(row["name"], href=row["href"], weight="medium")),
        rx.table.cell(venue_badge(row["venue"], row["venue_color"])),
        text_cell(row["creator"], color_scheme="gray"),
        figure_cell(row["trades"]),
        figure_cell(row["win_rate"], row["win_rate_tone"]),
        figure_cell(row["apr_30d"], row["apr_30d_tone"]),
        rx.table.cell(figure(row["pnl"], row["pnl_tone"], size="2", id=f"leader-pnl-{index}"), justify="end"),
    )


def _leaderboard() -> rx.Component:
    return rx.box(
        rx.hstack(
            section_title("Leaderboard"),
            rx.link("All agents →", href="/marketplace", size="2"),
            justify="between",
            align="baseline",
            width="100%",
        ),
        card(
            rx.cond(
                LandingState.loaded,
                rx.box(
                    rx.cond(
                        LandingState.leaders.length() > 0,
                        data_table(
                            LEADER_COLUMNS,
                            LandingState.leaders,
                            _leader_row,
                            element_id="leaderboard-table",
                            variant="ghost",
                            align_right=("Trades", "Win rate", "APR 30d", "Total PnL"),
                            hide_below=LEADER_HIDDEN_ON_PHONES,
                        ),
                        empty_message("No agent has closed a trade yet.", element_id="leaderboard-empty"),
                    ),
                    on_mount=rx.call_script(SCROLL_WHEN_ASKED),
                ),
                loading_message(),
            ),
        ),
        id=LEADERBOARD_ID,
        width="100%",
        scroll_margin_top="80px",
    )


def landing() -> rx.Component:
    return page(
        _hero(),
        error_callout(LandingState.error),
        rx.cond(LandingState.error == "", rx.fragment(_stats(), _leaderboard())),
    )
