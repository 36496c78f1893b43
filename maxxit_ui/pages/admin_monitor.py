"""Admin: monitor `/admin/monitor`: the position monitor's last cycle, speed, request budget, findings."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, empty_message, section_title
from maxxit_ui.components.tables import data_table, stat_tile, text_cell
from maxxit_ui.pages.admin_common import admin_page
from maxxit_ui.state.admin_monitor import AdminMonitorState, AttentionRow, FindingRow

ROUTE = "/admin/monitor"
POLL_MS = 5000
FINDING_COLUMNS = ("Time", "Finding", "Entity", "Details")
ATTENTION_COLUMNS = ("Position", "User", "Venue", "Reason", "Attempts", "Next try")

S = AdminMonitorState


def _liveness() -> rx.Component:
    return card(
        rx.hstack(
            rx.cond(
                S.stale,
                rx.badge("Not running", color_scheme="red", size="2", id="monitor-state"),
                rx.badge("Running", color_scheme="green", size="2", id="monitor-state"),
            ),
            rx.text(
                "Last cycle ",
                rx.text(S.last_cycle, as_="span", weight="medium", id="monitor-last-cycle"),
                size="2",
            ),
            rx.text(S.last_cycle_age, size="2", color_scheme="gray", id="monitor-last-age"),
            rx.spacer(),
            rx.text("updated ", S.refreshed_at, size="1", color_scheme="gray"),
            rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
            align="center",
            spacing="3",
            width="100%",
        )
    )


def _tiles() -> rx.Component:
    return rx.grid(
        stat_tile("Positions watched", S.positions_watched, element_id="monitor-positions"),
        stat_tile("Cycle median", S.median_ms, element_id="monitor-median"),
        stat_tile("Cycle max", S.max_ms, element_id="monitor-max"),
        stat_tile("Cycles / min", S.cycles_per_minute, element_id="monitor-cycles"),
        stat_tile("Closes / min", S.closes_per_minute, element_id="monitor-closes"),
        stat_tile("Venue errors / min", S.errors_per_minute, element_id="monitor-errors"),
        columns=rx.breakpoints(initial="2", md="3"),
        spacing="4",
        width="100%",
    )


def _budget() -> rx.Component:
    return card(
        section_title("Venue requests per minute"),
        rx.vstack(
            rx.hstack(
                rx.text(S.requests_per_minute, size="6", weight="bold", id="monitor-requests"),
                rx.text("requests in the last minute; budget ", S.budget, size="2", color_scheme="gray"),
                align="baseline",
                spacing="2",
            ),
            rx.progress(
                value=S.budget_pct,
                max=100,
                color_scheme=rx.cond(S.over_budget, "red", "jade"),
                size="3",
                id="monitor-budget-bar",
            ),
            rx.text(S.budget_label, size="2", id="monitor-budget"),
            rx.text(S.limit_label, size="1", color_scheme="gray", id="monitor-limit"),
            spacing="2",
            width="100%",
        ),
    )


def _finding(row: FindingRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["time"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(rx.badge(row["kind"], variant="soft", color_scheme="amber")),
        text_cell(row["entity"], white_space="nowrap"),
        rx.table.cell(
            rx.text(
                row["details"],
                size="1",
                font_family="monospace",
                color_scheme="gray",
                max_width="520px",
                truncate=True,
                title=row["details_full"],
            )
        ),
        class_name="finding-row",
    )


def _findings() -> rx.Component:
    return card(
        section_title("Latest reconciliation findings"),
        rx.cond(
            S.findings.length() > 0,
            data_table(FINDING_COLUMNS, S.findings, _finding, element_id="monitor-findings", variant="ghost"),
            empty_message("Venues and positions agree: nothing found.", element_id="monitor-findings-empty"),
        ),
        overflow_x="auto",
    )


def _attention_row(row: AttentionRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["position"], white_space="nowrap"),
        rx.table.cell(rx.text(row["user"], size="2", title=row["user_title"], white_space="nowrap")),
        text_cell(row["venue"]),
        rx.table.cell(rx.text(row["reason"], size="2", color_scheme="red", max_width="420px")),
        text_cell(row["attempts"]),
        text_cell(row["next_attempt"], color_scheme="gray", white_space="nowrap"),
        class_name="attention-row",
        id="attention-" + row["id"],
    )


def _attention() -> rx.Component:
    """Closes a venue refused while still holding the position: real money the monitor cannot let go of."""
    return card(
        section_title("Needs attention: closes the venue refused"),
        rx.cond(
            S.attention.length() > 0,
            data_table(
                ATTENTION_COLUMNS,
                S.attention,
                _attention_row,
                element_id="monitor-attention",
                variant="ghost",
            ),
            empty_message("No refused closes.", element_id="monitor-attention-empty"),
        ),
        overflow_x="auto",
    )


def _content() -> rx.Component:
    return rx.vstack(_liveness(), _attention(), _tiles(), _budget(), _findings(), spacing="4", width="100%")


def admin_monitor() -> rx.Component:
    return admin_page(
        "Admin: monitor",
        "The position monitor: when it last ran, how long cycles take, what it asks venues for.",
        S.status,
        S.error,
        _content(),
        "Loading the monitor's figures…",
    )
