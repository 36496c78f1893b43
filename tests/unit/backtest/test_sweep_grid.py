"""A sweep's grid: axes as values or ranges, their bounds, and the strategies its points make."""

from dataclasses import replace
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from backend.agents.versions import Strategy
from backend.backtest.sweep import Grid, SweepRequest
from backend.trading.types import SizingProfile

BASE = Strategy(
    venue="PAPER",
    weights={"tweet": 50, "rsi": 10, "macd": 0, "bollinger": 0, "volume": 0, "moving_average": 0,
             "momentum": 0, "volatility": 0},
    signal_threshold=D("0.5"),
    ct_account_ids=(1,),
    stoploss=D("0.1"),
    take_profit=None,
    trailing_stop_positive=D("0.01"),
    trailing_stop_positive_offset=D("0.03"),
    sizing_profile=SizingProfile.MODERATE,
    leverage=D(1),
)  # fmt: skip


def request(*axes, **extra):
    return SweepRequest.model_validate({"agent_id": 1, "axes": list(axes), **extra})


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.value.errors()]


def test_a_range_includes_its_stop_and_values_are_sorted_once():
    sweep = request(
        {"name": "rsi", "start": 0, "stop": 100, "step": 25},
        {"name": "signal_threshold", "values": ["0.6", "0.40", "0.4"]},
    )
    grid = Grid.of(sweep)
    assert grid.values == ((D(0), D(25), D(50), D(75), D(100)), (D("0.4"), D("0.6")))
    assert sweep.cell_count() == 10 == len(list(grid.points()))
    assert sweep.metric == "profit_total"


def test_a_point_changes_only_the_swept_settings():
    grid = Grid.of(request({"name": "rsi", "values": [30]}, {"name": "signal_threshold", "values": ["0.7"]}))
    (point,) = grid.points()
    strategy = grid.apply(BASE, point)
    assert strategy == replace(BASE, weights={**BASE.weights, "rsi": 30}, signal_threshold=D("0.7"))
    assert BASE.weights["rsi"] == 10  # the base is untouched


@pytest.mark.parametrize(
    "axis",
    [
        {"name": "rsi", "values": [101]},
        {"name": "rsi", "values": ["12.5"]},
        {"name": "signal_threshold", "values": ["1.5"]},
        {"name": "signal_threshold", "start": "0", "stop": "1", "step": "0"},
        {"name": "rsi", "start": 50, "stop": 10, "step": 10},
        {"name": "rsi", "values": [1], "start": 0, "stop": 10, "step": 1},
        {"name": "rsi"},
        {"name": "leverage", "values": [1]},
        {"name": "rsi", "start": 0, "stop": 100000, "step": "0.001"},
    ],
)
def test_bad_axes_are_refused_on_the_axis(axis):
    with pytest.raises(ValidationError) as exc:
        request(axis)
    assert all(loc.startswith("axes.0") for loc in error_locs(exc))


def test_two_axes_must_differ_and_three_are_too_many():
    with pytest.raises(ValidationError) as exc:
        request({"name": "rsi", "values": [1]}, {"name": "rsi", "values": [2]})
    assert error_locs(exc) == ["axes"]
    with pytest.raises(ValidationError) as exc:
        request(*({"name": n, "values": [1]} for n in ("rsi", "macd", "tweet")))
    assert error_locs(exc) == ["axes"]


def test_an_unknown_metric_is_refused():
    with pytest.raises(ValidationError) as exc:
        request({"name": "rsi", "values": [1]}, metric="luck")
    assert error_locs(exc) == ["metric"]
