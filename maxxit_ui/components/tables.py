"""Table and figure building blocks. Rows arrive formatted; these only choose layout and colour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import reflex as rx

from maxxit_ui.components.layout import empty_message


def tone_color(tone: rx.Var[str] | str) -> rx.Var | str:
    """CSS colour for a format.tone() value: green gains, red losses, grey when there is no figure."""
    return rx.match(
        tone,
        ("positive", "var(--green-11)"),
        ("negative", "var(--red-11)"),
        ("muted", "var(--gray-9)"),
        "var(--gray-12)",
    )


def figure(text: rx.Var[str] | str, tone: rx.Var[str] | str = "neutral", **props: Any) -> rx.Component:
    """A number coloured by its tone, tabular digits so columns line up."""
    return rx.text(
        text,
        as_="span",
        color=tone_color(tone),
        style={"fontVariantNumeric": "tabular-nums"},
        white_space="nowrap",
        **props,
    )


def venue_badge(venue: rx.Var[str] | str, color: rx.Var[str] | str) -> rx.Component:
    return rx.badge(venue, color_scheme=color, variant="soft", radius="full", size="1")


def data_table(
    columns: Sequence[str],
    rows: rx.Var[list[Any]],
    render_row: Callable[[Any], rx.Component],
    *,
    element_id: str,
    align_right: Sequence[str] = (),
    variant: Literal["surface", "ghost"] = "surface",
) -> rx.Component:
    """A table whose body is one foreach over display-ready rows; "ghost" when it sits in a card."""
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *(
                    rx.table.column_header_cell(
                        name, justify="end" if name in align_right else "start", white_space="nowrap"
                    )
                    for name in columns
                )
            )
        ),
        rx.table.body(rx.foreach(rows, render_row)),
        variant=variant,
        size="2",
        width="100%",
        id=element_id,
    )


def table_or_empty(
    columns: Sequence[str],
    rows: rx.Var[list[Any]],
    render_row: Callable[[Any], rx.Component],
    *,
    element_id: str,
    empty: str,
    empty_id: str,
    align_right: Sequence[str] = (),
) -> rx.Component:
    """A card's ghost `data_table` of the rows, or the `empty` message when there are none."""
    return rx.cond(
        rows.length() > 0,
        data_table(
            columns, rows, render_row, element_id=element_id, align_right=align_right, variant="ghost"
        ),
        empty_message(empty, element_id=empty_id),
    )


def figure_cell(text: rx.Var[str], tone: rx.Var[str] | str = "neutral") -> rx.Component:
    return rx.table.cell(figure(text, tone, size="2"), justify="end")


def text_cell(text: rx.Var[str] | str, **props: Any) -> rx.Component:
    return rx.table.cell(rx.text(text, size="2", **props))


def stat_tile(
    title: rx.Var[str] | str,
    value: rx.Var[str],
    *,
    element_id: rx.Var[str] | str,
    tone: rx.Var[str] | str = "neutral",
    value_size: str = "6",
    **card_props: Any,
) -> rx.Component:
    """A headline figure with its label; `element_id` lets tests and users find it. `card_props` override the
    card's (a None drops one: a tile in a grid sizes by its cell)."""
    props = {k: v for k, v in {"size": "2", "width": "100%", **card_props}.items() if v is not None}
    return rx.card(
        rx.vstack(
            rx.text(title, size="1", color_scheme="gray", weight="medium", text_transform="uppercase"),
            figure(value, tone, size=value_size, weight="bold", id=element_id),
            spacing="1",
        ),
        **props,
    )


def key_value(name: str, value: rx.Var[str], tone: rx.Var[str] | str = "neutral") -> rx.Component:
    return rx.hstack(
        rx.text(name, size="2", color_scheme="gray"),
        figure(value, tone, size="2", weight="medium"),
        justify="between",
        width="100%",
    )
