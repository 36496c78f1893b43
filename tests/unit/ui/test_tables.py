"""Tables on phones: the columns `hide_below` names are hidden below their breakpoint, by position."""

from __future__ import annotations

import pytest
import reflex as rx

from maxxit_ui.components.tables import data_table, hidden_columns_style, table_or_empty

COLUMNS = ("Agent", "Venue", "Creator", "APR 30d", "PnL", "")


def test_each_named_column_is_hidden_below_its_breakpoint_by_position():
    style = hidden_columns_style(COLUMNS, {"Creator": "md", "Venue": "md", "APR 30d": "sm"})
    assert style == {
        "@media (max-width: 479.98px)": {"& tr > :nth-child(4)": {"display": "none"}},
        "@media (max-width: 767.98px)": {"& tr > :nth-child(2), & tr > :nth-child(3)": {"display": "none"}},
    }
    assert hidden_columns_style(COLUMNS, {}) == {}


@pytest.mark.parametrize(
    ("hide_below", "message"),
    [({"Owner": "md"}, "does not have: ['Owner']"), ({"Venue": "tablet"}, "unknown breakpoints ['tablet']")],
)
def test_a_wrong_column_or_breakpoint_is_refused(hide_below: dict[str, str], message: str):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        hidden_columns_style(COLUMNS, hide_below)


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(*(rx.table.cell(row[name]) for name in COLUMNS))


class _Rows(rx.State):
    rows: list[dict[str, str]] = []


def test_tables_render_with_and_without_hidden_columns():
    plain = str(data_table(COLUMNS, _Rows.rows, _row, element_id="agents").render())
    assert "nth-child" not in plain
    narrow = data_table(COLUMNS, _Rows.rows, _row, element_id="agents", hide_below={"Creator": "md"})
    assert "nth-child(3)" in str(narrow.render())
    carded = table_or_empty(
        COLUMNS, _Rows.rows, _row, element_id="a", empty="None", empty_id="e", hide_below={"Venue": "md"}
    )
    assert "nth-child(2)" in str(carded.render())
