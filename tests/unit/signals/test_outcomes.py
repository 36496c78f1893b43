"""What became of a signal: one kind and one sentence, the same for every page that shows it."""

import pytest

from backend.signals.outcomes import Outcome, OutcomeKind, describe
from maxxit_ui.components.outcome import OUTCOME_COLOURS, outcome_colour


@pytest.mark.parametrize(
    ("status", "reason", "positions", "skipped", "expected"),
    [
        ("pending", None, 0, {}, Outcome(OutcomeKind.AWAITING, "Awaiting execution")),
        ("skipped", "agent paused", 0, {}, Outcome(OutcomeKind.SKIPPED, "Skipped: agent paused")),
        ("skipped", None, 0, {}, Outcome(OutcomeKind.SKIPPED, "Skipped: no reason recorded")),
        ("executed", None, 1, {}, Outcome(OutcomeKind.TRADED, "Traded: 1 position")),
        ("executed", None, 3, {}, Outcome(OutcomeKind.TRADED, "Traded: 3 positions")),
        (
            "executed",
            None,
            2,
            {"insufficient balance": 1},
            Outcome(
                OutcomeKind.PARTLY_TRADED, "Partly traded: 2 positions, 1 skipped (insufficient balance)"
            ),
        ),
        (
            "executed",
            None,
            0,
            {"insufficient balance": 1, "below minimum": 1},
            Outcome(
                OutcomeKind.NOT_TRADED,
                "Not traded: 2 deployments skipped (1 below minimum, 1 insufficient balance)",
            ),
        ),
        ("executed", None, 0, {}, Outcome(OutcomeKind.NOT_TRADED, "Not traded: no position opened")),
    ],
)
def test_each_signal_has_one_kind_and_one_sentence(status, reason, positions, skipped, expected):
    assert describe(status, reason, positions, skipped) == expected


def test_every_kind_has_its_own_colour():
    assert set(OUTCOME_COLOURS) == set(OutcomeKind)
    assert len(set(OUTCOME_COLOURS.values())) == len(OutcomeKind)
    assert outcome_colour("traded") == "green" and outcome_colour("not_traded") == "orange"
    assert outcome_colour("something new") == "gray"
