"""The 404 page: any address the app does not know, inside the usual header so the way on is one tap away."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import link_button, page

ROUTE = "404"  # Reflex's slug for the page served at every unknown route
TITLE = "Page not found · Maxxit"


def not_found() -> rx.Component:
    return page(
        rx.center(
            rx.vstack(
                rx.icon("map_pin_off", size=40, color="var(--gray-9)"),
                rx.heading("Page not found", size="7", weight="bold", id="not-found"),
                rx.text(
                    "There is nothing at this address. It may have moved, or the link may be mistyped.",
                    color_scheme="gray",
                    text_align="center",
                ),
                rx.flex(
                    link_button(
                        "house",
                        "Back to the home page",
                        "/",
                        element_id="not-found-home",
                        size="3",
                        width="100%",
                    ),
                    rx.link(
                        rx.button("Browse the marketplace", size="3", variant="soft", width="100%"),
                        href="/marketplace",
                        id="not-found-marketplace",
                    ),
                    direction=rx.breakpoints(initial="column", sm="row"),
                    gap="3",
                    padding_top="8px",
                ),
                align="center",
                spacing="3",
                max_width="480px",
            ),
            padding_y="64px",
        ),
    )
