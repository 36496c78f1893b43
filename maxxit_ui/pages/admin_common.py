"""What both admin pages share: their frame, the "Admins only" message for everyone else, the pager."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, error_callout, loading_message, page, page_heading


def admin_page(
    title: str, subtitle: str, status: rx.Var[str], error: rx.Var[str], content: rx.Component, loading: str
) -> rx.Component:
    """Heading, then the content when loaded, "Admins only" for traders, or the error."""
    return page(
        page_heading(title, subtitle),
        rx.match(
            status,
            ("ready", content),
            ("forbidden", admins_only()),
            ("error", error_callout(error)),
            loading_message(loading),
        ),
    )


def admin_table(
    filters: rx.Component,
    error: rx.Var[str],
    table: rx.Component,
    has_rows: rx.Var[bool],
    empty: rx.Component,
    pager_bar: rx.Component,
    *,
    prefix: str,
) -> rx.Component:
    """Filters, the error callout, then the table (or the empty message) with its pager in one card."""
    return rx.vstack(
        filters,
        error_callout(error, element_id=f"{prefix}-error"),
        card(rx.cond(has_rows, table, empty), pager_bar, overflow_x="auto"),
        spacing="4",
        width="100%",
    )


def admins_only() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield_x", size=40, color="var(--gray-9)"),
            rx.heading("Admins only", size="6", id="admins-only"),
            rx.text("This page is for platform operators.", color_scheme="gray"),
            rx.link(rx.button("Back to the marketplace", variant="soft"), href="/marketplace"),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
    )


def pager(label: rx.Var[str], on_prev, on_next, prev_disabled, next_disabled, prefix: str) -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("chevron_left", size=16),
            "Prev",
            on_click=on_prev,
            disabled=prev_disabled,
            variant="soft",
            color_scheme="gray",
            id=f"{prefix}-prev",
        ),
        rx.text(label, size="2", id=f"{prefix}-page-label"),
        rx.button(
            "Next",
            rx.icon("chevron_right", size=16),
            on_click=on_next,
            disabled=next_disabled,
            variant="soft",
            color_scheme="gray",
            id=f"{prefix}-next",
        ),
        align="center",
        justify="end",
        spacing="3",
        width="100%",
        margin_top="12px",
    )
