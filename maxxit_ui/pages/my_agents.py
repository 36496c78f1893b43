"""My agents `/my-agents`: the trader's own agents, with edit and archive (after a confirmation)."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    link_button,
    loading_message,
    page,
    page_heading,
    phone_only,
)
from maxxit_ui.components.tables import data_table, figure, figure_cell, row_actions, text_cell, venue_badge
from maxxit_ui.state.my_agents import MyAgentDisplay, MyAgentsState

ROUTE = "/my-agents"
COLUMNS = ("Agent", "Venue", "Visibility", "Status", "Trades", "APR 30d", "Created", "")
# A phone keeps the agent, its status, its return and the buttons.
# (the status moves under the name).
HIDDEN_ON_PHONES = {"Venue": "md", "Visibility": "md", "Status": "md", "Trades": "md", "Created": "md"}

S = MyAgentsState


def _actions(row: MyAgentDisplay) -> rx.Component:
    return rx.cond(
        row["archived"],
        rx.text("archived", size="1", color_scheme="gray"),
        row_actions(
            link_button(
                "pencil",
                "Edit",
                "/agents/" + row["id"] + "/edit",
                element_id="edit-" + row["id"],
                icon_size=14,
                size="1",
                variant="soft",
            ),
            rx.button(
                rx.icon("archive", size=14),
                "Archive",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=S.ask("archive", row["id"], row["name"]),
                id="archive-" + row["id"],
            ),
        ),
    )


def _status(row: MyAgentDisplay) -> rx.Component:
    return rx.badge(row["status"], color_scheme=row["status_color"], variant="soft")


def _row(row: MyAgentDisplay) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                row["listed"],
                rx.link(row["name"], href=row["href"], weight="medium"),
                rx.text(row["name"], weight="medium", size="2"),
            ),
            phone_only(_status(row), margin_top="4px"),
        ),
        rx.table.cell(venue_badge(row["venue"], row["venue_color"])),
        text_cell(row["visibility"], color_scheme="gray"),
        rx.table.cell(_status(row)),
        figure_cell(row["trades"]),
        rx.table.cell(
            figure(row["apr_30d"], row["apr_30d_tone"], size="2", id="my-agent-apr-" + row["id"]),
            justify="end",
        ),
        text_cell(row["created"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(_actions(row), justify="end"),
        class_name="my-agent-row",
        id="my-agent-" + row["id"],
    )


def _confirm_dialog() -> rx.Component:
    return confirm_dialog(
        title=["Archive “", S.confirm_label, "”?"],
        description="It leaves the marketplace and can no longer be edited. Its trade history stays.",
        keep_label="Keep it",
        confirm_label="Archive agent",
        on_confirm=S.archive,
        is_open=S.confirming("archive"),
        on_open_change=S.confirm_open_change,
        element_id="archive",
        loading=S.archiving,
    )


def _list() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        card(
            data_table(
                COLUMNS,
                S.rows,
                _row,
                element_id="my-agents-table",
                align_right=("Trades", "APR 30d"),
                variant="ghost",
                hide_below=HIDDEN_ON_PHONES,
            ),
            overflow_x="auto",
        ),
        card(
            rx.vstack(
                empty_message("You have not built an agent yet.", element_id="my-agents-empty"),
                rx.link(rx.button("Build your first agent"), href="/agents/new"),
                align="center",
                width="100%",
                padding_bottom="24px",
            )
        ),
    )


def my_agents() -> rx.Component:
    return page(
        page_heading(
            "My agents",
            "Agents you built, including private and archived ones.",
            action=link_button(
                "circle_plus", "Build agent", "/agents/new", element_id="build-agent", size="3"
            ),
        ),
        rx.match(
            S.status,
            ("ready", _list()),
            ("error", error_callout(S.error)),
            loading_message("Loading your agents…"),
        ),
        _confirm_dialog(),
    )
