"""My deployments `/deployments`: deployments with pause / resume / cancel, then their positions."""

from __future__ import annotations

import reflex as rx

from backend.models.enums import ExecutionVenue
from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.format import venue_label
from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    link_button,
    loading_message,
    page,
    page_heading,
    phone_only,
    section_title,
)
from maxxit_ui.components.tables import data_table, figure, figure_cell, text_cell
from maxxit_ui.state.billing_rows import PAPER_IS_FREE
from maxxit_ui.state.deployments import DeploymentRow, DeploymentsState, FilterOption, PositionRow

ROUTE = "/deployments"
POLL_MS = 3000
# Key figures first: on a phone the table scrolls inside its card and the first columns are what shows,
# so the agent (with its Pause / Cancel buttons), equity and PnL lead; the details follow.
DEPLOYMENT_COLUMNS = ("Agent", "Equity", "Net PnL", "Status", "Open", "Venue", "Fees paid", "Created")
POSITION_COLUMNS = ("Market", "PnL", "Status", "Price", "Lines", "Size", "Fees", "Signal", "Opened")
# On a phone a deployment row keeps its name and buttons (status under them) and its equity (net PnL
# under it); a position row its market, PnL, price and lines, the rest scrolling inside the card.
DEPLOYMENT_PHONE_HIDDEN = {
    name: "md" for name in ("Net PnL", "Status", "Open", "Venue", "Fees paid", "Created")
}
POSITION_PHONE_HIDDEN = {name: "md" for name in ("Fees", "Signal", "Opened")}
TOUCH = "40px"  # the smallest touch target
SPOT_LABEL = venue_label(ExecutionVenue.SPOT)  # a row's venues, as its state words them

S = DeploymentsState


def _actions(row: DeploymentRow) -> rx.Component:
    busy = S.acting == row["id"]
    return rx.hstack(
        rx.cond(
            row["can_pause"],
            rx.button(
                rx.icon("pause", size=14),
                "Pause",
                size="1",
                variant="soft",
                loading=busy,
                on_click=S.pause(row["id"]),
                min_height=TOUCH,
                id="pause-" + row["id"],
            ),
        ),
        rx.cond(
            row["can_resume"],
            rx.button(
                rx.icon("play", size=14),
                "Resume",
                size="1",
                variant="soft",
                color_scheme="green",
                loading=busy,
                on_click=S.resume(row["id"]),
                min_height=TOUCH,
                id="resume-" + row["id"],
            ),
        ),
        rx.cond(
            row["can_cancel"],
            rx.button(
                rx.icon("circle_x", size=14),
                "Cancel",
                size="1",
                variant="soft",
                color_scheme="red",
                disabled=busy,
                on_click=S.ask("cancel", row["id"], row["agent_name"]),
                min_height=TOUCH,
                id="cancel-" + row["id"],
            ),
        ),
        rx.cond(row["venues"].contains(SPOT_LABEL), _safe_link(row)),
        spacing="2",
        wrap="wrap",
    )


def _safe_link(row: DeploymentRow) -> rx.Component:
    """A spot deployment's Safe page: enabling the module while it waits, revoking it once cancelled."""
    return link_button(
        "shield",
        rx.cond(row["can_cancel"], "Safe", "Disable module"),
        "/deployments/" + row["id"] + "/safe",
        element_id="safe-" + row["id"],
        icon_size=14,
        size="1",
        variant="soft",
        color_scheme=rx.cond(row["can_cancel"], "blue", "red"),
        min_height=TOUCH,
    )


def _new_version(row: DeploymentRow) -> rx.Component:
    """The agent changed its strategy: this deployment keeps its version until the owner accepts the new."""
    return rx.hstack(
        rx.text("A new version is available (", row["new_version"], ")", size="1", color_scheme="amber"),
        rx.button(
            "Accept",
            size="1",
            variant="soft",
            color_scheme="amber",
            loading=S.acting == row["id"],
            on_click=S.accept_version(row["id"]),
            id="accept-version-" + row["id"],
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        id="new-version-" + row["id"],
    )


def _deployment_row(row: DeploymentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(row["agent_name"], href=row["agent_href"], weight="medium", size="2"),
                rx.text("#", row["id"], " · ", row["version"], size="1", color_scheme="gray"),
                phone_only(
                    rx.badge(row["status"], color_scheme=row["status_color"], variant="soft", size="1")
                ),
                rx.cond(row["new_version"] != "", _new_version(row)),
                _actions(row),
                spacing="1",
            ),
            min_width=rx.breakpoints(initial="120px", md="170px"),
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["equity"], row["equity_tone"], size="2", id="equity-" + row["id"]),
                figure(row["returns"], row["returns_tone"], size="1", id="return-" + row["id"]),
                rx.text("available ", row["available"], size="1", color_scheme="gray", white_space="nowrap"),
                phone_only(rx.text("net PnL ", figure(row["pnl"], row["pnl_tone"], size="1"), size="1")),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["pnl"], row["pnl_tone"], size="2", id="pnl-" + row["id"]),
                rx.cond(row["unrealized"] != "", rx.text(row["unrealized"], size="1", color_scheme="gray")),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(
            rx.badge(
                row["status"], color_scheme=row["status_color"], variant="soft", id="status-" + row["id"]
            )
        ),
        rx.table.cell(figure(row["open_positions"], size="2", id="open-" + row["id"]), justify="end"),
        rx.table.cell(
            rx.vstack(
                rx.text(row["venues"], size="2", white_space="nowrap"),
                rx.cond(
                    row["paper_only"],
                    rx.badge("free", color_scheme="green", variant="soft", size="1", title=PAPER_IS_FREE),
                ),
                rx.text(
                    row["account"],
                    size="1",
                    color_scheme="gray",
                    title=row["account_title"],
                    white_space="nowrap",
                ),
                spacing="0",
            )
        ),
        figure_cell(row["fees"]),
        text_cell(row["created"], color_scheme="gray", white_space="nowrap"),
        class_name="deployment-row",
        id="deployment-" + row["id"],
    )


def _paper_note() -> rx.Component:
    return rx.cond(
        S.has_paper,
        rx.text(
            PAPER_IS_FREE,
            " The fees on paper positions are simulated, to show what the venue would charge.",
            size="2",
            color_scheme="gray",
            id="deployments-paper-free",
        ),
    )


def _deployments() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        card(
            _paper_note(),
            data_table(
                DEPLOYMENT_COLUMNS,
                S.rows,
                _deployment_row,
                element_id="deployments-table",
                align_right=("Equity", "Open", "Net PnL", "Fees paid"),
                variant="ghost",
                hide_below=DEPLOYMENT_PHONE_HIDDEN,
            ),
            overflow_x="auto",
        ),
        card(
            rx.vstack(
                empty_message("You have not deployed an agent yet.", element_id="deployments-empty"),
                rx.link(
                    rx.button("Find an agent in the marketplace"),
                    href="/marketplace",
                    id="deployments-marketplace",
                ),
                align="center",
                width="100%",
                padding_bottom="24px",
            )
        ),
    )


def _signal(row: PositionRow) -> rx.Component:
    return rx.cond(
        row["has_signal"],
        rx.vstack(
            rx.hstack(
                rx.text(
                    "score ", figure(row["score"], size="2", weight="medium"), size="1", color_scheme="gray"
                ),
                rx.link("signals →", href=row["signals_href"], size="1", white_space="nowrap"),
                spacing="2",
                align="center",
            ),
            rx.text(
                row["post"],
                size="1",
                color_scheme="gray",
                max_width="240px",
                white_space="nowrap",
                overflow="hidden",
                text_overflow="ellipsis",
                title=row["post"],
            ),
            spacing="0",
        ),
        rx.text("—", size="2", color_scheme="gray"),
    )


def _small(text: rx.Var[str] | str, *parts: rx.Var[str] | str, **props) -> rx.Component:
    return rx.text(text, *parts, size="1", color_scheme="gray", white_space="nowrap", **props)


def _lines(row: PositionRow) -> rx.Component:
    """Open: where it closes (stop, take-profit) or is liquidated. Closed: why it closed."""
    return rx.cond(
        row["is_open"],
        rx.vstack(
            _small("stop ", figure(row["stop"], "negative", size="1", id="position-stop-" + row["id"])),
            _small("take profit ", figure(row["take_profit"], "positive", size="1")),
            _small("liq. ", figure(row["liquidation"], size="1", id="position-liq-" + row["id"])),
            spacing="0",
        ),
        rx.badge(row["reason"], variant="soft", color_scheme="gray", id="position-reason-" + row["id"]),
    )


def _position_row(row: PositionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.text(row["market"], weight="medium", size="2"),
                    figure(row["side"], row["side_tone"], size="1", weight="medium"),
                    rx.text(row["leverage"], size="1", color_scheme="gray"),
                    spacing="1",
                    align="baseline",
                ),
                _small(row["agent_name"], " #", row["deployment"], " · ", row["venue"]),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                figure(
                    row["pnl"], row["pnl_tone"], size="2", weight="medium", id="position-pnl-" + row["id"]
                ),
                _small(row["pnl_note"], id="position-pnl-note-" + row["id"]),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(row["status"], color_scheme=row["status_color"], variant="soft"),
                rx.cond(
                    row["notice"] != "",
                    rx.text(
                        row["notice"],
                        size="1",
                        color_scheme="red",
                        max_width="240px",
                        id="position-refused-" + row["id"],
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.vstack(
                _small(
                    row["mark_label"], " ", figure(row["mark"], size="2", id="position-mark-" + row["id"])
                ),
                _small("entry ", row["entry"], id="position-entry-" + row["id"]),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(_lines(row)),
        rx.table.cell(
            rx.vstack(
                figure(row["size"], size="2", id="position-size-" + row["id"]),
                _small(row["notional"], " notional"),
                _small(row["margin"], " margin"),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["fees"], size="2"),
                _small(row["fee_detail"], id="position-fees-" + row["id"]),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        rx.table.cell(_signal(row), max_width="260px"),
        text_cell(row["opened"], color_scheme="gray", white_space="nowrap"),
        class_name="position-row",
        id="position-" + row["id"],
    )


def _filter_item(option: FilterOption) -> rx.Component:
    return rx.select.item(option["label"], value=option["value"])


def _position_filters() -> rx.Component:
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(
                id="positions-deployment", aria_label="Deployment", min_width="200px", max_width="100%"
            ),
            rx.select.content(rx.foreach(S.options, _filter_item)),
            value=S.deployment_filter,
            on_change=S.set_deployment_filter,
        ),
        rx.segmented_control.root(
            rx.segmented_control.item("Open", value="open"),
            rx.segmented_control.item("Closed", value="closed"),
            rx.segmented_control.item("All", value="all"),
            value=S.position_filter,
            on_change=S.set_position_filter,
            id="positions-status",
        ),
        rx.text("updated ", S.refreshed_at, size="1", color_scheme="gray", id="positions-refreshed"),
        # The page's timer: while it is open, a quiet re-read every few seconds.
        rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _positions() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            section_title("Positions"), _position_filters(), justify="between", align="baseline", wrap="wrap"
        ),
        rx.cond(
            S.positions.length() > 0,
            card(
                data_table(
                    POSITION_COLUMNS,
                    S.positions,
                    _position_row,
                    element_id="positions-table",
                    align_right=("PnL", "Price", "Size", "Fees"),
                    variant="ghost",
                    hide_below=POSITION_PHONE_HIDDEN,
                ),
                overflow_x="auto",
            ),
            card(empty_message("No positions here yet.", element_id="positions-empty")),
        ),
        spacing="2",
        width="100%",
    )


def _cancel_dialog() -> rx.Component:
    return confirm_dialog(
        title=["Cancel “", S.confirm_label, "”?"],
        description=(
            "The deployment stops taking new trades, for good. Positions already open stay managed by "
            "their exits (stop loss, take profit, trailing stop) until they close."
        ),
        keep_label="Keep it running",
        confirm_label="Cancel deployment",
        on_confirm=S.confirm_cancel,
        is_open=S.confirming("cancel"),
        on_open_change=S.confirm_open_change,
        element_id="cancel",
    )


def deployments() -> rx.Component:
    return page(
        page_heading(
            "My deployments",
            "Agents trading for you, their balances and every position they opened.",
            action=link_button(
                "chart_line",
                "Live dashboard",
                "/dashboard",
                element_id="deployments-dashboard",
                variant="soft",
            ),
            element_id="deployments-heading",
        ),
        rx.match(
            S.status,
            ("ready", rx.vstack(_deployments(), _positions(), spacing="6", width="100%")),
            ("error", error_callout(S.error)),
            loading_message("Loading your deployments…"),
        ),
        _cancel_dialog(),
    )
