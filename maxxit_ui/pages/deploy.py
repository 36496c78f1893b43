"""Deploy wizard `/agents/[agent_id]/deploy`: a stepper, one card per step, Back / Next / Deploy."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.forms import dom_id, field_error
from maxxit_ui.components.layout import card, error_callout, loading_message, page, section_title
from maxxit_ui.components.tables import venue_badge
from maxxit_ui.pages.agent import agent_not_found
from maxxit_ui.state.deploy import DeployState, ReviewItem
from maxxit_ui.state.deploy_form import SIZING_LABELS, RouteOption, StepItem

ROUTE = "/agents/[agent_id]/deploy"
WALLET_SCOPE = (
    "This agent wallet can place and cancel orders on your Hyperliquid account. "
    "It cannot withdraw or transfer your funds."
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


# -- stepper -----------------------------------------------------------------------------------------


def _step(item: StepItem) -> rx.Component:
    done, current = item["state"] == "done", item["state"] == "current"
    return rx.hstack(
        rx.center(
            rx.cond(done, rx.icon("check", size=14), rx.text(item["number"], size="1", weight="bold")),
            width="24px",
            height="24px",
            border_radius="50%",
            background=rx.cond(current | done, "var(--accent-9)", "var(--gray-a4)"),
            color=rx.cond(current | done, "var(--accent-contrast)", "var(--gray-11)"),
        ),
        rx.text(
            item["label"],
            size="2",
            weight=rx.cond(current, "bold", "regular"),
            color=rx.cond(current | done, "var(--gray-12)", "var(--gray-10)"),
        ),
        align="center",
        spacing="2",
        cursor=rx.cond(done, "pointer", "default"),
        on_click=S.go_to(item["key"]),
        id="deploy-step-" + item["key"],
        custom_attrs={"data-state": item["state"], "aria-current": rx.cond(current, "step", "false")},
    )


def _stepper() -> rx.Component:
    return rx.hstack(
        rx.foreach(S.steps, _step),
        spacing="5",
        wrap="wrap",
        id="deploy-stepper",
        role="list",
        aria_label="Deployment steps",
    )


# -- steps -------------------------------------------------------------------------------------------


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


def _venue_step() -> rx.Component:
    return rx.vstack(
        section_title("Where should it trade?"),
        rx.cond(
            S.agent_venue == "MULTI",
            rx.text(
                "This agent routes each signal to a venue: choose which ones, in order of preference.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.radio_cards.root(
            rx.foreach(S.options, _route_card),
            value=S.route,
            on_value_change=lambda v: S.set_field("route", v),
            columns=rx.breakpoints(initial="1", sm="3"),
            width="100%",
            id="deploy-route",
        ),
        field_error(S.errors["route"], "route"),
        spacing="3",
        width="100%",
    )


def _account_step() -> rx.Component:
    return rx.vstack(
        section_title("Account"),
        rx.cond(
            S.uses_paper,
            _field(
                "Paper starting balance",
                _input("starting_balance", S.starting_balance, _unit("$", "left"), input_mode="decimal"),
                "starting_balance",
                "Virtual US dollars, from $100. Paper trades fill at live prices with fees and slippage.",
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
    busy = S.approval_busy
    label = rx.match(
        busy,
        ("connecting", "Asking your wallet…"),
        ("signing", "Sign in your wallet…"),
        ("submitting", "Sending to Hyperliquid…"),
        "Approve in wallet",
    )
    return rx.button(
        rx.cond(busy != "", rx.spinner(size="2"), rx.icon("shield_check", size=16)),
        label,
        on_click=S.approve,
        disabled=busy != "",
        size="3",
        id="deploy-approve",
    )


def _approval_error() -> rx.Component:
    return rx.cond(
        S.approval_error != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert", size=16)),
            rx.callout.text(S.approval_error),
            rx.button(
                "Try again",
                on_click=rx.cond(S.wallet_address == "", S.create_wallet, S.approve),
                variant="soft",
                color_scheme="red",
                size="1",
                id="deploy-approval-retry",
            ),
            color_scheme="red",
            role="alert",
            id="deploy-approval-error",
        ),
    )


def _approval_step() -> rx.Component:
    return rx.vstack(
        section_title("Approve the agent wallet"),
        rx.callout(WALLET_SCOPE, icon="shield", color_scheme="blue", id="deploy-wallet-scope"),
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
                    rx.code(S.wallet_address, id="deploy-agent-wallet", size="2"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text("Trades for", size="2", color_scheme="gray"),
                    rx.code(S.wallet_master, size="2", id="deploy-wallet-master"),
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
                spacing="3",
                width="100%",
            ),
        ),
        _approval_error(),
        spacing="4",
        width="100%",
    )


def _percent(field: str, label: str, value: rx.Var[str], hint: str) -> rx.Component:
    return _field(label, _input(field, value, _unit("%"), input_mode="decimal"), field, hint)


def _risk_step() -> rx.Component:
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
                "Leverage cap",
                _input(
                    "leverage_cap", S.leverage_cap, _unit("\N{MULTIPLICATION SIGN}"), input_mode="decimal"
                ),
                "leverage_cap",
                "1 to 50; empty trades without leverage.",
            ),
            _percent("stop_loss_pct", "Stop loss", S.stop_loss_pct, "Close at this loss; below 100 %."),
            _percent(
                "take_profit_pct",
                "Take profit",
                S.take_profit_pct,
                "Empty: the agent's (or none if it has none).",
            ),
            _percent(
                "trailing_activation_pct",
                "Trailing stop activation",
                S.trailing_activation_pct,
                "The trailing stop arms at this gain.",
            ),
            _percent(
                "trailing_distance_pct",
                "Trailing stop distance",
                S.trailing_distance_pct,
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


def _review_step() -> rx.Component:
    return rx.vstack(
        section_title("Review"),
        rx.vstack(rx.foreach(S.review, _review_item), spacing="3", width="100%", id="deploy-review"),
        error_callout(S.errors["form"], element_id="deploy-form-error"),
        spacing="3",
        width="100%",
        max_width="640px",
    )


# -- frame -------------------------------------------------------------------------------------------


def _buttons() -> rx.Component:
    return rx.hstack(
        rx.cond(
            S.is_first_step,
            rx.link(
                rx.button("Cancel", variant="soft", color_scheme="gray", size="3"),
                href="/agents/" + S.agent_ref,
                id="deploy-cancel",
            ),
            rx.button(
                rx.icon("arrow_left", size=16),
                "Back",
                on_click=S.back,
                variant="soft",
                size="3",
                id="deploy-back",
            ),
        ),
        rx.cond(
            S.step == "review",
            rx.button(
                rx.cond(S.deploying, rx.spinner(size="2"), rx.icon("rocket", size=16)),
                "Deploy",
                on_click=S.deploy,
                disabled=S.deploying,
                size="3",
                id="deploy-submit",
            ),
            rx.button(
                "Next", rx.icon("arrow_right", size=16), on_click=S.next_step, size="3", id="deploy-next"
            ),
        ),
        justify="between",
        width="100%",
    )


def _wizard() -> rx.Component:
    return rx.vstack(
        _stepper(),
        card(
            rx.match(
                S.step,
                ("account", _account_step()),
                ("approval", _approval_step()),
                ("risk", _risk_step()),
                ("review", _review_step()),
                _venue_step(),
            ),
            id="deploy-step-card",
        ),
        _buttons(),
        spacing="5",
        width="100%",
    )


def _unavailable() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("circle_pause", size=40, color="var(--gray-9)"),
            rx.heading("This agent cannot be deployed", size="5"),
            rx.text(S.unavailable, color_scheme="gray", id="deploy-unavailable"),
            rx.link(rx.button("Back to the agent", variant="soft"), href="/agents/" + S.agent_ref),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
    )


def deploy() -> rx.Component:
    return page(
        rx.cond(
            S.agent_name != "",
            rx.vstack(
                rx.link("← " + S.agent_name, href="/agents/" + S.agent_ref, size="2", color_scheme="gray"),
                rx.hstack(
                    rx.heading("Deploy ", S.agent_name, size="7", weight="bold", id="deploy-heading"),
                    venue_badge(S.agent_venue, S.agent_venue_color),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="2",
            ),
        ),
        rx.match(
            S.status,
            ("ready", _wizard()),
            ("not_found", agent_not_found()),
            ("unavailable", _unavailable()),
            ("error", error_callout(S.page_error)),
            loading_message("Loading…"),
        ),
    )
