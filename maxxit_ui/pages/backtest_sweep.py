"""Parameter sweep `/backtests/sweep?agent=<id>`: a heatmap of one figure over a grid of weights/threshold."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import (
    card,
    error_callout,
    loading_message,
    page,
    page_heading,
    section_title,
)
from maxxit_ui.state.backtest_sweep import AXIS_LABELS, METRIC_LABELS, NO_AXIS, BacktestSweepState, CellFigure

ROUTE = "/backtests/sweep"
POLL_MS = 1500
PLOT_CONFIG = {"displayModeBar": False, "responsive": True}
PERIODS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days"}

S = BacktestSweepState


def _field(label: str, control: rx.Component, name: str, hint: str = "") -> rx.Component:
    """A labelled control with its hint, and the request's complaint about it right below."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(
            S.errors.contains(name),
            rx.text(S.errors[name], size="1", color_scheme="red", id=f"sweep-error-{name}"),
            rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        ),
        spacing="1",
        width="100%",
    )


def _select(name: str, options: dict[str, str], value: rx.Var[str], label: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=f"sweep-{name}", aria_label=label, width="100%"),
        rx.select.content(*(rx.select.item(text, value=key) for key, text in options.items())),
        value=value,
        on_change=lambda v: S.set_field(name, v),
    )


def _input(name: str, value: rx.Var[str], label: str, **props) -> rx.Component:
    return rx.input(
        value=value,
        on_change=lambda v: S.set_field(name, v),
        id=f"sweep-{name}",
        aria_label=label,
        width="100%",
        **props,
    )


def _agent_picker() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id="sweep-agent", aria_label="Agent", placeholder="Pick an agent", width="100%"),
        rx.select.content(rx.foreach(S.agents, lambda a: rx.select.item(a["name"], value=a["id"]))),
        value=S.agent,
        on_change=lambda v: S.set_field("agent", v),
    )


def _form() -> rx.Component:
    values_hint = "comma-separated, or start:stop:step (weights 0-100, threshold 0-1)"
    grid = {"initial": "1", "sm": "2"}
    return card(
        section_title("Grid"),
        rx.grid(
            _field("Agent (its newest version)", _agent_picker(), "agent"),
            _field("Figure to colour", _select("metric", METRIC_LABELS, S.metric, "Figure"), "metric"),
            _field("First axis", _select("x_axis", AXIS_LABELS, S.x_axis, "First axis"), "x_axis"),
            _field(
                "Its values", _input("x_values", S.x_values, "First axis values"), "x_values", values_hint
            ),
            _field(
                "Second axis",
                _select("y_axis", {NO_AXIS: "None (one row)", **AXIS_LABELS}, S.y_axis, "Second axis"),
                "y_axis",
            ),
            _field(
                "Its values", _input("y_values", S.y_values, "Second axis values"), "y_values", values_hint
            ),
            _field("Period", _select("days", PERIODS, S.days, "Period"), "days"),
            _field(
                "Starting capital (USD)", _input("capital", S.capital, "Capital", type="number"), "capital"
            ),
            columns=rx.breakpoints(**grid),
            spacing="4",
            width="100%",
        ),
        rx.cond(
            S.errors.contains("form"),
            rx.text(S.errors["form"], size="1", color_scheme="red", id="sweep-error-form"),
        ),
        rx.hstack(
            rx.button(
                rx.icon("grid_3x3", size=16),
                "Start sweep",
                on_click=S.start,
                loading=S.starting,
                disabled=S.running,
                id="sweep-start",
            ),
            justify="end",
            width="100%",
            padding_top="12px",
        ),
    )


def _progress() -> rx.Component:
    return rx.cond(
        S.running,
        card(
            rx.vstack(
                rx.text(
                    "Backtesting ", S.progress_done, " of ", S.progress_total, " configurations…", size="2"
                ),
                rx.progress(value=S.progress_pct, max=100, size="3", id="sweep-progress"),
                # The page's timer while the sweep runs.
                rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
                spacing="2",
                width="100%",
            ),
            id="sweep-running",
        ),
    )


def _figure_row(f: CellFigure) -> rx.Component:
    return rx.hstack(
        rx.text(f["label"], size="2", color_scheme="gray"),
        rx.text(f["value"], size="2", weight="medium"),
        justify="between",
        width="100%",
    )


def _result() -> rx.Component:
    return rx.cond(
        S.sweep_status == "done",
        card(
            section_title("Result"),
            rx.text("Hover a cell for its figures; tap or click one to keep them below.", size="1"),
            rx.plotly(data=S.figure, config=PLOT_CONFIG, width="100%", on_click=S.pick, id="sweep-heatmap"),
            rx.cond(
                S.picked.length() > 0,
                rx.vstack(
                    rx.text(S.picked_title, size="3", weight="medium"),
                    rx.foreach(S.picked, _figure_row),
                    spacing="1",
                    width="100%",
                    max_width="420px",
                    id="sweep-cell",
                ),
            ),
            rx.text(
                "Past results do not predict future ones; a grid's best cell is the one most likely to be "
                "fitted to the past.",
                size="1",
                color_scheme="gray",
            ),
        ),
    )


def backtest_sweep() -> rx.Component:
    return page(
        page_heading(
            "Parameter sweep",
            "Backtest one agent over a grid of weights or the signal threshold and compare the figures.",
            element_id="sweep-heading",
        ),
        error_callout(S.error),
        rx.cond(
            S.status == "loading",
            loading_message(),
            rx.vstack(_form(), _progress(), _result(), spacing="4", width="100%"),
        ),
    )
