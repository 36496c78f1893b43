"""A signal's outcome badge, the same on every page: its colour says what became of the signal, its text
says it in words (`backend.signals.outcomes.describe`)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from backend.signals.outcomes import OutcomeKind

# One colour per meaning (Radix colour names). Partly traded sits between traded and not traded.
OUTCOME_COLOURS: dict[OutcomeKind, str] = {
    OutcomeKind.TRADED: "green",
    OutcomeKind.PARTLY_TRADED: "lime",
    OutcomeKind.NOT_TRADED: "orange",
    OutcomeKind.SKIPPED: "gray",
    OutcomeKind.AWAITING: "blue",
}


def outcome_colour(kind: rx.Var[str] | str) -> rx.Var | str:
    """The badge colour of an outcome kind (a Var in a foreach, a str in Python)."""
    if isinstance(kind, str):
        return OUTCOME_COLOURS.get(kind, "gray")  # type: ignore[call-overload]  # StrEnum keys match str
    return rx.match(kind, *((k.value, colour) for k, colour in OUTCOME_COLOURS.items()), "gray")


def outcome_badge(text: rx.Var[str] | str, kind: rx.Var[str] | str, **props: Any) -> rx.Component:
    """The outcome in its colour; long sentences wrap inside the cell instead of widening the table."""
    return rx.badge(
        text,
        color_scheme=outcome_colour(kind),
        variant="soft",
        size=props.pop("size", "1"),
        white_space="normal",
        overflow_wrap="anywhere",
        text_align="left",
        height="auto",
        max_width="100%",
        class_name="outcome-badge",
        custom_attrs={"data-outcome": kind},
        **props,
    )
