"""A spot deployment's Safe `/deployments/[deployment_id]/safe`: what the Maxxit module can and can never do,
the module, the Safe and the executor with its gas, and "Sign in wallet" to enable (or, once cancelled,
revoke) it. The deploy wizard ends here for spot; the deployments page links here."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, error_callout, link_button, loading_message, page, section_title
from maxxit_ui.state.deploy_safe import SafeSetupState, SafeTxRow

ROUTE = "/deployments/[deployment_id]/safe"
TOUCH = "40px"  # the smallest touch target

MODULE_CANNOT = (
    "Transfer tokens out of your Safe, to anyone",
    "Change your Safe's owners, threshold, modules or settings",
    "Call any other contract or function",
)

S = SafeSetupState


def _address_line(label: str, value: rx.Var[str], element_id: str) -> rx.Component:
    """A label over a full address: on a phone the address wraps instead of widening the page."""
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.code(value, size="2", word_break="break-all", id=element_id),
        spacing="1",
        width="100%",
    )


def module_scope(tokens: rx.Var[str] | str, *, element_id: str) -> rx.Component:
    """What the module lets an executor do, and what it never can: shown before anything is signed."""
    return rx.vstack(
        rx.callout(
            rx.vstack(
                rx.text("The Maxxit module can", weight="bold"),
                rx.text(
                    "Swap between USDC and ",
                    rx.text.strong(tokens, id=f"{element_id}-tokens"),
                    ", only into your Safe itself, and only with a minimum output for every swap "
                    "(a slippage guard from our price).",
                ),
                spacing="1",
                align="start",
            ),
            icon="shield_check",
            color_scheme="green",
            width="100%",
            id=f"{element_id}-can",
        ),
        rx.callout(
            rx.vstack(
                rx.text("It can never", weight="bold"),
                *(rx.text("· ", line) for line in MODULE_CANNOT),
                spacing="1",
                align="start",
            ),
            icon="shield_off",
            color_scheme="red",
            width="100%",
            id=f"{element_id}-cannot",
        ),
        spacing="3",
        width="100%",
    )


def _safe_app_tx(tx: SafeTxRow) -> rx.Component:
    return rx.vstack(
        rx.text(tx["nonce"], ". ", tx["description"], size="2", weight="medium"),
        _address_line("To", tx["to"], "safe-app-to"),
        _address_line("Data", tx["data"], "safe-app-data"),
        spacing="2",
        width="100%",
    )


def _safe_app() -> rx.Component:
    """A Safe with several owners to sign: the transactions to propose in the Safe app, then "Check again"."""
    return rx.vstack(
        rx.callout(S.message, icon="users", color_scheme="amber", width="100%", id="safe-needs-app"),
        rx.foreach(S.transactions, _safe_app_tx),
        spacing="3",
        width="100%",
    )


def _sign_button() -> rx.Component:
    label = rx.match(
        S.busy,
        ("connecting", "Asking your wallet…"),
        ("signing", "Sign in your wallet…"),
        ("submitting", "Sending to the chain…"),
        ("loading", "Reading the chain…"),
        rx.cond(S.revoking, "Sign in wallet to disable", "Sign in wallet"),
    )
    return rx.button(
        rx.cond(S.busy != "", rx.spinner(size="2"), rx.icon("pen_line", size=16)),
        label,
        on_click=S.sign,
        disabled=S.busy != "",
        size="3",
        min_height=TOUCH,
        width=rx.breakpoints(initial="100%", sm="auto"),
        id="safe-sign",
    )


def _actions() -> rx.Component:
    return rx.flex(
        rx.cond(
            (S.to_sign > 0) & ~S.needs_safe_app,
            _sign_button(),
        ),
        rx.button(
            rx.icon("refresh_cw", size=16),
            "Check again",
            on_click=S.refresh,
            disabled=S.busy != "",
            variant="soft",
            size="3",
            min_height=TOUCH,
            id="safe-refresh",
        ),
        link_button(
            "list",
            "My deployments",
            "/deployments",
            element_id="safe-deployments",
            variant="soft",
            size="3",
            min_height=TOUCH,
        ),
        gap="3",
        wrap="wrap",
        width="100%",
    )


def _state_badge() -> rx.Component:
    return rx.cond(
        S.disabled,
        rx.badge(
            rx.icon("circle_off", size=14),
            "Module disabled",
            color_scheme="gray",
            size="3",
            id="safe-disabled",
        ),
        rx.cond(
            S.enabled,
            rx.badge(
                rx.icon("check", size=14), "Module enabled", color_scheme="green", size="3", id="safe-enabled"
            ),
            rx.badge("Not enabled yet", color_scheme="amber", size="3", id="safe-not-enabled"),
        ),
    )


def _panel() -> rx.Component:
    return card(
        rx.vstack(
            rx.flex(
                section_title("Maxxit spot module"),
                _state_badge(),
                justify="between",
                align="center",
                wrap="wrap",
                gap="2",
                width="100%",
            ),
            module_scope(S.tokens, element_id="safe-scope"),
            _address_line("Module", S.module_address, "safe-module"),
            _address_line(
                rx.cond(S.enabled, "Enabled on your Safe", "To be enabled on your Safe"),
                S.safe_address,
                "safe-address",
            ),
            _address_line(
                "Executor (swaps for this deployment, pays the gas)", S.executor_address, "safe-executor"
            ),
            rx.hstack(
                rx.text("Executor gas", size="2", color_scheme="gray"),
                rx.text(S.executor_balance, size="2", weight="medium", id="safe-executor-balance"),
                rx.cond(
                    ~S.executor_has_gas & (S.to_sign > 0),
                    rx.text("send it a little ETH first", size="2", color_scheme="red", id="safe-no-gas"),
                ),
                wrap="wrap",
                spacing="2",
            ),
            rx.text(S.message, size="2", id="safe-message"),
            rx.cond(S.needs_safe_app, _safe_app()),
            error_callout(S.sign_error, element_id="safe-sign-error"),
            _actions(),
            spacing="4",
            width="100%",
        ),
        id="safe-panel",
    )


def _not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("Deployment not found", size="5"),
            link_button("list", "My deployments", "/deployments", element_id="safe-back", variant="soft"),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
    )


def deploy_safe() -> rx.Component:
    return page(
        rx.vstack(
            rx.link("← My deployments", href="/deployments", size="2", color_scheme="gray"),
            rx.heading(
                "Your Safe · deployment #", S.deployment_ref, size="7", weight="bold", id="safe-heading"
            ),
            spacing="2",
        ),
        rx.match(
            S.status,
            ("ready", _panel()),
            ("not_found", _not_found()),
            ("error", error_callout(S.error)),
            loading_message("Reading your Safe on chain…"),
        ),
    )
