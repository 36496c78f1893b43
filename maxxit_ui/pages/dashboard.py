"""Dashboard `/dashboard`: every open position as a live chart with its stop, closes, and equity curves."""

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
from maxxit_ui.components.tables import data_table, figure, figure_cell, text_cell
from maxxit_ui.state.dashboard import ClosedRow, DashboardState, EquityCard, PositionCard

ROUTE = "/dashboard"
POLL_MS = 3000
PLOT_CONFIG = {"displayModeBar": False, "responsive": True}
CLOSED_COLUMNS = ("Closed", "Deployment", "Market", "Side", "Entry", "Exit", "Net PnL", "Fees", "Reason")

S = DashboardState


def _close_button(c: PositionCard) -> rx.Component:
    return rx.match(
        c["status"],
        (
            "open",
            rx.button(
                rx.icon("circle_x", size=14),
                "Close",
                size="1",
                variant="soft",
                color_scheme="red",
                loading=S.closing == c["id"],
                on_click=S.ask("close", c["id"], c["market"] + " " + c["side"]),
                min_height="40px",
                id="close-" + c["id"],
            ),
        ),
        (
            "closing",
            rx.hstack(
                rx.spinner(size="1"),
                rx.text("closing…", size="1", color_scheme="amber"),
                align="center",
                spacing="1",
                id="closing-" + c["id"],
            ),
        ),
        rx.fragment(),
    )


def _card_header(c: PositionCard) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.heading(c["market"], size="4", weight="bold"),
                figure(c["side"], c["side_tone"], size="2", weight="medium"),
                rx.text(c["leverage"], size="2", color_scheme="gray"),
                rx.badge(
                    c["status_label"],
                    color_scheme=c["status_color"],
                    variant="soft",
                    id="card-status-" + c["id"],
                ),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(
                c["size"],
                " · ",
                c["notional"],
                " notional · ",
                c["margin"],
                " margin",
                size="2",
                id="card-size-" + c["id"],
            ),
            rx.text(c["agent"], " · ", c["venue"], size="1", color_scheme="gray"),
            spacing="1",
        ),
        _close_button(c),
        justify="between",
        align="start",
        width="100%",
    )


def _open_figures(c: PositionCard) -> rx.Component:
    return rx.grid(
        _figure_block("Unrealised PnL", c["pnl"], c["pnl_tone"], "card-pnl-" + c["id"], c["pnl_ratio"]),
        _figure_block("Last", c["last"], "neutral", "card-last-" + c["id"], "entry " + c["entry"]),
        _figure_block("Stop", c["stop"], "negative", "card-stop-" + c["id"], c["stop_kind"]),
        _figure_block("Take profit", c["take_profit"], "positive", "card-tp-" + c["id"], "target"),
        _figure_block("Liquidation", c["liquidation"], "negative", "card-liq-" + c["id"], "isolated margin"),
        _figure_block(c["best_label"], c["best"], "positive", "card-best-" + c["id"], "since entry"),
        columns=rx.breakpoints(initial="2", sm="3"),
        spacing="3",
        width="100%",
    )


def _closed_figures(c: PositionCard) -> rx.Component:
    return rx.grid(
        _figure_block(
            "Net PnL", c["realized"], c["realized_tone"], "card-realized-" + c["id"], "after all fees"
        ),
        _figure_block("Exit", c["exit"], "neutral", "card-exit-" + c["id"], "entry " + c["entry"]),
        _figure_block("Fees", c["fees"], "neutral", "card-fees-" + c["id"], c["fee_detail"]),
        _figure_block("Stop at exit", c["stop"], "negative", "card-stop-" + c["id"], c["stop_kind"]),
        columns=rx.breakpoints(initial="2", sm="4"),
        spacing="3",
        width="100%",
    )


def _figure_block(
    title: str | rx.Var[str],
    value: rx.Var[str],
    tone: rx.Var[str] | str,
    element_id: rx.Var[str],
    note: rx.Var[str] | str,
) -> rx.Component:
    return rx.vstack(
        rx.text(title, size="1", color_scheme="gray"),
        figure(value, tone, size="3", weight="bold", id=element_id),
        rx.text(note, size="1", color_scheme="gray", white_space="nowrap"),
        spacing="0",
    )


def _refused_notice(c: PositionCard) -> rx.Component:
    """A close the venue refused: the position is still open there, and the monitor keeps trying."""
    return rx.cond(
        c["notice"] != "",
        rx.callout(
            c["notice"],
            icon="triangle_alert",
            color_scheme="red",
            size="1",
            width="100%",
            id="card-refused-" + c["id"],
        ),
    )


def _position_card(c: PositionCard) -> rx.Component:
    return card(
        rx.vstack(
            _card_header(c),
            _refused_notice(c),
            rx.cond(c["status"] == "closed", _closed_figures(c), _open_figures(c)),
            rx.box(
                rx.plotly(data=c["figure"], config=PLOT_CONFIG, width="100%", id="chart-" + c["id"]),
                width="100%",
                min_height="240px",
                custom_attrs={"data-points": c["points"]},
                id="chart-box-" + c["id"],
            ),
            rx.text("opened ", c["opened"], size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        class_name="position-card",
        custom_attrs={"data-status": c["status"]},
        id="position-card-" + c["id"],
    )


def _positions() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            section_title("Positions"),
            rx.hstack(
                rx.text(S.open_count, " open · updated ", S.refreshed_at, size="1", color_scheme="gray"),
                # The page's timer: while it is open, a quiet re-read every few seconds.
                rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
                id="dashboard-refreshed",
            ),
            justify="between",
            align="baseline",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            S.cards.length() > 0,
            rx.grid(
                rx.foreach(S.cards, _position_card),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
                id="position-cards",
            ),
            card(
                rx.vstack(
                    empty_message("No open positions right now.", element_id="dashboard-no-positions"),
                    rx.link("Your deployments →", href="/deployments", size="2"),
                    align="center",
                    padding_bottom="16px",
                )
            ),
        ),
        spacing="2",
        width="100%",
    )


def _equity_card(e: EquityCard) -> rx.Component:
    return card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text(e["label"], weight="medium", size="2"),
                    rx.text(e["venue"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                rx.vstack(
                    figure(e["value"], "neutral", size="3", weight="bold", id="equity-value-" + e["id"]),
                    figure(e["pnl"], e["pnl_tone"], size="1"),
                    spacing="0",
                    align="end",
                ),
                justify="between",
                width="100%",
            ),
            rx.plotly(data=e["figure"], config=PLOT_CONFIG, width="100%", id="equity-chart-" + e["id"]),
            rx.text(e["note"], size="1", color_scheme="gray"),
            spacing="2",
            width="100%",
        ),
        id="equity-" + e["id"],
    )


def _equity() -> rx.Component:
    return rx.vstack(
        section_title("Equity"),
        card(
            rx.vstack(
                rx.hstack(
                    rx.text("Whole account", weight="medium"),
                    rx.hstack(
                        figure(
                            S.account_value, "neutral", size="5", weight="bold", id="equity-value-account"
                        ),
                        figure(S.account_pnl, S.account_pnl_tone, size="2"),
                        align="baseline",
                        spacing="2",
                    ),
                    justify="between",
                    align="baseline",
                    width="100%",
                    wrap="wrap",
                ),
                rx.cond(
                    S.account_has_points,
                    rx.plotly(
                        data=S.account_figure, config=PLOT_CONFIG, width="100%", id="equity-chart-account"
                    ),
                    empty_message(
                        "No equity yet: deploy an agent and its equity curve starts here.",
                        element_id="equity-empty",
                    ),
                ),
                rx.text(S.account_note, size="1", color_scheme="gray"),
                spacing="2",
                width="100%",
            ),
            id="equity-account",
        ),
        rx.grid(
            rx.foreach(S.equity, _equity_card),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _closed_row(row: ClosedRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["closed"], color_scheme="gray", white_space="nowrap"),
        text_cell(row["agent"]),
        rx.table.cell(
            rx.vstack(
                rx.text(row["market"], weight="medium", size="2"),
                rx.text(row["venue"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(figure(row["side"], row["side_tone"], size="2")),
        figure_cell(row["entry"]),
        figure_cell(row["exit"]),
        figure_cell(row["pnl"], row["pnl_tone"]),
        rx.table.cell(figure(row["fees"], size="2", title=row["fee_detail"]), justify="end"),
        rx.table.cell(rx.badge(row["reason"], variant="soft", color_scheme="gray")),
        class_name="closed-row",
        id="closed-" + row["id"],
    )


def _closed() -> rx.Component:
    return rx.vstack(
        section_title("Recently closed"),
        card(
            rx.cond(
                S.closed.length() > 0,
                data_table(
                    CLOSED_COLUMNS,
                    S.closed,
                    _closed_row,
                    element_id="closed-table",
                    align_right=("Entry", "Exit", "Net PnL", "Fees"),
                    variant="ghost",
                ),
                empty_message("Nothing closed yet.", element_id="closed-empty"),
            ),
            overflow_x="auto",
        ),
        spacing="2",
        width="100%",
    )


def _close_dialog() -> rx.Component:
    return confirm_dialog(
        title=["Close ", S.confirm_label, "?"],
        description="A reduce-only market order closes the whole position at the next monitor cycle, within "
        "seconds. The price may move before it fills.",
        keep_label="Keep it open",
        confirm_label="Close position",
        on_confirm=S.confirm_close,
        is_open=S.confirming("close"),
        on_open_change=S.confirm_open_change,
        element_id="close",
    )


def dashboard() -> rx.Component:
    return page(
        page_heading(
            "Dashboard",
            "Your open positions live, with their stops, and how your account is doing.",
            action=rx.link(
                rx.button("My deployments", variant="soft"), href="/deployments", id="dashboard-deployments"
            ),
            element_id="dashboard-heading",
        ),
        rx.match(
            S.status,
            ("ready", rx.vstack(_positions(), _equity(), _closed(), spacing="6", width="100%")),
            ("error", error_callout(S.error)),
            loading_message("Loading your dashboard…"),
        ),
        _close_dialog(),
    )
