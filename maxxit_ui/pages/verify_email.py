"""/settings/notifications/verify-email?token=…: where the verification email's link lands."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, loading_message, page
from maxxit_ui.state.verify_email import VerifyEmailState as S

ROUTE = "/settings/notifications/verify-email"
SETTINGS_ROUTE = "/settings/notifications"


def verify_email() -> rx.Component:
    back = rx.link("Back to notification settings", href=SETTINGS_ROUTE, id="verify-email-back")
    return page(
        card(
            rx.match(
                S.status,
                ("loading", loading_message("Verifying your email address…")),
                (
                    "verified",
                    rx.vstack(
                        rx.heading("Email verified", size="5", id="verify-email-ok"),
                        rx.text("Notifications will be sent to ", rx.text.strong(S.address), "."),
                        back,
                        spacing="3",
                    ),
                ),
                rx.vstack(
                    rx.heading("Email not verified", size="5"),
                    rx.callout(
                        S.error,
                        icon="triangle_alert",
                        color_scheme="red",
                        role="alert",
                        id="verify-email-error",
                    ),
                    back,
                    spacing="3",
                ),
            ),
        )
    )
