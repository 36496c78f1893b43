"""Which calls become signals under a strategy: the live generator's rule, in one place.

A call is scored with the strategy's weights (`signals.features.score`), kept when the core says the score
takes the signal (`trading.decision.takes_signal`), and only the first per token and 6-hour UTC bucket
counts (the live table's unique key). The demo's history and every backtest decide through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from backend.agents.versions import Strategy
from backend.backtest.inputs import PostCall
from backend.signals.features import score
from backend.signals.market import bucket_start
from backend.trading.decision import takes_signal


@dataclass(frozen=True)
class Decision:
    call: PostCall
    features: dict[str, Decimal]
    score: Decimal
    bucket: datetime


def decide(
    calls: Iterable[PostCall],
    features_of: Callable[[PostCall], dict[str, Decimal] | None],
    strategy: Strategy,
    *,
    scored: Callable[[int], None] | None = None,
) -> list[Decision]:
    """The signals `strategy` makes from `calls` (in the order the generator met them). `scored` hears how
    many calls have been looked at before each one and at the end (a progress bar's work unit)."""
    followed = set(strategy.ct_account_ids)
    taken: set[tuple[str, datetime]] = set()
    decisions = []
    looked = 0
    for call in calls:
        if scored is not None:
            scored(looked)
        looked += 1
        if call.account_id not in followed:
            continue
        bucket = bucket_start(call.posted_at)
        if (call.token, bucket) in taken:
            continue
        features = features_of(call)
        if features is None:
            continue
        value = score(strategy.weights, features)
        if not takes_signal(value, strategy.signal_threshold):
            continue
        taken.add((call.token, bucket))
        decisions.append(Decision(call, features, value, bucket))  # `score` rounds to the column
    if scored is not None:
        scored(looked)
    return decisions
