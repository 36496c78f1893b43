"""The webhooks card of `/settings/notifications`: endpoints, the add form, the one-time secret dialog and
one endpoint's delivery log with Redeliver."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.dialogs import confirm_dialog
from maxxit_ui.components.layout import card, empty_message, section_title
from maxxit_ui.state.notify_rows import AttemptRow, EndpointRow, EventChoice
from maxxit_ui.state.webhooks import WebhooksState

W = WebhooksState


def _endpoint(row: EndpointRow) -> rx.Component:
    busy = W.busy == row["id"]
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text(
                    row["url"],
                    size="2",
                    weight="medium",
                    font_family="monospace",
                    style={"overflowWrap": "anywhere"},
                ),
                rx.badge(
                    row["status"],
                    color_scheme=rx.cond(row["enabled"], "green", "red"),
                    variant="soft",
                    id="webhook-status-" + row["id"],
                    style={"whiteSpace": "normal"},
                ),
                justify="between",
                align="start",
                width="100%",
                wrap="wrap",
                spacing="2",
            ),
            rx.cond(row["description"] != "", rx.text(row["description"], size="1")),
            rx.text(
                "Events: ", row["events"], size="1", color_scheme="gray", style={"overflowWrap": "anywhere"}
            ),
            rx.flex(
                rx.cond(
                    row["enabled"],
                    rx.fragment(),
                    rx.button(
                        "Enable again",
                        size="1",
                        on_click=W.enable(row["id"]),
                        disabled=busy,
                        id="webhook-enable-" + row["id"],
                    ),
                ),
                rx.button(
                    rx.cond(W.edit_id == row["id"], "Close edit", "Edit"),
                    size="1",
                    variant="soft",
                    on_click=W.start_edit(row["id"]),
                    disabled=busy,
                    id="webhook-edit-" + row["id"],
                ),
                rx.button(
                    "Send test",
                    size="1",
                    variant="soft",
                    on_click=W.send_test(row["id"]),
                    disabled=busy,
                    id="webhook-test-" + row["id"],
                ),
                rx.button(
                    "Delivery log",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=W.show_log(row["id"]),
                    id="webhook-log-" + row["id"],
                ),
                rx.button(
                    "Rotate secret",
                    size="1",
                    variant="soft",
                    color_scheme="amber",
                    on_click=W.ask("rotate", row["id"], row["url"]),
                    disabled=busy,
                    id="webhook-rotate-" + row["id"],
                ),
                rx.button(
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=W.ask("delete", row["id"], row["url"]),
                    disabled=busy,
                    id="webhook-delete-" + row["id"],
                ),
                gap="8px",
                wrap="wrap",
            ),
            rx.cond(W.edit_id == row["id"], _edit_form()),
            rx.cond(W.log_id == row["id"], _log()),
            spacing="2",
            width="100%",
        ),
        padding_y="12px",
        border_bottom="1px solid var(--gray-a4)",
        id="webhook-" + row["id"],
        class_name="webhook-endpoint",
    )


def _attempt(row: AttemptRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["event_type"], size="1", font_family="monospace"),
                rx.text(row["time"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(row["status"], color_scheme=row["color"], variant="soft", size="1"),
                rx.text(
                    row["attempt"],
                    " ",
                    row["code"],
                    " ",
                    row["latency"],
                    size="1",
                    color_scheme="gray",
                    white_space="nowrap",
                ),
                rx.cond(
                    row["error"] != "",
                    rx.text(row["error"], size="1", color_scheme="red", style={"overflowWrap": "anywhere"}),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.button(
                "Redeliver",
                size="1",
                variant="ghost",
                on_click=W.redeliver(row["delivery_id"]),
                disabled=W.busy != "",
            ),
            justify="end",
        ),
        class_name="webhook-attempt",
    )


def _log() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text("Delivery log", size="2", weight="medium"),
            rx.icon_button(
                rx.icon("refresh_cw", size=14),
                size="1",
                variant="ghost",
                on_click=W.refresh_log,
                title="Refresh",
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            W.log_rows.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Event"),
                        rx.table.column_header_cell("Result"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(W.log_rows, _attempt)),
                variant="ghost",
                size="1",
                width="100%",
            ),
            empty_message("Nothing sent to this endpoint yet.", element_id="webhook-log-empty"),
        ),
        width="100%",
        overflow_x="auto",
        background="var(--gray-a2)",
        border_radius="var(--radius-3)",
        padding="8px",
        id="webhook-log",
    )


def _event_checkbox(choice: EventChoice, on_toggle: rx.EventHandler, id_prefix: str) -> rx.Component:
    """One event type as a labelled checkbox; the add and edit forms differ only in handler and id."""
    return rx.text(
        rx.flex(
            rx.checkbox(
                checked=choice["checked"],
                on_change=lambda checked: on_toggle(choice["event_type"], checked),
                id=id_prefix + choice["event_type"],
            ),
            choice["description"],
            gap="2",
            align="center",
        ),
        as_="label",
        size="2",
    )


def _event_picker(
    choices: rx.Var[list[EventChoice]], on_toggle: rx.EventHandler, id_prefix: str, element_id: str
) -> rx.Component:
    """Every event type's box in a grid, two columns from small screens up (the add and edit forms)."""
    return rx.grid(
        rx.foreach(choices, lambda choice: _event_checkbox(choice, on_toggle, id_prefix)),
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="1",
        width="100%",
        id=element_id,
    )


def _field_error(message: rx.Var[str], element_id: str) -> rx.Component:
    """The server's reason for refusing a field, shown beside it only while there is one."""
    return rx.cond(
        message != "",
        rx.text(message, size="1", color_scheme="red", id=element_id, role="alert"),
    )


def _edit_form() -> rx.Component:
    """The endpoint's URL, events and on/off, edited in place; a refusal shows beside its field."""
    return rx.vstack(
        rx.text("URL", size="1", weight="medium"),
        rx.input(
            value=W.edit_url,
            on_change=W.set_edit_url,
            id="webhook-edit-url",
            width="100%",
        ),
        _field_error(W.edit_url_error, "webhook-edit-url-error"),
        rx.text(
            rx.flex(
                rx.switch(
                    checked=W.edit_enabled,
                    on_change=W.set_edit_enabled,
                    id="webhook-edit-enabled",
                ),
                "Deliveries on",
                gap="2",
                align="center",
            ),
            as_="label",
            size="2",
        ),
        _event_picker(W.edit_events, W.toggle_edit_event, "webhook-edit-event-", "webhook-edit-events"),
        _field_error(W.edit_events_error, "webhook-edit-events-error"),
        rx.flex(
            rx.button(
                "Save", size="1", on_click=W.save_edit, loading=W.busy == W.edit_id, id="webhook-edit-save"
            ),
            rx.button(
                "Cancel",
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=W.cancel_edit,
                id="webhook-edit-cancel",
            ),
            gap="8px",
            wrap="wrap",
        ),
        spacing="2",
        width="100%",
        background="var(--gray-a2)",
        border_radius="var(--radius-3)",
        padding="8px",
        id="webhook-edit-form",
    )


def _add_form() -> rx.Component:
    return rx.vstack(
        rx.text("Add an endpoint", size="2", weight="medium"),
        rx.input(
            value=W.new_url,
            on_change=W.set_new_url,
            placeholder="https://example.com/maxxit-webhook",
            id="webhook-url",
            width="100%",
        ),
        _field_error(W.url_error, "webhook-url-error"),
        rx.input(
            value=W.new_description,
            on_change=W.set_new_description,
            placeholder="Description (optional)",
            id="webhook-description",
            width="100%",
        ),
        _event_picker(W.new_events, W.toggle_new_event, "webhook-event-", "webhook-events"),
        _field_error(W.events_error, "webhook-events-error"),
        rx.button(
            rx.icon("plus", size=16),
            "Add endpoint",
            on_click=W.add,
            loading=W.busy == "new",
            id="webhook-add",
        ),
        spacing="2",
        width="100%",
        padding_top="12px",
    )


def _secret_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(W.secret_title, style={"overflowWrap": "anywhere"}),
            rx.callout(
                "Copy it now: this secret is shown once and cannot be shown again. Verify each delivery's "
                "webhook-signature with it (Standard Webhooks).",
                icon="triangle_alert",
                color_scheme="amber",
                size="1",
            ),
            rx.hstack(
                rx.code(
                    W.secret,
                    id="webhook-secret",
                    style={"overflowWrap": "anywhere", "wordBreak": "break-all"},
                ),
                rx.icon_button(
                    rx.icon("copy", size=16),
                    variant="soft",
                    on_click=[rx.set_clipboard(W.secret), rx.toast.info("Copied")],
                    title="Copy the secret",
                    id="webhook-secret-copy",
                ),
                align="center",
                spacing="2",
                margin_y="12px",
                width="100%",
            ),
            rx.hstack(
                rx.dialog.close(
                    rx.button("I have copied it", on_click=W.close_secret, id="webhook-secret-done")
                ),
                justify="end",
            ),
            id="webhook-secret-dialog",
        ),
        open=W.secret != "",
        on_open_change=W.secret_dialog_change,
    )


def webhooks_section() -> rx.Component:
    return card(
        section_title("Webhooks"),
        rx.text(
            "Signed POSTs (Standard Webhooks) to your own server for the events you choose.",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(
            W.items.length() > 0,
            rx.box(rx.foreach(W.items, _endpoint), width="100%", id="webhook-list"),
            empty_message("No webhook endpoints yet.", element_id="webhook-empty"),
        ),
        _add_form(),
        _secret_dialog(),
        confirm_dialog(
            title="Rotate this endpoint's secret?",
            description="A new secret is shown once. Deliveries are signed with the current one too for a "
            "while (a second signature), so update your receiver soon after.",
            keep_label="Keep the current one",
            confirm_label="Rotate",
            on_confirm=W.confirm_rotate,
            is_open=W.confirming("rotate"),
            on_open_change=W.confirm_open_change,
            element_id="webhook-rotate",
        ),
        confirm_dialog(
            title="Delete this endpoint?",
            description="Nothing more is sent to it; its delivery log goes with it.",
            keep_label="Keep it",
            confirm_label="Delete",
            on_confirm=W.confirm_delete,
            is_open=W.confirming("delete"),
            on_open_change=W.confirm_open_change,
            element_id="webhook-delete",
        ),
        rx.cond(W.error != "", rx.text(W.error, color_scheme="red", size="2", role="alert")),
        id="webhooks-section",
    )
