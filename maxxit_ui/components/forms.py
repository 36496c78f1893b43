"""Form building blocks: a labelled field with its own error message underneath."""

from __future__ import annotations

import reflex as rx


def dom_id(field: str) -> str:
    """`take_profit` -> `take-profit`, for element ids tests and labels refer to."""
    return field.replace("_", "-")


def field_error(message: rx.Var[str], field: str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(
            rx.icon("circle_alert", size=12, display="inline", margin_right="4px"),
            message,
            size="1",
            color_scheme="red",
            id=f"field-error-{dom_id(field)}",
            role="alert",
        ),
    )


def form_field(
    label: str,
    control: rx.Component,
    *,
    field: str,
    error: rx.Var[str],
    hint: str = "",
    **props,
) -> rx.Component:
    """Label, control, then the hint or (when the server refused the value) the reason in red."""
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=f"builder-{dom_id(field)}"),
        control,
        rx.cond(
            error != "",
            field_error(error, field),
            rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        ),
        spacing="1",
        width="100%",
        **props,
    )
