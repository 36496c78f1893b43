"""Agent builder `/agents/new` and editor `/agents/[agent_id]/edit`: one form, prefilled when editing."""

from __future__ import annotations

import reflex as rx

from backend.models.agents import WEIGHT_NAMES
from maxxit_ui.components.backtest import backtest_panel
from maxxit_ui.components.charts import INDICATOR_LABELS
from maxxit_ui.components.forms import dom_id, field_error, form_field
from maxxit_ui.components.layout import card, error_callout, loading_message, page, section_title
from maxxit_ui.components.tables import figure
from maxxit_ui.state.builder import FORBIDDEN, SIZING_OPTIONS, VENUE_OPTIONS, AccountOption, BuilderState

NEW_ROUTE = "/agents/new"
EDIT_ROUTE = "/agents/[agent_id]/edit"

S = BuilderState


def _text_input(field: str, value: rx.Var[str], placeholder: str = "", **props) -> rx.Component:
    return rx.input(
        value=value,
        on_change=lambda v: S.set_field(field, v),
        placeholder=placeholder,
        id=f"builder-{dom_id(field)}",
        width="100%",
        size="2",
        **props,
    )


def _select(field: str, options: dict[str, str], value: rx.Var[str], label: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=f"builder-{dom_id(field)}", aria_label=label, width="100%"),
        rx.select.content(*(rx.select.item(text, value=key) for key, text in options.items())),
        value=value,
        on_change=lambda v: S.set_field(field, v),
    )


def _basics() -> rx.Component:
    return card(
        section_title("Basics"),
        rx.vstack(
            form_field(
                "Name",
                _text_input("name", S.name, "e.g. ETH momentum", max_length=64),
                field="name",
                error=S.errors["name"],
            ),
            form_field(
                "Description",
                rx.text_area(
                    value=S.description,
                    on_change=lambda v: S.set_field("description", v),
                    placeholder="What does this agent look for, and why?",
                    id="builder-description",
                    rows="3",
                    width="100%",
                    max_length=2000,
                ),
                field="description",
                error=S.errors["description"],
            ),
            rx.grid(
                form_field(
                    "Venue",
                    _select("venue", VENUE_OPTIONS, S.venue, "Venue"),
                    field="venue",
                    error=S.errors["venue"],
                ),
                form_field(
                    "Visibility",
                    rx.segmented_control.root(
                        rx.segmented_control.item("Public", value="public"),
                        rx.segmented_control.item("Private", value="private"),
                        value=S.visibility,
                        on_change=lambda v: S.set_field("visibility", v),
                        id="builder-visibility",
                        width="100%",
                    ),
                    field="visibility",
                    error=S.errors["visibility"],
                    hint="Public agents are listed in the marketplace.",
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="4",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
    )


def _percent(field: str, label: str, value: rx.Var[str], hint: str) -> rx.Component:
    return form_field(
        label,
        rx.input(
            rx.input.slot(rx.text("%", size="2", color_scheme="gray"), side="right"),
            value=value,
            on_change=lambda v: S.set_field(field, v),
            input_mode="decimal",
            id=f"builder-{dom_id(field)}",
            width="100%",
        ),
        field=field,
        error=S.errors[field],
        hint=hint,
    )


def _risk() -> rx.Component:
    return card(
        section_title("Risk settings"),
        rx.grid(
            _percent("stoploss", "Stop loss", S.stoploss, "Close at this loss; up to 50 %."),
            _percent("take_profit", "Take profit", S.take_profit, "Leave empty for no take-profit."),
            _percent(
                "trailing_stop_positive_offset",
                "Trailing activation",
                S.trailing_stop_positive_offset,
                "The trailing stop arms at this gain.",
            ),
            _percent(
                "trailing_stop_positive",
                "Trailing distance",
                S.trailing_stop_positive,
                "How far below the high it trails.",
            ),
            form_field(
                "Sizing profile",
                _select("sizing_profile", SIZING_OPTIONS, S.sizing_profile, "Sizing profile"),
                field="sizing_profile",
                error=S.errors["sizing_profile"],
                hint="How much of the balance each trade uses.",
            ),
            _percent(
                "signal_threshold",
                "Signal threshold",
                S.signal_threshold,
                "Minimum score (0-100 %) to trade.",
            ),
            form_field(
                "Leverage",
                rx.input(
                    rx.input.slot(rx.text("x", size="2", color_scheme="gray"), side="right"),
                    value=S.leverage,
                    on_change=lambda v: S.set_field("leverage", v),
                    input_mode="decimal",
                    id="builder-leverage",
                    width="100%",
                ),
                field="leverage",
                error=S.errors["leverage"],
                hint="1x to the venue's market maximum; followers deploy at it by default.",
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
    )


def _weight_slider(name: str) -> rx.Component:
    value = S.weights[name]
    return rx.hstack(
        rx.text(INDICATOR_LABELS[name], size="2", width="96px", flex_shrink="0", as_="label"),
        rx.slider(
            value=[value],
            on_change=lambda v: S.set_weight(name, v),
            min=0,
            max=100,
            step=1,
            size="1",
            id=f"weight-slider-{dom_id(name)}",
            aria_label=f"{INDICATOR_LABELS[name]} weight",
            flex="1",
        ),
        figure(value, size="2", weight="medium", width="32px", text_align="right", id=f"weight-value-{name}"),
        align="center",
        spacing="3",
        width="100%",
    )


def _weights() -> rx.Component:
    return card(
        rx.hstack(
            section_title("Strategy weights"),
            rx.text("total ", S.weights_total, size="1", color_scheme="gray"),
            justify="between",
            align="baseline",
        ),
        rx.text(
            "How much each input counts when the agent scores a post. 0 ignores it.",
            size="2",
            color_scheme="gray",
            margin_bottom="12px",
        ),
        rx.vstack(*(_weight_slider(name) for name in WEIGHT_NAMES), spacing="3", width="100%"),
        field_error(S.errors["weights"], "weights"),
        rx.box(
            rx.plotly(data=S.weights_figure, config={"displayModeBar": False}, width="100%"),
            id="weights-preview",
            width="100%",
            min_height="300px",
            margin_top="12px",
        ),
    )


def _account(option: AccountOption) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=S.selected.contains(option["id"]),
                on_change=lambda checked: S.toggle_account(option["id"], checked),
                id="ct-account-" + option["id"],
            ),
            rx.vstack(
                rx.text(option["handle"], size="2", weight="medium"),
                rx.text(option["display_name"], size="1", color_scheme="gray"),
                spacing="0",
                flex="1",
            ),
            rx.tooltip(
                rx.badge(
                    "impact ",
                    figure(option["impact"], option["impact_tone"], size="1"),
                    variant="surface",
                    color_scheme="gray",
                ),
                content="Impact factor: how this account's past calls performed",
            ),
            align="center",
            spacing="3",
            width="100%",
            padding="8px",
            border_radius="var(--radius-2)",
            _hover={"background": "var(--gray-a3)"},
        ),
        class_name="ct-account-option",
        cursor="pointer",
        display="block",
    )


def _accounts() -> rx.Component:
    return card(
        rx.hstack(
            section_title("CT accounts to follow"),
            rx.text(S.selected_count, " selected", size="1", color_scheme="gray"),
            justify="between",
            align="baseline",
        ),
        rx.cond(
            S.accounts.length() > 0,
            rx.scroll_area(
                rx.vstack(rx.foreach(S.accounts, _account), spacing="1", width="100%"),
                max_height="320px",
                type="auto",
                id="builder-accounts",
            ),
            rx.text("The platform follows no CT account yet.", size="2", color_scheme="gray"),
        ),
        field_error(S.errors["ct_account_ids"], "ct_account_ids"),
    )


def _form() -> rx.Component:
    """Basics on top; the strategy (weights, accounts, risk) beside the Backtest panel that tests it."""
    return rx.vstack(
        _basics(),
        rx.grid(
            rx.vstack(_weights(), _accounts(), _risk(), spacing="4", width="100%", min_width="0"),
            rx.box(backtest_panel(S, compare=True), width="100%", min_width="0"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        error_callout(S.errors["form"], element_id="builder-form-error"),
        rx.hstack(
            rx.link(rx.button("Cancel", variant="soft", color_scheme="gray"), href="/my-agents"),
            rx.button(
                rx.cond(S.saving, rx.spinner(size="2"), rx.icon("check", size=16)),
                S.submit_label,
                on_click=S.submit,
                disabled=S.saving,
                size="3",
                id="builder-submit",
            ),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _blocked(icon: str, title: str, text: str, element_id: str) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=40, color="var(--gray-9)"),
            rx.heading(title, size="5", id=element_id),
            rx.text(text, color_scheme="gray"),
            rx.link(rx.button("Go to my agents", variant="soft"), href="/my-agents"),
            align="center",
            spacing="3",
        ),
        padding_y="64px",
    )


def builder() -> rx.Component:
    return page(
        rx.vstack(
            rx.link("← My agents", href="/my-agents", size="2", color_scheme="gray"),
            rx.heading(S.heading, size="7", weight="bold", id="builder-heading"),
            rx.text(
                "Pick what the agent listens to and how it trades. Risk settings are percentages.",
                color_scheme="gray",
            ),
            spacing="2",
        ),
        rx.match(
            S.status,
            ("ready", _form()),
            (
                "forbidden",
                _blocked("lock", FORBIDDEN, "This agent belongs to another trader.", "edit-forbidden"),
            ),
            ("not_found", _blocked("search_x", "Agent not found", "No agent has this id.", "edit-not-found")),
            (
                "archived",
                _blocked(
                    "archive",
                    "This agent is archived",
                    "Archived agents can no longer change.",
                    "edit-archived",
                ),
            ),
            ("error", error_callout(S.error)),
            loading_message("Loading…"),
        ),
    )
