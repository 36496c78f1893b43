"""The sweep page's pure parts: the form read as a request, errors beside their fields, the heatmap."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from backend.backtest.schemas import SummaryOut
from backend.backtest.sweep import AxisOut, SweepCell, SweepOut, SweepRequest
from maxxit_ui.state import backtest_sweep as page

FORM = {
    "agent": "3",
    "x_axis": "rsi",
    "x_values": "0:100:50",
    "y_axis": "signal_threshold",
    "y_values": "0.4, 0.6",
    "metric": "winrate",
    "days": "30",
    "capital": "5000",
}


def summary(profit: str, winrate: str | None) -> SummaryOut:
    zero = D(0)
    return SummaryOut(
        starting_balance=D(1000), final_balance=D(1000) + D(profit) * 1000, profit_total_abs=D(profit) * 1000,
        profit_total=D(profit), cagr=None, sharpe=None, sortino=None, calmar=None, max_drawdown_abs=zero,
        max_drawdown=zero, drawdown_start=None, drawdown_end=None, trades=2, open_trades=0, wins=1, losses=1,
        draws=0, winrate=None if winrate is None else D(winrate), profit_factor=None, expectancy=None,
        expectancy_ratio=None, holding_avg_seconds=None, best_trade=None, worst_trade=None, fees_paid=zero,
        signals=2, signals_skipped=0,
    )  # fmt: skip


def sweep_out(cells: list[SweepCell]) -> SweepOut:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return SweepOut(
        id=7, status="done", progress_done=len(cells), progress_total=len(cells), agent_id=3,
        metric="winrate",
        axes=[AxisOut(name="rsi", values=[D(0), D(50)]), AxisOut(name="signal_threshold", values=[D("0.4")])],
        start=at, end=at, capital=D(1000), error=None, created_at=at, finished_at=at, cells=cells,
    )  # fmt: skip


def test_the_form_reads_as_a_sweep_request():
    request = SweepRequest.model_validate(page.request_body(**FORM))
    assert [a.resolved() for a in request.axes] == [[D(0), D(50), D(100)], [D("0.4"), D("0.6")]]
    assert (request.agent_id, request.period.days, request.capital, request.metric) == (
        3,
        30,
        D(5000),
        "winrate",
    )


def test_one_axis_when_the_second_is_none():
    request = SweepRequest.model_validate(page.request_body(**{**FORM, "y_axis": page.NO_AXIS}))
    assert [a.name for a in request.axes] == ["rsi"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"x_values": "0, 101"}, "x_values"),
        ({"x_values": "0:100"}, "x_values"),
        ({"y_values": "2"}, "y_values"),
        ({"y_axis": "rsi", "y_values": "10"}, "y_axis"),
        ({"capital": "5"}, "capital"),
        ({"days": "12"}, "days"),
        ({"agent": ""}, "form"),
    ],
)
def test_a_bad_value_is_reported_beside_its_field(changes, field):
    with pytest.raises(ValidationError) as exc:
        SweepRequest.model_validate(page.request_body(**{**FORM, **changes}))
    assert field in page.field_errors(exc.value)


def test_the_heatmap_colours_the_chosen_figure_and_a_click_finds_its_cell():
    cells = [
        SweepCell(x=D(0), y=D("0.4"), value=D("0.5"), summary=summary("0.1", "0.5")),
        SweepCell(x=D(50), y=D("0.4"), value=None, summary=summary("-0.2", None)),
    ]
    out = sweep_out(cells)
    figure = page.heatmap(out)
    heat = figure.data[0]
    assert list(heat.x) == ["0", "50"] and list(heat.y) == ["0.4"]
    assert [list(row) for row in heat.z] == [[50.0, None]]  # win rate in percent; undefined left blank
    assert "Total profit: 10.0% (100.00 USD)" in heat.customdata[0][0]
    assert page.pick_cell(out, "50", "0.4") is cells[1]
    assert page.pick_cell(out, 50.0, 0.4) is cells[1]
    assert page.pick_cell(out, "25", "0.4") is None
