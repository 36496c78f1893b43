"""The sandbox notice with its faucet button: shown only while the demo runs the Hyperliquid sandbox."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.state.sandbox import SandboxState


def sandbox_faucet(address: rx.Var[str] | str = "") -> rx.Component:
    """Credit sandbox USDC to `address` (default: the signed-in wallet)."""
    return rx.box(
        rx.cond(
            SandboxState.enabled,
            rx.callout.root(
                rx.callout.icon(rx.icon("flask_conical", size=16)),
                rx.vstack(
                    rx.text(
                        "Hyperliquid sandbox: no real funds. A local Hyperliquid-compatible server stands in "
                        "for the venue; fund your sandbox account to approve agents, trade and pay invoices.",
                        size="2",
                    ),
                    rx.button(
                        rx.cond(SandboxState.busy, rx.spinner(size="1"), rx.icon("droplets", size=14)),
                        "Get ",
                        SandboxState.amount,
                        " sandbox USDC",
                        on_click=SandboxState.credit(address),
                        disabled=SandboxState.busy,
                        size="2",
                        variant="soft",
                        id="sandbox-faucet",
                    ),
                    rx.cond(
                        SandboxState.message != "",
                        rx.text(
                            SandboxState.message, size="2", color_scheme="green", id="sandbox-faucet-done"
                        ),
                    ),
                    rx.cond(
                        SandboxState.error != "",
                        rx.text(SandboxState.error, size="2", color_scheme="red", id="sandbox-faucet-error"),
                    ),
                    spacing="2",
                    align="start",
                ),
                color_scheme="amber",
                width="100%",
                id="sandbox-notice",
            ),
        ),
        on_mount=SandboxState.load,
        width="100%",
    )
