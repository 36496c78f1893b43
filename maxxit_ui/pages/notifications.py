"""The inbox `/notifications`: every notification the user was sent in-app, newest first, unread marked."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, error_callout, loading_message, page, page_heading
from maxxit_ui.state.notifications import InboxState
from maxxit_ui.state.notify_rows import NOTIFICATIONS_ROUTE, SETTINGS_ROUTE, InboxRow

ROUTE = NOTIFICATIONS_ROUTE
S = InboxState


def _item(row: InboxRow) -> rx.Component:
    unread = row["unread"]
    return rx.box(
        rx.hstack(
            rx.box(
                width="8px",
                height="8px",
                min_width="8px",
                border_radius="50%",
                margin_top="7px",
                background=rx.cond(unread, "var(--accent-9)", "transparent"),
                class_name=rx.cond(unread, "unread-dot", ""),
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(
                        row["title"],
                        size="2",
                        weight=rx.cond(unread, "bold", "regular"),
                        class_name="inbox-title",
                    ),
                    rx.text(row["time"], size="1", color_scheme="gray", white_space="nowrap"),
                    justify="between",
                    align="baseline",
                    width="100%",
                    wrap="wrap",
                    spacing="2",
                ),
                rx.text(row["lines"], size="1", color_scheme="gray", class_name="inbox-lines"),
                spacing="1",
                width="100%",
                min_width="0",
            ),
            align="start",
            spacing="3",
            width="100%",
        ),
        on_click=S.open_item(row["id"]),
        cursor="pointer",
        padding="12px",
        border_radius="var(--radius-3)",
        background=rx.cond(unread, "var(--accent-a2)", "transparent"),
        _hover={"background": "var(--gray-a3)"},
        role="link",
        id="inbox-item-" + row["id"],
        class_name=rx.cond(unread, "inbox-item unread", "inbox-item"),
        custom_attrs={"data-unread": rx.cond(unread, "true", "false")},
        style={"overflowWrap": "anywhere"},
    )


def _empty() -> rx.Component:
    return rx.vstack(
        rx.icon("bell_off", size=28, color="var(--gray-9)"),
        rx.text("No notifications yet.", weight="medium"),
        rx.text(
            "Closed positions, stops that moved, closes that need attention, paused deployments and invoices "
            "will appear here as they happen.",
            size="2",
            color_scheme="gray",
            text_align="center",
        ),
        rx.link(
            "Choose what you are told, and where →", href=SETTINGS_ROUTE, size="2", id="inbox-settings-link"
        ),
        align="center",
        spacing="2",
        padding_y="32px",
        id="inbox-empty",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(S.page_label, size="1", color_scheme="gray", id="inbox-range"),
        rx.hstack(
            rx.button(
                "Newer",
                size="1",
                variant="soft",
                disabled=~S.has_prev,
                on_click=S.prev_page,
                id="inbox-newer",
            ),
            rx.button(
                "Older",
                size="1",
                variant="soft",
                disabled=~S.has_next,
                on_click=S.next_page,
                id="inbox-older",
            ),
            spacing="2",
        ),
        justify="between",
        align="center",
        width="100%",
    )


def _list() -> rx.Component:
    return card(
        rx.cond(
            S.items.length() > 0,
            rx.vstack(
                rx.vstack(rx.foreach(S.items, _item), spacing="1", width="100%", id="inbox-items"),
                _pager(),
                spacing="3",
                width="100%",
            ),
            _empty(),
        )
    )


def notifications() -> rx.Component:
    return page(
        rx.flex(
            page_heading("Notifications", "What happened to your positions, deployments and account."),
            rx.hstack(
                rx.button(
                    rx.icon("check_check", size=16),
                    "Mark all read",
                    variant="soft",
                    on_click=S.mark_all_read,
                    disabled=(S.unread == 0) | S.marking,
                    id="inbox-mark-all",
                ),
                rx.link(
                    rx.icon("settings", size=18),
                    href=SETTINGS_ROUTE,
                    id="inbox-settings",
                    title="Notification settings",
                    padding="8px",
                ),
                align="center",
                spacing="2",
            ),
            justify="between",
            align="end",
            wrap="wrap",
            gap="12px",
            width="100%",
        ),
        error_callout(S.error),
        rx.cond(S.status == "loading", loading_message(), rx.cond(S.status == "ready", _list())),
    )
