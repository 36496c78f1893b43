"""Agent page `/agents/[agent_id]`: its track record first (equity over drawdown), then its figures, then the
strategy, its recent signals and the viewer's positions."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.backtest import backtest_panel
from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    link_button,
    loading_message,
    page,
    section_title,
)
from maxxit_ui.components.outcome import outcome_badge
from maxxit_ui.components.tables import (
    data_table,
    figure,
    figure_cell,
    key_value,
    stat_tile,
    text_cell,
    venue_badge,
)
from maxxit_ui.state.agent import AccountRow, AgentState, FigureTile, PositionRow, SignalRow, VersionRow
from maxxit_ui.state.auth import AuthState

ROUTE = "/agents/[agent_id]"


def _deploy() -> rx.Component:
    """Deploy for signed-in users, a sign-in link for visitors, the reason when the agent is not active."""
    s = AgentState
    return rx.cond(
        s.deploy_block != "",
        rx.text(
            rx.icon("circle_pause", size=14, display="inline", margin_right="4px"),
            s.deploy_block,
            size="2",
            color_scheme="gray",
            id="agent-deploy-unavailable",
        ),
        rx.cond(
            AuthState.signed_in,
            link_button("rocket", "Deploy", s.deploy_href, element_id="deploy-link", size="3"),
            link_button(
                "wallet",
                "Sign in to deploy",
                s.signin_deploy_href,
                element_id="signin-to-deploy",
                size="3",
                variant="soft",
            ),
        ),
    )


def _edit() -> rx.Component:
    """The builder, for the agent's creator (and admins) only."""
    s = AgentState
    return rx.cond(
        s.edit_href != "",
        link_button("pencil", "Edit", s.edit_href, element_id="edit-agent", size="3", variant="soft"),
    )


def _paper_only() -> rx.Component:
    """Said beside Deploy: an agent whose venue has no live adapter yet trades on paper only."""
    s = AgentState
    return rx.cond(
        s.paper_note != "",
        rx.callout(s.paper_note, icon="file_text", color_scheme="amber", size="1", id="agent-paper-only"),
    )


def _header() -> rx.Component:
    s = AgentState
    return rx.vstack(
        rx.link("← Marketplace", href="/marketplace", size="2", color_scheme="gray"),
        rx.hstack(
            rx.hstack(
                rx.heading(s.name, size="7", weight="bold", id="agent-name"),
                venue_badge(s.venue, s.venue_color),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.hstack(_edit(), _deploy(), align="center", spacing="3", wrap="wrap"),
            justify="between",
            align="center",
            spacing="4",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.text(
                "by ", rx.text(s.creator, as_="span", weight="medium", title=s.creator_address), size="2"
            ),
            rx.text("·", color_scheme="gray"),
            rx.text(s.active_deployments, size="2", color_scheme="gray"),
            rx.text("·", color_scheme="gray"),
            rx.badge(s.leverage, " leverage", color_scheme="gray", variant="soft", id="agent-leverage"),
            rx.badge(s.version, color_scheme="iris", variant="soft", id="agent-version"),
            rx.cond(
                s.metrics_updated != "",
                rx.text("· figures as of ", s.metrics_updated, size="2", color_scheme="gray"),
            ),
            spacing="2",
            wrap="wrap",
        ),
        _paper_only(),
        rx.cond(
            s.description != "", rx.text(s.description, size="3", color_scheme="gray", max_width="800px")
        ),
        spacing="2",
        width="100%",
    )


def _figure_tile(tile: FigureTile) -> rx.Component:
    return stat_tile(
        tile["label"],
        tile["value"],
        element_id=tile["id"],
        tone=tile["tone"],
        value_size="5",
        size="1",
        width=None,
    )


def _figures() -> rx.Component:
    """The reference book's figures, then followers' own results apart (they never move the figures)."""
    s = AgentState
    return rx.vstack(
        rx.grid(
            rx.foreach(s.figures, _figure_tile),
            columns=rx.breakpoints(initial="2", sm="3", lg="4", xl="5"),
            spacing="3",
            width="100%",
            id="agent-figures",
        ),
        rx.text(
            "Figures are the agent's reference book: standard paper capital taking every signal. ",
            s.followers_summary,
            " ",
            figure(s.followers_pnl, s.followers_pnl_tone, size="2", id="followers-pnl"),
            size="2",
            color_scheme="gray",
            id="followers-summary",
        ),
        spacing="2",
        width="100%",
    )


def _strategy() -> rx.Component:
    return rx.grid(
        card(
            section_title("Strategy weights"),
            rx.box(
                rx.plotly(data=AgentState.weights_figure, config={"displayModeBar": False}, width="100%"),
                id="weights-chart",
                width="100%",
                min_height="200px",
            ),
        ),
        card(
            section_title("Risk settings"),
            rx.vstack(
                rx.foreach(AgentState.risk, lambda item: key_value(item["label"], item["value"])),
                spacing="3",
                width="100%",
                id="risk-settings",
            ),
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


def _track_record() -> rx.Component:
    """The reference book's equity (every signal, standard capital) over its drawdown, each version marked
    where it began: the first thing the page shows."""
    return card(
        section_title("Track record"),
        rx.text(
            "The agent's reference book: a paper account of standard capital that takes every signal with the"
            " agent's own sizing, leverage and exits. Below: its fall from the running peak. Dotted lines"
            " mark new versions.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            AgentState.has_equity,
            rx.box(
                rx.plotly(data=AgentState.equity_figure, config={"displayModeBar": False}, width="100%"),
                id="equity-chart",
                width="100%",
                min_height="360px",
            ),
            empty_message("No trades yet.", element_id="equity-empty"),
        ),
    )


def _backtest() -> rx.Component:
    """ "Backtest this agent" opens the panel; visitors are asked to sign in first."""
    s = AgentState
    opener = rx.cond(
        AuthState.signed_in,
        rx.button(
            rx.icon("flask_conical", size=16),
            "Backtest this agent",
            on_click=s.bt_open,
            variant="soft",
            id="bt-open",
        ),
        link_button(
            "wallet",
            "Sign in to backtest",
            s.signin_backtest_href,
            element_id="signin-to-backtest",
            variant="soft",
        ),
    )
    return rx.cond(
        (s.bt_status == "idle") | ~AuthState.signed_in,
        rx.hstack(
            opener,
            rx.text(
                "Replay this agent's strategy over past posts and prices, on the engine that trades it live.",
                size="2",
                color_scheme="gray",
            ),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        backtest_panel(s, rivals=True, sweep_href=s.sweep_href),
    )


def _version_row(row: VersionRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["number"], weight="medium"),
        text_cell(row["date"], color_scheme="gray", white_space="nowrap"),
        text_cell(row["note"]),
        text_cell(row["settings"], color_scheme="gray"),
    )


def _account_row(row: AccountRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["handle"], weight="medium", size="2")),
        text_cell(row["display_name"], color_scheme="gray"),
        figure_cell(row["followers"]),
        figure_cell(row["impact"], row["impact_tone"]),
        figure_cell(row["calls"]),
    )


def _signal_row(row: SignalRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["time"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(rx.text(row["token"], weight="medium", size="2")),
        rx.table.cell(figure(row["side"], row["side_tone"], size="2", weight="medium")),
        figure_cell(row["score"]),
        rx.table.cell(outcome_badge(row["status"], row["outcome_kind"]), min_width="150px"),
        rx.table.cell(
            rx.vstack(
                rx.text(row["handle"], size="1", color_scheme="gray"),
                rx.text(row["post"], size="2", max_width="420px", truncate=True, title=row["post"]),
                spacing="0",
            )
        ),
    )


def _position_row(row: PositionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["market"], weight="medium", size="2")),
        rx.table.cell(figure(row["side"], row["side_tone"], size="2", weight="medium")),
        figure_cell(row["size"]),
        figure_cell(row["entry"]),
        figure_cell(row["exit"]),
        figure_cell(row["pnl"], row["pnl_tone"]),
        text_cell(row["close_reason"]),
        text_cell(row["opened"], color_scheme="gray", white_space="nowrap"),
        text_cell(row["closed"], color_scheme="gray", white_space="nowrap"),
    )


def _list_section(
    title: str,
    rows: rx.Var[list],
    table: rx.Component,
    empty: str,
    element_id: str,
    action: rx.Component | None = None,
) -> rx.Component:
    heading = section_title(title)
    if action is not None:
        heading = rx.hstack(heading, action, justify="between", align="baseline", width="100%")
    return rx.box(
        heading,
        rx.cond(rows.length() > 0, table, card(empty_message(empty, element_id=f"{element_id}-empty"))),
        width="100%",
        overflow_x="auto",
    )


def _activity() -> rx.Component:
    s = AgentState
    return rx.vstack(
        _list_section(
            "Followed CT accounts",
            s.accounts,
            data_table(
                ("Handle", "Name", "Followers", "Impact factor", "Calls (90d)"),
                s.accounts,
                _account_row,
                element_id="accounts-table",
                align_right=("Followers", "Impact factor", "Calls (90d)"),
            ),
            "This agent follows no CT account yet.",
            "accounts",
        ),
        _list_section(
            "Versions",
            s.versions,
            data_table(
                ("Version", "Date", "What changed", "Key settings"),
                s.versions,
                _version_row,
                element_id="versions-table",
            ),
            "No versions yet.",
            "versions",
        ),
        _list_section(
            "Recent signals",
            s.signals,
            data_table(
                ("Time", "Token", "Side", "Score", "Status", "Post"),
                s.signals,
                _signal_row,
                element_id="signals-table",
                align_right=("Score",),
            ),
            "No signals yet.",
            "signals",
            rx.link(
                "All signals →",
                href=f"/agents/{rx.State.agent_id}/signals",
                size="2",
                weight="medium",
                id="all-signals-link",
            ),
        ),
        rx.cond(  # only the viewer's own positions: other traders' never reach a visitor's page
            AuthState.signed_in,
            _list_section(
                "Your positions",
                s.positions,
                data_table(
                    ("Market", "Side", "Size", "Entry", "Exit", "PnL", "Close reason", "Opened", "Closed"),
                    s.positions,
                    _position_row,
                    element_id="positions-table",
                    align_right=("Size", "Entry", "Exit", "PnL"),
                ),
                "You have no positions on this agent yet.",
                "positions",
            ),
        ),
        spacing="6",
        width="100%",
    )


def agent_not_found() -> rx.Component:
    """Also shown by the agent's signals page, so a private agent looks the same from every URL."""
    return rx.center(
        rx.vstack(
            rx.icon("search_x", size=40, color="var(--gray-9)"),
            rx.heading("Agent not found", size="6", id="agent-not-found"),
            rx.text("No public agent has this id. It may be private or archived.", color_scheme="gray"),
            rx.link(rx.button("Back to the marketplace", variant="soft"), href="/marketplace"),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
    )


def agent() -> rx.Component:
    return page(
        rx.match(
            AgentState.status,
            (
                "ready",
                rx.fragment(_header(), _track_record(), _figures(), _strategy(), _backtest(), _activity()),
            ),
            ("not_found", agent_not_found()),
            ("error", error_callout(AgentState.error)),
            loading_message("Loading agent…"),
        ),
    )
