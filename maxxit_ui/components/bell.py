"""The header's bell: a link to /notifications with the unread count, refreshed on a modest timer."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.state.notifications import BELL_POLL_MS, BellState
from maxxit_ui.state.notify_rows import NOTIFICATIONS_ROUTE


def bell() -> rx.Component:
    """40 px square (a thumb's target on a phone); the badge is hidden while nothing is unread."""
    return rx.link(
        rx.box(
            rx.icon("bell", size=20),
            rx.cond(
                BellState.unread > 0,
                rx.badge(
                    BellState.badge,
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    size="1",
                    id="bell-count",
                    position="absolute",
                    top="2px",
                    right="0px",
                    style={"pointerEvents": "none", "paddingInline": "5px", "minWidth": "18px"},
                ),
            ),
            # The timer: one small count read per tick while the page is open.
            rx.box(
                rx.moment(interval=BELL_POLL_MS, format="HH:mm:ss", on_change=BellState.poll),
                display="none",
            ),
            position="relative",
            display="flex",
            align_items="center",
            justify_content="center",
            width="40px",
            height="40px",
            on_mount=BellState.poll,
        ),
        href=NOTIFICATIONS_ROUTE,
        color_scheme="gray",
        high_contrast=True,
        underline="none",
        id="nav-bell",
        aria_label=BellState.bell_label,
        title=BellState.bell_label,
    )
