"""Deploy wizard `/agents/[agent_id]/deploy`: a stepper, one card per step, Back / Next / Deploy."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import card, error_callout, loading_message, page
from maxxit_ui.components.tables import venue_badge
from maxxit_ui.pages.agent import agent_not_found
from maxxit_ui.pages.deploy_steps import (
    account_step,
    approval_step,
    review_step,
    risk_step,
    safe_step,
    venue_step,
)
from maxxit_ui.state.deploy import DeployState
from maxxit_ui.state.deploy_form import StepItem

ROUTE = "/agents/[agent_id]/deploy"

S = DeployState


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
        role="listitem",
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
                ("account", account_step()),
                ("approval", approval_step()),
                ("safe", safe_step()),
                ("risk", risk_step()),
                ("review", review_step()),
                venue_step(),
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
                    venue_badge(S.agent_venue_label, S.agent_venue_color),
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
            ("error", error_callout(S.error)),
            loading_message("Loading…"),
        ),
    )
