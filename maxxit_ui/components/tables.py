"""Table and figure building blocks. Rows arrive formatted; these only choose layout and colour.

Phones (390 px) are first-class: a table never widens the page.

- Every `data_table` scrolls sideways inside its own box (the page does not): nothing is ever cut off.
- Key figures first: put the columns a trader acts on (figures, balances, the action buttons) early in
  `columns`, and drop the context a phone can do without with `hide_below={"Creator": "md"}`: that column's
  header and cells are hidden below the breakpoint (Reflex's names: "sm" 480 px, "md" 768 px, "lg" 992 px,
  "xl" 1280 px). The row renderer stays as it is: cells are matched by position, so a row must render one
  cell per column (no colSpan).
- `table_or_empty` passes `hide_below` on.

    data_table(
        ("Agent", "Venue", "Creator", "APR 30d", "PnL", ""),
        S.rows,
        _row,
        element_id="agents-table",
        hide_below={"Venue": "md", "Creator": "md"},
    )

Action buttons inside rows: wrap them in `row_actions(...)`: side by side from 768 px, stacked (and so
narrow) on a phone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import reflex as rx

from maxxit_ui.components.layout import empty_message

# Reflex's breakpoints (reflex_base.breakpoints), in px at the default 16 px root size.
BREAKPOINT_PX = {"sm": 480, "md": 768, "lg": 992, "xl": 1280}


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


def hidden_columns_style(columns: Sequence[str], hide_below: Mapping[str, str]) -> dict[str, Any]:
    """Media queries hiding each named column (header and cells, by position) below its breakpoint."""
    unknown = set(hide_below) - set(columns)
    if unknown:
        raise ValueError(f"hide_below names columns the table does not have: {sorted(unknown)}")
    bad = set(hide_below.values()) - set(BREAKPOINT_PX)
    if bad:
        raise ValueError(f"unknown breakpoints {sorted(bad)}; use one of {sorted(BREAKPOINT_PX)}")
    style: dict[str, Any] = {}
    for breakpoint in sorted(set(hide_below.values()), key=BREAKPOINT_PX.__getitem__):
        positions = [columns.index(name) + 1 for name, bp in hide_below.items() if bp == breakpoint]
        selector = ", ".join(f"& tr > :nth-child({n})" for n in sorted(positions))
        style[f"@media (max-width: {BREAKPOINT_PX[breakpoint] - 0.02}px)"] = {selector: {"display": "none"}}
    return style


def data_table(
    columns: Sequence[str],
    rows: rx.Var[list[Any]],
    render_row: Callable[[Any], rx.Component],
    *,
    element_id: str,
    align_right: Sequence[str] = (),
    variant: Literal["surface", "ghost"] = "surface",
    hide_below: Mapping[str, str] | None = None,
) -> rx.Component:
    """A table whose body is one foreach over display-ready rows; "ghost" when it sits in a card.

    It scrolls sideways inside its box on a narrow screen; `hide_below` drops columns there (module doc).
    """
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
        # Radix scrolls the table inside its root; a flex or grid parent must not stretch the root to the
        # table's full width instead (that is what widened whole pages on phones).
        max_width="100%",
        min_width="0",
        id=element_id,
        style=hidden_columns_style(columns, hide_below or {}),
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
    hide_below: Mapping[str, str] | None = None,
) -> rx.Component:
    """A card's ghost `data_table` of the rows, or the `empty` message when there are none."""
    return rx.cond(
        rows.length() > 0,
        data_table(
            columns,
            rows,
            render_row,
            element_id=element_id,
            align_right=align_right,
            variant="ghost",
            hide_below=hide_below,
        ),
        empty_message(empty, element_id=empty_id),
    )


def row_actions(*buttons: rx.Component, **props: Any) -> rx.Component:
    """A row's buttons: in a line where there is room, one under the other on a phone."""
    return rx.flex(
        *buttons,
        gap="2",
        justify="end",
        direction=rx.breakpoints(initial="column", md="row"),
        align=rx.breakpoints(initial="end", md="center"),
        **props,
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
