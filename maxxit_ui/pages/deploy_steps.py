"""The deploy wizard's five step cards: venue, account, approval (Hyperliquid), risk and review."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventHandler

from maxxit_ui.components.forms import dom_id, field_error
from maxxit_ui.components.layout import error_callout, section_title
from maxxit_ui.components.sandbox import sandbox_faucet
from maxxit_ui.pages.deploy_safe import module_scope
from maxxit_ui.state.billing_rows import PAPER_IS_FREE
from maxxit_ui.state.deploy import DeployState, ReviewItem
from maxxit_ui.state.deploy_form import SIZING_LABELS, TIMES, RouteOption

WALLET_SCOPE = (
    "This agent wallet can place and cancel orders on your Hyperliquid account. "
    "It cannot withdraw or transfer your funds."
)

FEE_SCOPE = (
    "The platform's fee is collected by Hyperliquid on each order the agent opens, instead of a trade fee "
    "on your invoice. Approving it lets Hyperliquid take at most this rate of an order for the platform; "
    "the platform itself can still never move your funds."
)

S = DeployState


def _field(label: str, control: rx.Component, field: str, hint: str = "") -> rx.Component:
    """Label, input, then the hint or the reason the value was refused."""
    error = S.errors[field]
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=f"deploy-{dom_id(field)}"),
        control,
        rx.cond(
            error != "",
            field_error(error, field),
            rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        ),
        spacing="1",
        width="100%",
    )


def _input(field: str, value: rx.Var[str], *slots: rx.Component, **props) -> rx.Component:
    return rx.input(
        *slots,
        value=value,
        on_change=lambda v: S.set_field(field, v),
        id=f"deploy-{dom_id(field)}",
        width="100%",
        **props,
    )


def _unit(text: str, side: str = "right") -> rx.Component:
    return rx.input.slot(rx.text(text, size="2", color_scheme="gray"), side=side)


def _route_card(option: RouteOption) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.text(option["label"], size="3", weight="bold"),
            rx.text(option["description"], size="2", color_scheme="gray"),
            spacing="1",
            align="start",
            width="100%",
        ),
        value=option["key"],
        id="deploy-route-" + option["slug"],
    )


def _paper_only() -> rx.Component:
    """An agent built for a venue without a live connection yet says so before anything else."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("info")),
        rx.callout.text(rx.text(S.paper_only, weight="bold"), id="deploy-paper-only"),
        rx.callout.text(
            S.agent_venue_label,
            " has no live connection yet: this agent deploys to paper, at live prices, with no real funds.",
            size="2",
        ),
        color_scheme="amber",
        width="100%",
    )


def venue_step() -> rx.Component:
    return rx.vstack(
        section_title("Where should it trade?"),
        rx.cond(S.paper_only != "", _paper_only()),
        rx.cond(
            S.agent_venue == "MULTI",
            rx.text(
                "This agent routes each signal to a venue it lists. Choose live or paper: a live "
                "deployment never falls back to paper.",
                size="2",
                color_scheme="gray",
                id="deploy-multi-note",
            ),
        ),
        rx.radio_cards.root(
            rx.foreach(S.options, _route_card),
            value=S.route,
            on_value_change=lambda v: S.set_field("route", v),
            columns=rx.breakpoints(initial="1", sm="2"),
            width="100%",
            id="deploy-route",
        ),
        field_error(S.errors["route"], "route"),
        spacing="3",
        width="100%",
    )


def _billing_note(element_id: str) -> rx.Component:
    """Paper is free (item 3 of issue 16); a live route never trades on paper, so it has no such note."""
    return rx.cond(
        S.uses_paper,
        rx.callout(PAPER_IS_FREE, icon="badge_check", color_scheme="green", size="1", id=element_id),
    )


def account_step() -> rx.Component:
    return rx.vstack(
        section_title("Account"),
        _billing_note("deploy-billing-note"),
        rx.cond(
            S.uses_paper,
            _field(
                "Paper starting balance",
                _input("starting_balance", S.starting_balance, _unit("$", "left"), input_mode="decimal"),
                "starting_balance",
                "Virtual US dollars, from $100. Paper trades fill at live prices with simulated venue fees "
                "and slippage.",
            ),
        ),
        rx.cond(
            S.uses_hyperliquid,
            rx.vstack(
                _field(
                    "Your Hyperliquid account",
                    _input("user_wallet", S.user_wallet, placeholder="0x…", font_family="monospace"),
                    "user_wallet",
                    "The address of the account the agent trades for; yours unless you change it.",
                ),
                rx.text(
                    "The platform creates a fresh agent wallet for this deployment. You approve it with this "
                    "account's own wallet in the next step; the agent then trades on your account.",
                    size="2",
                    color_scheme="gray",
                    id="deploy-agent-wallet-note",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
        max_width="560px",
    )


def _approve_button() -> rx.Component:
    return _wallet_button("Approve in wallet", "shield_check", S.approve, "deploy-approve")


def _approval_error() -> rx.Component:
    return rx.cond(
        S.approval_error != "",
        rx.hstack(
            rx.callout(
                S.approval_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                id="deploy-approval-error",
                flex="1",
            ),
            rx.button(
                rx.icon("rotate_ccw", size=14),
                "Try again",
                on_click=S.retry_approval,
                variant="soft",
                color_scheme="red",
                id="deploy-approval-retry",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
    )


def _fee_button() -> rx.Component:
    return _wallet_button("Approve builder fee in wallet", "percent", S.approve_fee, "deploy-approve-fee")


def _wallet_button(idle: str, icon: str, on_click: EventHandler, button_id: str) -> rx.Component:
    """An approval's button: `idle` until clicked, then what the wallet and Hyperliquid are doing."""
    busy = S.approval_busy
    label = rx.match(
        busy,
        ("connecting", "Asking your wallet…"),
        ("signing", "Sign in your wallet…"),
        ("submitting", "Sending to Hyperliquid…"),
        idle,
    )
    return rx.button(
        rx.cond(busy != "", rx.spinner(size="2"), rx.icon(icon, size=16)),
        label,
        on_click=on_click,
        disabled=busy != "",
        size="3",
        id=button_id,
    )


def _builder_fee() -> rx.Component:
    """Once the agent wallet is approved: the platform's builder fee, as a percent, approved the same way."""
    return rx.vstack(
        rx.hstack(
            rx.text("Builder fee", size="2", color_scheme="gray"),
            rx.text(S.fee_text, size="2", weight="medium", id="deploy-builder-fee"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.text(FEE_SCOPE, size="2", color_scheme="gray", id="deploy-fee-scope"),
        rx.cond(
            S.fee_approved,
            rx.badge(
                rx.icon("check", size=14),
                "Builder fee approved",
                color_scheme="green",
                size="2",
                id="deploy-fee-approved",
            ),
            _fee_button(),
        ),
        spacing="3",
        width="100%",
    )


def approval_step() -> rx.Component:
    return rx.vstack(
        section_title("Approve the agent wallet"),
        rx.callout(WALLET_SCOPE, icon="shield", color_scheme="blue", id="deploy-wallet-scope"),
        sandbox_faucet(S.user_wallet),
        rx.cond(
            S.wallet_address == "",
            rx.button(
                rx.cond(S.approval_busy == "creating", rx.spinner(size="2"), rx.icon("key_round", size=16)),
                "Create agent wallet",
                on_click=S.create_wallet,
                disabled=S.approval_busy != "",
                size="3",
                id="deploy-create-wallet",
            ),
            rx.vstack(
                rx.hstack(
                    rx.text("Agent wallet", size="2", color_scheme="gray"),
                    rx.code(S.wallet_address, id="deploy-agent-wallet", size="2", word_break="break-all"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text("Trades for", size="2", color_scheme="gray"),
                    rx.code(S.wallet_master, size="2", id="deploy-wallet-master", word_break="break-all"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                rx.cond(
                    S.approved,
                    rx.badge(
                        rx.icon("check", size=14),
                        "Approved on Hyperliquid",
                        color_scheme="green",
                        size="2",
                        id="deploy-approved",
                    ),
                    _approve_button(),
                ),
                rx.cond(S.approved & (S.fee_text != ""), _builder_fee()),
                spacing="3",
                width="100%",
            ),
        ),
        _approval_error(),
        spacing="4",
        width="100%",
    )


def safe_step() -> rx.Component:
    """Spot: the user's Safe, and what the module they enable on it may do; signing comes after Deploy."""
    return rx.vstack(
        section_title("Your Safe"),
        _field(
            "Safe address",
            _input("safe_address", S.safe_address, placeholder="0x…", font_family="monospace"),
            "safe_address",
            "A Safe on Arbitrum holding the USDC to trade; your signed-in wallet must be one of its owners.",
        ),
        module_scope(S.spot_tokens, element_id="deploy-module-scope"),
        rx.vstack(
            rx.text("Module", size="1", color_scheme="gray"),
            rx.code(S.spot_module, size="2", word_break="break-all", id="deploy-spot-module"),
            rx.text("To be enabled on", size="1", color_scheme="gray"),
            rx.code(
                rx.cond(S.safe_address != "", S.safe_address, "your Safe"),
                size="2",
                word_break="break-all",
                id="deploy-spot-safe",
            ),
            spacing="1",
            width="100%",
        ),
        rx.text(
            "After Deploy, the platform creates this deployment's executor (a key only it holds, which can "
            "only swap through the module) and you sign, in your wallet, the Safe transactions that enable "
            "the module for it. Cancelling the deployment offers the transactions that revoke it.",
            size="2",
            color_scheme="gray",
            id="deploy-safe-note",
        ),
        spacing="4",
        width="100%",
        max_width="640px",
    )


def _percent(field: str, label: str, value: rx.Var[str], hint: str) -> rx.Component:
    return _field(label, _input(field, value, _unit("%"), input_mode="decimal"), field, hint)


def risk_step() -> rx.Component:
    return rx.vstack(
        section_title("Risk"),
        rx.text(
            "Prefilled with the agent's settings. Change any of them for this deployment only.", size="2"
        ),
        rx.grid(
            _field(
                "Sizing profile",
                rx.select.root(
                    rx.select.trigger(id="deploy-sizing-profile", aria_label="Sizing profile", width="100%"),
                    rx.select.content(
                        *(rx.select.item(text, value=key) for key, text in SIZING_LABELS.items())
                    ),
                    value=S.sizing_profile,
                    on_change=lambda v: S.set_field("sizing_profile", v),
                ),
                "sizing_profile",
                "How much of the balance each trade uses, by the signal's confidence.",
            ),
            _field(
                "Max trade size",
                _input("max_trade_usd", S.max_trade_usd, _unit("$", "left"), input_mode="decimal"),
                "max_trade_usd",
                "Leave empty for no cap beyond the sizing profile; at least $10.",
            ),
            _field(
                "Leverage",
                _input("leverage_cap", S.leverage_cap, _unit(TIMES), input_mode="decimal"),
                "leverage_cap",
                f"The agent trades at {S.agent_leverage}; 1 to 50, never above a market's maximum.",
            ),
            _percent("stoploss", "Stop loss", S.stoploss, "Close at this loss; below 100 %."),
            _percent(
                "take_profit",
                "Take profit",
                S.take_profit,
                "Empty: the agent's (or none if it has none).",
            ),
            _percent(
                "trailing_stop_positive_offset",
                "Trailing stop activation",
                S.trailing_stop_positive_offset,
                "The trailing stop arms at this gain.",
            ),
            _percent(
                "trailing_stop_positive",
                "Trailing stop distance",
                S.trailing_stop_positive,
                "How far below the high it trails.",
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _review_item(item: ReviewItem) -> rx.Component:
    return rx.hstack(
        rx.text(item["label"], size="2", color_scheme="gray"),
        rx.text(item["value"], size="2", weight="medium", text_align="right", word_break="break-all"),
        justify="between",
        spacing="4",
        width="100%",
        id=item["id"],
    )


def review_step() -> rx.Component:
    return rx.vstack(
        section_title("Review"),
        rx.vstack(rx.foreach(S.review, _review_item), spacing="3", width="100%", id="deploy-review"),
        _billing_note("deploy-review-billing-note"),
        error_callout(S.errors["form"], element_id="deploy-form-error"),
        spacing="3",
        width="100%",
        max_width="640px",
    )
