"""Sign-in `/signin`: where protected pages send signed-out visitors; back to `next` once signed in."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import error_callout, page
from maxxit_ui.components.wallet import connect_button
from maxxit_ui.state.auth import AuthState

ROUTE = "/signin"


def _step(number: str, text: str) -> rx.Component:
    return rx.hstack(
        rx.badge(number, radius="full", variant="soft", size="2"),
        rx.text(text, size="2", color_scheme="gray"),
        align="center",
        spacing="3",
    )


def signin() -> rx.Component:
    return page(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.icon("wallet", size=36, color="var(--accent-9)"),
                    rx.heading("Sign in with your wallet", size="6", id="signin-heading"),
                    rx.text(
                        "Maxxit signs you in with Sign-In-With-Ethereum: your wallet signs a one-time "
                        "message. No transaction, no gas, and no key ever leaves your wallet.",
                        size="2",
                        color_scheme="gray",
                        text_align="center",
                    ),
                    rx.vstack(
                        _step("1", "Connect your wallet and pick an account."),
                        _step("2", "Sign the Maxxit sign-in message."),
                        _step("3", "Carry on where you were."),
                        spacing="2",
                        align="start",
                        width="100%",
                        padding_y="8px",
                    ),
                    rx.cond(
                        AuthState.signed_in,
                        rx.text("Signed in as ", AuthState.short_address, size="2", id="signin-done"),
                        connect_button("signin-connect", size="3", width="100%"),
                    ),
                    error_callout(AuthState.error, element_id="signin-error"),
                    spacing="4",
                    align="center",
                ),
                size="4",
                max_width="460px",
                width="100%",
            ),
            padding_y="48px",
        ),
    )
