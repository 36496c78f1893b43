"""Impact factor of a CT account: how its calls did when agents' reference books traded them. Pure.

A call is one post that became at least one reference-book trade; its outcome is the mean return of those
trades on their notional (PnL net of venue fees over size x entry price), so ten agents trading the same post
make one call, not ten. The score is the mean outcome over the calls, read on a scale where +10% per call is
full marks, clipped to [-1, 1], and shrunk toward zero while there are few calls: one lucky call is not a
track record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

FULL_SCALE_RETURN = Decimal("0.10")  # a mean return of +10% per call scores 1 (before shrinkage)
PRIOR_CALLS = 5  # calls' worth of "no information": 5 calls weigh half, 45 calls nine tenths
IMPACT_QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class TradeOutcome:
    """One closed reference-book trade made from a post."""

    post_id: int
    realized_pnl: Decimal
    size: Decimal
    entry_price: Decimal

    @property
    def notional(self) -> Decimal:
        return abs(self.size) * self.entry_price


@dataclass(frozen=True)
class Impact:
    factor: Decimal  # in [-1, 1]; 0 with no calls
    calls: int


def call_returns(outcomes: Sequence[TradeOutcome]) -> Mapping[int, Decimal]:
    """Each post's outcome: the mean return of the trades made from it (trades without notional skipped)."""
    by_post: dict[int, list[Decimal]] = {}
    for o in outcomes:
        if o.notional > 0:
            by_post.setdefault(o.post_id, []).append(o.realized_pnl / o.notional)
    return {post: sum(rs, ZERO) / len(rs) for post, rs in by_post.items()}


def impact_factor(outcomes: Sequence[TradeOutcome]) -> Impact:
    """The score and the number of calls it rests on; see the module docstring for the formula."""
    calls = call_returns(outcomes)
    n = len(calls)
    if n == 0:
        return Impact(ZERO, 0)
    mean = sum(calls.values(), ZERO) / n
    scaled = max(-ONE, min(ONE, mean / FULL_SCALE_RETURN))
    shrunk = scaled * n / (n + PRIOR_CALLS)
    return Impact(shrunk.quantize(IMPACT_QUANTUM), n)
