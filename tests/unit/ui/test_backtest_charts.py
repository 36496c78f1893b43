"""Backtest chart builders: equity above, drawdown shaded below, a second run overlaid, the reference book
clipped to the backtest's window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from backend.monitor.equity import EquityCurve, EquityPoint
from maxxit_ui.components.charts import backtest_figure, reference_window
from tests.fixtures.backtest import START, equity


def _curve(*points: tuple[int, str]) -> EquityCurve:
    return EquityCurve(
        deployment_id=3,
        label="Reference book",
        venue="PAPER",
        capital=D(10000),
        capital_known=True,
        realized_pnl=D(0),
        unrealized_pnl=D(0),
        open_positions=0,
        points=tuple(
            EquityPoint(at=START + timedelta(hours=h), equity=D(v), kind="close") for h, v in points
        ),
    )


def test_one_run_draws_equity_and_its_drawdown_under_water():
    figure = backtest_figure([("Backtest", equity())])
    line, under = figure.data
    assert line.name == "Backtest" and list(line.y) == [10100.0, 9898.0, 10250.0]
    assert under.fill == "tozeroy" and list(under.y) == [0.0, 0.02, 0.0]  # fractions; the axis shows percent
    assert line.xaxis == "x" and under.yaxis == "y2"
    assert figure.layout.yaxis2.tickformat == ".1~%" and figure.layout.yaxis2.autorange == "reversed"
    assert figure.layout.showlegend is False


def test_two_runs_overlay_with_a_legend():
    b = [p.model_copy(update={"equity": p.equity + 50}) for p in equity()]
    figure = backtest_figure([("A · saved", equity()), ("B · edited", b)])
    names = [t.name for t in figure.data]
    assert names == ["A · saved", "A · saved drawdown", "B · edited", "B · edited drawdown"]
    assert figure.data[0].line.color != figure.data[2].line.color
    assert list(figure.data[2].y) == [10150.0, 9948.0, 10300.0]
    assert figure.layout.showlegend is True


def test_reference_book_is_drawn_only_where_both_exist():
    # The backtest's points sit at the end of each day: hours 24, 48 and 72 after START.
    curve = _curve((0, "10000"), (20, "10040"), (30, "10090"), (60, "10010"), (90, "10200"))
    figure = backtest_figure([("Backtest", equity())], reference=curve)
    reference = figure.data[-1]
    assert reference.name == "Reference book (same start)"
    first = equity()[0]
    assert reference.x[0] == first.at  # starts at the backtest's first day, from the backtest's equity then
    assert float(first.equity) == 10100.0
    # The book's own 10,040 -> 10,090 -> 10,010 (held to the window's end), as growth from 10,100.
    assert list(reference.y) == [10100.0, 10150.3, 10069.82, 10069.82]
    assert reference.x[-1] == equity()[-1].at


def test_reference_window_of_a_book_younger_than_the_backtest():
    curve = _curve((30, "10000"), (60, "10050"), (200, "9000"))
    points = reference_window(curve, START, START + timedelta(hours=72))
    end = START + timedelta(hours=72)
    assert points == [
        (START + timedelta(hours=30), D(10000)),
        (START + timedelta(hours=60), D(10050)),
        (end, D(10050)),
    ]
    assert reference_window(_curve((0, "10000")), START + timedelta(hours=5), end) == [
        (START + timedelta(hours=5), D(10000)),
        (end, D(10000)),
    ]
    assert reference_window(_curve(), START, START + timedelta(hours=72)) == []
