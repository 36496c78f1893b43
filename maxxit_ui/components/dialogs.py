"""The one confirm dialog: a destructive action asks first, says what will happen, and names both choices."""

from __future__ import annotations

import reflex as rx


def confirm_dialog(
    *,
    title: rx.Component | list,
    description: str,
    keep_label: str,
    confirm_label: str,
    on_confirm: rx.EventHandler,
    is_open: rx.Var,
    on_open_change: rx.EventHandler,
    element_id: str,
    loading: rx.Var | bool = False,
) -> rx.Component:
    """`element_id` names the dialog (`<id>-dialog`) and its confirm button (`<id>-confirm`)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(*(title if isinstance(title, list) else [title])),
            rx.alert_dialog.description(description, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(keep_label, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        confirm_label,
                        color_scheme="red",
                        on_click=on_confirm,
                        loading=loading,
                        id=f"{element_id}-confirm",
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            id=f"{element_id}-dialog",
        ),
        open=is_open,
        on_open_change=on_open_change,
    )
