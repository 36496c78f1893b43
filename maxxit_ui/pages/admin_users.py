"""Admin: users `/admin/users`: every wallet that signed in, its role, and grant/revoke admin."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import empty_message
from maxxit_ui.components.tables import data_table, text_cell
from maxxit_ui.pages.admin_common import admin_page, admin_table, pager
from maxxit_ui.state.admin import FILTER_MAX, AdminUsersState, UserRow

ROUTE = "/admin/users"
COLUMNS = ("Address", "Role", "Created", "Last sign-in", "")
HIDDEN_ON_PHONES = {"Created": "md", "Last sign-in": "md"}

S = AdminUsersState


def _role_button(row: UserRow) -> rx.Component:
    busy = S.busy_address == row["address"]
    return rx.cond(
        row["is_admin"],
        rx.button(
            "Revoke admin",
            size="1",
            variant="soft",
            color_scheme="red",
            loading=busy,
            on_click=S.change_role(row["address"], "trader"),
            id="revoke-admin-" + row["id"],
        ),
        rx.button(
            "Grant admin",
            size="1",
            variant="soft",
            loading=busy,
            on_click=S.change_role(row["address"], "admin"),
            id="grant-admin-" + row["id"],
        ),
    )


def _row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                # Cut short on a phone (the full address in its title), whole from 768 px.
                rx.text(
                    row["address"],
                    size="2",
                    font_family="monospace",
                    title=row["address"],
                    max_width=rx.breakpoints(initial="120px", md="none"),
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                ),
                rx.cond(row["is_self"], rx.badge("you", size="1", variant="outline")),
                align="center",
                spacing="2",
            )
        ),
        rx.table.cell(
            rx.badge(row["role"], color_scheme=rx.cond(row["is_admin"], "amber", "gray"), variant="soft")
        ),
        text_cell(row["created"], color_scheme="gray", white_space="nowrap"),
        text_cell(row["last_login"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(_role_button(row), justify="end"),
        class_name="user-row",
        id="user-" + row["id"],
    )


def _content() -> rx.Component:
    search = rx.input(
        placeholder="Search by address…",
        value=S.search,
        on_change=S.set_search,
        max_length=FILTER_MAX,
        id="users-search",
        width="100%",
        max_width="320px",
    )
    return admin_table(
        search,
        S.error,
        data_table(
            COLUMNS,
            S.rows,
            _row,
            element_id="admin-users-table",
            variant="ghost",
            hide_below=HIDDEN_ON_PHONES,
        ),
        S.rows.length() > 0,
        empty_message("No user matches.", element_id="users-empty"),
        pager(S.page_label, S.prev_page, S.next_page, S.page <= 1, S.page >= S.page_count, "users"),
        prefix="admin-users",
    )


def admin_users() -> rx.Component:
    return admin_page(
        "Admin: users",
        "Wallets that signed in, and who may operate the platform.",
        S.status,
        S.error,
        _content(),
        "Loading users…",
    )
