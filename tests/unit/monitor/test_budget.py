"""WeightBudget: a sliding minute of request weight; and the one table of what venue reads weigh."""

from __future__ import annotations

import threading

import pytest

from backend.models.enums import ExecutionVenue
from backend.monitor.budget import WeightBudget, read_weight
from backend.venues import capabilities


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_spends_up_to_the_limit_and_refuses_beyond_it() -> None:
    budget = WeightBudget(10, clock=Clock())
    assert budget.try_spend(4) and budget.try_spend(6)
    assert not budget.try_spend(1)
    assert budget.spent_last_minute() == 10


def test_a_refusal_takes_nothing() -> None:
    budget = WeightBudget(10, clock=Clock())
    assert budget.try_spend(8)
    assert not budget.try_spend(3)
    assert budget.spent_last_minute() == 8
    assert budget.try_spend(2)  # the refused 3 did not eat into what is left


def test_weight_comes_back_a_minute_after_it_was_spent() -> None:
    clock = Clock()
    budget = WeightBudget(10, clock=clock)
    assert budget.try_spend(6)
    clock.now += 30
    assert budget.try_spend(4)
    assert not budget.try_spend(1)
    clock.now += 29.9  # the first 6 are 59.9 s old: still inside the window
    assert not budget.try_spend(1)
    clock.now += 0.1  # exactly 60 s: they have left it
    assert budget.spent_last_minute() == 4
    assert budget.try_spend(6)
    assert not budget.try_spend(1)
    clock.now += 30
    assert budget.spent_last_minute() == 6


def test_no_minute_ever_holds_more_than_the_limit() -> None:
    clock = Clock()
    budget = WeightBudget(50, clock=clock)
    granted: list[tuple[float, int]] = []
    for step in range(600):  # ten minutes of attempts every second, weights 2 and 20 mixed
        clock.now = 1000.0 + step
        for weight in (2, 20, 2):
            if budget.try_spend(weight):
                granted.append((clock.now, weight))
    for start, _ in granted:
        assert sum(w for t, w in granted if start <= t < start + 60) <= 50
    assert sum(w for _, w in granted) >= 50 * 9  # and it does spend what it may


def test_zero_weight_is_always_free_and_bad_arguments_are_refused() -> None:
    budget = WeightBudget(1, clock=Clock())
    assert budget.try_spend(1)
    assert budget.try_spend(0)
    with pytest.raises(ValueError):
        budget.try_spend(-1)
    with pytest.raises(ValueError):
        WeightBudget(0)


def test_threads_never_overspend() -> None:
    budget = WeightBudget(1000)  # the real monotonic clock: nothing expires during the test
    granted = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(200):
            if budget.try_spend(2):
                with lock:
                    granted.append(2)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == budget.spent_last_minute() == 1000


def test_read_weights_hyperliquid_and_paper() -> None:
    assert read_weight(ExecutionVenue.HYPERLIQUID, "positions") == 2  # clearinghouseState
    assert read_weight(ExecutionVenue.HYPERLIQUID, "mids") == 2  # allMids
    assert read_weight(ExecutionVenue.HYPERLIQUID, "closing_fill") == 20  # userFills
    assert read_weight("HYPERLIQUID", "balance") == 2
    assert read_weight(ExecutionVenue.PAPER, "positions") == 0
    assert read_weight(ExecutionVenue.PAPER, "closing_fill") == 0
    with pytest.raises(KeyError):
        read_weight(ExecutionVenue.HYPERLIQUID, "teleport")


def test_read_weights_are_the_venues_declared_ones() -> None:
    """A venue without a per-minute budget (spot reads a chain node), or with no adapter, costs nothing."""
    assert (
        read_weight(ExecutionVenue.HYPERLIQUID, "markets")
        == capabilities.HYPERLIQUID.read_weights["markets"]
        == 20
    )
    assert read_weight(ExecutionVenue.SPOT, "balance") == read_weight(ExecutionVenue.SPOT, "teleport") == 0
    assert read_weight(ExecutionVenue.GMX, "positions") == 0
