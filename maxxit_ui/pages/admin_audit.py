"""Admin: audit log `/admin/audit`: who did what, newest first, filtered by action and actor, paged."""

from __future__ import annotations

import reflex as rx

from backend.audit import Action
from maxxit_ui.components.layout import empty_message
from maxxit_ui.components.tables import data_table, text_cell
from maxxit_ui.pages.admin_common import admin_page, admin_table, pager
from maxxit_ui.state.admin import ALL_ACTIONS, FILTER_MAX, AuditRow, AuditState

ROUTE = "/admin/audit"
COLUMNS = ("Time", "Actor", "Action", "Entity", "Details", "IP")

S = AuditState


def _row(row: AuditRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["time"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(
            rx.text(row["actor_short"], size="2", font_family="monospace", title=row["actor"]),
        ),
        rx.table.cell(rx.code(row["action"], size="1", variant="soft")),
        text_cell(row["entity"], white_space="nowrap"),
        rx.table.cell(
            rx.text(
                row["details"],
                size="1",
                font_family="monospace",
                color_scheme="gray",
                max_width="420px",
                truncate=True,
                title=row["details_full"],
            )
        ),
        text_cell(row["ip"], color_scheme="gray"),
        class_name="audit-row",
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.text("Action", size="2", color_scheme="gray"),
            rx.select.root(
                rx.select.trigger(id="audit-action", aria_label="Action", min_width="200px"),
                rx.select.content(
                    rx.select.item("All actions", value=ALL_ACTIONS),
                    *(rx.select.item(action, value=action) for action in Action.all()),
                ),
                value=S.action,
                on_change=S.set_action,
            ),
            align="center",
            spacing="2",
        ),
        rx.input(
            placeholder="Actor address (exact) or system",
            value=S.actor,
            on_change=S.set_actor,
            max_length=FILTER_MAX,
            id="audit-actor",
            min_width="360px",
        ),
        rx.button("Clear", on_click=S.clear_filters, variant="soft", color_scheme="gray", id="audit-clear"),
        gap="12px",
        wrap="wrap",
        align="center",
        width="100%",
    )


def _content() -> rx.Component:
    return admin_table(
        _filters(),
        S.error,
        data_table(COLUMNS, S.rows, _row, element_id="audit-table", variant="ghost"),
        S.rows.length() > 0,
        empty_message("No audit entries match these filters.", element_id="audit-empty"),
        pager(S.page_label, S.prev_page, S.next_page, ~S.has_prev, ~S.has_next, "audit"),
        prefix="audit",
    )


def admin_audit() -> rx.Component:
    return admin_page(
        "Admin: audit log",
        "Every sign-in, role change and agent change, newest first.",
        S.status,
        S.error,
        _content(),
        "Loading the audit log…",
    )
