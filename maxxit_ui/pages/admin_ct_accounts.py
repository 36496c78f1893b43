"""Admin: CT accounts `/admin/ct-accounts`: followed accounts and their counts; add, pause, resume, remove;
rebuild every agent's figures and every account's impact factor."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.forms import field_error
from maxxit_ui.components.layout import card, empty_message, error_callout, phone_only, section_title
from maxxit_ui.components.tables import data_table, figure_cell, row_actions, text_cell
from maxxit_ui.pages.admin_common import admin_page
from maxxit_ui.state.ct_accounts import (
    DISPLAY_NAME_INPUT_MAX,
    HANDLE_INPUT_MAX,
    POSTS_ROUTE,
    CtAccountRow,
    CtAccountsState,
)

ROUTE = "/admin/ct-accounts"
COLUMNS = ("Account", "Status", "Followers", "Impact", "Posts", "Signals", "Last post", "Agents", "")
NUMBERS = ("Followers", "Impact", "Posts", "Signals", "Agents")
# A phone keeps the account, its status, its impact factor and the buttons.
# (the status moves under the handle).
HIDDEN_ON_PHONES = {name: "md" for name in ("Status", "Followers", "Posts", "Signals", "Last post", "Agents")}

S = CtAccountsState


def _labelled(label: str, element_id: str, control: rx.Component, error: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=element_id),
        control,
        error,
        spacing="1",
        min_width="240px",
    )


def _add_form() -> rx.Component:
    return card(
        section_title("Add account"),
        rx.flex(
            _labelled(
                "Handle",
                "ct-handle",
                rx.input(
                    placeholder="@handle",
                    value=S.handle,
                    on_change=S.set_handle,
                    max_length=HANDLE_INPUT_MAX,
                    id="ct-handle",
                    width="100%",
                ),
                field_error(S.handle_error, "handle"),
            ),
            _labelled(
                "Display name (optional)",
                "ct-display-name",
                rx.input(
                    placeholder="e.g. OrbitCaller",
                    value=S.display_name,
                    on_change=S.set_display_name,
                    max_length=DISPLAY_NAME_INPUT_MAX,
                    id="ct-display-name",
                    width="100%",
                ),
                field_error(S.display_name_error, "display_name"),
            ),
            rx.button(
                rx.icon("user_plus", size=16),
                "Add account",
                on_click=S.add,
                loading=S.adding,
                id="ct-add",
                margin_top="22px",
            ),
            gap="12px",
            wrap="wrap",
            align="start",
        ),
    )


def _actions(row: CtAccountRow) -> rx.Component:
    busy = S.busy_id == row["id"]
    toggle = rx.cond(
        row["is_active"],
        rx.button(
            rx.icon("pause", size=14),
            "Pause",
            size="1",
            variant="soft",
            color_scheme="amber",
            loading=busy,
            on_click=S.set_active(row["id"], False),
            id="pause-" + row["id"],
        ),
        rx.button(
            rx.icon("play", size=14),
            "Resume",
            size="1",
            variant="soft",
            loading=busy,
            on_click=S.set_active(row["id"], True),
            id="resume-" + row["id"],
        ),
    )
    remove = rx.button(
        rx.icon("trash_2", size=14),
        "Remove",
        size="1",
        variant="soft",
        color_scheme="red",
        on_click=S.ask("remove", row["id"], row["handle"]),
        id="remove-" + row["id"],
    )
    return row_actions(toggle, remove)


def _row(row: CtAccountRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(
                rx.vstack(
                    rx.text(row["handle"], weight="medium", size="2"),
                    rx.text(row["display_name"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                href=row["posts_href"],
                underline="none",
                id="posts-link-" + row["id"],
                title="Posts of " + row["handle"],
            ),
            phone_only(
                rx.badge(row["status"], color_scheme=row["status_color"], variant="soft"), margin_top="4px"
            ),
        ),
        rx.table.cell(
            rx.badge(
                row["status"], color_scheme=row["status_color"], variant="soft", id="status-" + row["id"]
            )
        ),
        figure_cell(row["followers"]),
        figure_cell(row["impact"]),
        figure_cell(row["posts"]),
        figure_cell(row["signal_posts"]),
        text_cell(row["last_post"], color_scheme="gray", white_space="nowrap"),
        figure_cell(row["agents"]),
        rx.table.cell(_actions(row), justify="end"),
        class_name="ct-account-row",
        id="ct-account-" + row["id"],
    )


def _rebuild() -> rx.Component:
    """Recompute every agent's figures and every account's impact factor from stored trades."""
    return card(
        rx.flex(
            rx.vstack(
                section_title("Metrics"),
                rx.text(
                    "Agents' figures come from their reference books; impact factors from those books' "
                    "trades of each account's posts over 90 days. Rebuild them from stored trades.",
                    size="2",
                    color_scheme="gray",
                ),
                spacing="1",
                flex="1",
                min_width="240px",
            ),
            rx.button(
                rx.icon("refresh_cw", size=16),
                "Rebuild metrics",
                on_click=S.rebuild,
                loading=S.rebuilding,
                id="rebuild-metrics",
            ),
            gap="12px",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        rx.cond(
            S.rebuild_label != "",
            rx.vstack(
                rx.progress(value=S.rebuild_pct, max=100, size="3", id="rebuild-progress"),
                rx.text(S.rebuild_label, size="2", id="rebuild-label"),
                spacing="2",
                width="100%",
                margin_top="12px",
            ),
        ),
    )


def _confirm_dialog() -> rx.Component:
    return confirm_dialog(
        title=["Stop following ", S.confirm_label, "?"],
        description=(
            "Its new posts will no longer be stored and agents can no longer pick it. Its posts and the "
            "signals made from them stay; adding the handle again restores it."
        ),
        keep_label="Keep following",
        confirm_label="Remove account",
        on_confirm=S.remove,
        is_open=S.confirming("remove"),
        on_open_change=S.confirm_open_change,
        element_id="remove",
        loading=S.removing,
    )


def _content() -> rx.Component:
    return rx.vstack(
        _add_form(),
        error_callout(S.error, element_id="ct-accounts-error"),
        card(
            rx.cond(
                S.rows.length() > 0,
                data_table(
                    COLUMNS,
                    S.rows,
                    _row,
                    element_id="ct-accounts-table",
                    align_right=NUMBERS,
                    variant="ghost",
                    hide_below=HIDDEN_ON_PHONES,
                ),
                empty_message("The platform follows no account yet.", element_id="ct-accounts-empty"),
            ),
            overflow_x="auto",
        ),
        rx.link("All posts →", href=POSTS_ROUTE, size="2", id="all-posts-link"),
        _rebuild(),
        _confirm_dialog(),
        spacing="4",
        width="100%",
    )


def admin_ct_accounts() -> rx.Component:
    return admin_page(
        "Admin: CT accounts",
        "The crypto-Twitter accounts whose posts become signals. Click one to see its posts.",
        S.status,
        S.error,
        _content(),
        "Loading accounts…",
    )
