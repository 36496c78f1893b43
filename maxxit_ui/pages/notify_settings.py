"""`/settings/notifications`: the preference grid, Telegram linking and the email address.

Webhooks are drawn by pages/notify_webhooks.py. The grid is a table of event types by four channels that
fits a 390 px phone: channel headers shrink to icons there.
"""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.layout import (
    card,
    error_callout,
    loading_message,
    page,
    page_heading,
    section_title,
)
from maxxit_ui.pages.notify_webhooks import webhooks_section
from maxxit_ui.state.notify_rows import (
    CHANNELS,
    FREQUENCIES,
    NOTIFICATIONS_ROUTE,
    SETTINGS_ROUTE,
    PreferenceRow,
)
from maxxit_ui.state.notify_settings import LINK_POLL_MS, NotifySettingsState

ROUTE = SETTINGS_ROUTE
S = NotifySettingsState
PHONE_HIDDEN = rx.breakpoints(initial="none", sm="inline")


def _channel_header(key: str, label: str, icon: str) -> rx.Component:
    """The channel's icon (its name too, from tablet width up); a channel not set up is greyed and says so."""
    ready = S.channel_ready[key]
    return rx.table.column_header_cell(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=14),
                rx.text(label, display=PHONE_HIDDEN),
                spacing="1",
                align="center",
                color=rx.cond(ready, "var(--gray-12)", "var(--gray-8)"),
            ),
            rx.cond(
                ready,
                rx.fragment(),
                rx.text(
                    "not set up",
                    size="1",
                    color_scheme="gray",
                    weight="regular",
                    white_space="nowrap",
                    display=PHONE_HIDDEN,
                    id=f"not-set-up-{key}",
                ),
            ),
            spacing="0",
            align="center",
        ),
        justify="center",
        title=rx.cond(ready, label, label + ": not set up"),
        padding_x="2px",
        custom_attrs={"data-ready": rx.cond(ready, "true", "false")},
        id=f"channel-{key}",
    )


def _switch(row: PreferenceRow, key: str) -> rx.Component:
    return rx.table.cell(
        rx.switch(
            checked=row[key],
            on_change=lambda checked: S.toggle(row["event_type"], key, checked),
            disabled=S.saving_pref == row["event_type"] + ":" + key,
            size="1",
            id="pref-" + row["event_type"] + "-" + key,
            aria_label=row["description"] + f": {key}",
            custom_attrs={"data-checked": rx.cond(row[key], "true", "false")},
        ),
        justify="center",
        padding_x="2px",
    )


def _pref_row(row: PreferenceRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["description"], size="2"),
                rx.text(row["event_type"], size="1", color_scheme="gray", font_family="monospace"),
                spacing="0",
            ),
            padding_left="0",
        ),
        *(_switch(row, key) for key, _, _ in CHANNELS),
        id="pref-row-" + row["event_type"],
    )


def _preferences() -> rx.Component:
    return card(
        section_title("What you are told, and where"),
        rx.cond(
            S.not_set_up.length() > 0,
            rx.vstack(
                rx.foreach(S.not_set_up, lambda hint: rx.text(hint, size="1", color_scheme="gray")),
                spacing="0",
                margin_bottom="8px",
                id="channel-hints",
            ),
        ),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Event", padding_left="0"),
                        *(_channel_header(key, label, icon) for key, label, icon in CHANNELS),
                    )
                ),
                rx.table.body(rx.foreach(S.prefs, _pref_row)),
                variant="ghost",
                size="1",
                width="100%",
                id="preferences",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.text(
            "A switch that is on for a channel not set up takes effect once you set it up. Webhooks also "
            "choose their own events below.",
            size="1",
            color_scheme="gray",
            margin_top="8px",
        ),
    )


def _telegram() -> rx.Component:
    not_linked = rx.cond(
        S.tg_code != "",
        rx.vstack(
            rx.text("Open the bot and press Start, or send it this code:", size="2"),
            rx.hstack(
                rx.code(S.tg_code, size="4", id="telegram-code"),
                rx.icon_button(
                    rx.icon("copy", size=16),
                    variant="soft",
                    size="2",
                    on_click=[rx.set_clipboard("/start " + S.tg_code), rx.toast.info("Copied")],
                    title="Copy /start <code>",
                    id="telegram-copy",
                ),
                align="center",
                spacing="2",
            ),
            rx.link(
                rx.hstack(rx.icon("send", size=14), rx.text("Open ", S.tg_url), align="center", spacing="1"),
                href=S.tg_url,
                is_external=True,
                size="2",
                id="telegram-link",
                style={"overflowWrap": "anywhere"},
            ),
            rx.text(
                "The code works once, until ",
                S.tg_expires,
                ". Waiting for the bot…",
                size="1",
                color_scheme="gray",
            ),
            rx.box(rx.moment(interval=LINK_POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
            spacing="2",
            id="telegram-pending",
        ),
        rx.button(
            rx.icon("send", size=16),
            "Link Telegram",
            on_click=S.link_telegram,
            loading=S.tg_busy,
            id="telegram-link-button",
        ),
    )
    linked = rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.badge("Linked", color_scheme="green", variant="soft"),
                rx.text(
                    rx.cond(S.tg_username != "", "@" + S.tg_username, "a chat"),
                    weight="medium",
                    id="telegram-username",
                ),
                align="center",
                spacing="2",
            ),
            rx.text("since ", S.tg_linked_at, size="1", color_scheme="gray"),
            spacing="1",
        ),
        rx.button(
            "Unlink",
            variant="soft",
            color_scheme="red",
            on_click=S.ask("unlink", "telegram", ""),
            loading=S.tg_busy,
            id="telegram-unlink",
        ),
        justify="between",
        align="center",
        width="100%",
        wrap="wrap",
        id="telegram-linked",
    )
    return card(
        section_title("Telegram"),
        rx.cond(
            S.tg_configured,
            rx.cond(S.tg_linked, linked, not_linked),
            rx.text(
                "Telegram is not configured on this server.",
                color_scheme="gray",
                size="2",
                id="telegram-unconfigured",
            ),
        ),
        confirm_dialog(
            title="Unlink Telegram?",
            description="The bot stops sending alerts to this chat and stops answering its commands.",
            keep_label="Keep it",
            confirm_label="Unlink",
            on_confirm=S.unlink_telegram,
            is_open=S.confirming("unlink"),
            on_open_change=S.confirm_open_change,
            element_id="telegram-unlink",
        ),
        id="telegram-section",
    )


def _email() -> rx.Component:
    note = rx.cond(
        S.email_error != "",
        rx.text(S.email_error, size="1", color_scheme="red", id="email-error", role="alert"),
        rx.cond(
            S.email_note != "",
            rx.text(
                S.email_note,
                size="1",
                color_scheme=rx.cond(S.email_verified, "green", "amber"),
                id="email-note",
            ),
        ),
    )
    form = rx.vstack(
        rx.flex(
            rx.input(
                value=S.email_address,
                on_change=S.set_email_address,
                placeholder="you@example.com",
                type="email",
                id="email-address",
                flex="1 1 220px",
                min_width="0",
            ),
            rx.select.root(
                rx.select.trigger(id="email-frequency", aria_label="How often"),
                rx.select.content(
                    *(rx.select.item(label, value=value) for value, label in FREQUENCIES.items())
                ),
                value=S.email_frequency,
                on_change=S.set_email_frequency,
            ),
            rx.button("Save", on_click=S.save_email, loading=S.email_busy, id="email-save"),
            gap="8px",
            wrap="wrap",
            width="100%",
        ),
        note,
        rx.cond(
            S.email_current != "",
            rx.button(
                "Remove address",
                variant="ghost",
                color_scheme="red",
                size="1",
                on_click=S.remove_email,
                id="email-remove",
            ),
        ),
        spacing="2",
        width="100%",
    )
    return card(
        section_title("Email"),
        rx.cond(
            S.email_configured,
            form,
            rx.text(
                "Email is not configured on this server.",
                color_scheme="gray",
                size="2",
                id="email-unconfigured",
            ),
        ),
        id="email-section",
    )


def notify_settings() -> rx.Component:
    return page(
        page_heading(
            "Notification settings",
            "Which events reach you, in the app, on Telegram, by email or at your webhooks.",
            element_id="notify-settings-title",
        ),
        rx.link("← Your notifications", href=NOTIFICATIONS_ROUTE, size="2"),
        error_callout(S.error),
        rx.cond(
            S.status == "loading",
            loading_message(),
            rx.cond(
                S.status == "ready",
                rx.vstack(
                    _preferences(), _telegram(), _email(), webhooks_section(), spacing="5", width="100%"
                ),
            ),
        ),
    )
