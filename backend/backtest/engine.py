"""One backtest: calls decided into signals, replayed through the core, reported. No database writes.

The steps are the live ones: `decide` scores each call as the generator does, `trading.replay` sizes, fills,
exits and books each signal as the executor, the paper venue and the monitor do, and `trading.report` turns
the book into figures. This module only wires them to the inputs and shapes the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain

from sqlmodel import Session

from backend.agents.versions import Strategy
from backend.backtest.candles import BAR, HOUR, CandleSource, floor_to
from backend.backtest.decide import Decision, decide
from backend.backtest.inputs import FEATURES, FeatureCache, PostCall, load_calls
from backend.backtest.replay_source import Costs
from backend.signals.tokens import known_tokens
from backend.signals.types import Classifier
from backend.trading.exits import Candle as Bar
from backend.trading.exits import rules_for
from backend.trading.market import MarketRules
from backend.trading.replay import BookSpec, ReplayResult, ReplaySignal, replay
from backend.trading.report import Report, report

Progress = Callable[[str, int, int], None]
JOIN_GAP = timedelta(days=1)


@dataclass(frozen=True)
class Sources:
    """Where a backtest reads from and what it costs to trade: prices, market rules, the live costs."""

    candles: CandleSource
    markets: Mapping[str, MarketRules]
    costs: Costs
    features: FeatureCache = field(default=FEATURES)
    classifier: Classifier | None = None  # for a backtest that classifies the posts again


@dataclass(frozen=True)
class Outcome:
    calls: list[PostCall]
    decisions: list[Decision]
    result: ReplayResult
    report: Report


def book_for(strategy: Strategy, capital: Decimal, sources: Sources) -> BookSpec:
    """A book sized and exited as the agent's reference book: the strategy's own profile, leverage, exits."""
    return BookSpec(
        capital=capital,
        exits=rules_for(strategy, None, sources.costs.time_limit),
        markets=sources.markets,
        sizing_profile=strategy.sizing_profile,
        leverage=strategy.leverage,
        fills=sources.costs.fills,
        fees=sources.costs.fees,
    )


def calls_for(
    session: Session,
    strategy: Strategy,
    start: datetime,
    end: datetime,
    sources: Sources,
    *,
    reclassify: bool,
) -> list[PostCall]:
    classifier = sources.classifier if reclassify else None
    if reclassify and classifier is None:
        raise ValueError("reclassifying needs a classifier")
    known = known_tokens(session) if classifier is not None else None
    return load_calls(session, strategy.ct_account_ids, start, end, known_tokens=known, classifier=classifier)


def run(
    calls: Sequence[PostCall],
    strategy: Strategy,
    *,
    start: datetime,
    end: datetime,
    capital: Decimal,
    sources: Sources,
    progress: Progress | None = None,
) -> Outcome:
    """Backtest `strategy` on `calls` over [start, end) with `capital`. Deterministic: equal inputs, equal
    outcome (features and candles come from caches keyed by what they depend on).

    `progress` hears (stage, done, total) as the work goes: one unit per call scored, one per market whose
    prices are read, one for the replay; it ends at (done, total, total)."""
    step = progress or (lambda _stage, _done, _total: None)
    listed = sorted({c.token for c in calls} & set(sources.markets))
    total = len(calls) + len(listed) + 1

    def features_of(call: PostCall) -> dict[str, Decimal] | None:
        return sources.features.features(call, sources.candles)

    def scored(done: int) -> None:
        step("scoring posts", done, total)

    decisions = decide(calls, features_of, strategy, scored=scored if progress else None)
    signals = [
        ReplaySignal(
            at=d.call.decided_at,
            token=d.call.token,
            side=d.call.side,
            score=d.score,
            signal_id=d.call.post_id,
        )
        for d in decisions
        if start <= d.call.decided_at
    ]
    # Only bars that had closed by the end: a bar still forming would show prices from after it.
    closed_by = floor_to(end, BAR)
    spans = reachable(signals, start, closed_by, sources.costs.time_limit)
    candles: dict[str, list[Bar]] = {}
    for index, market in enumerate(listed, 1):
        if market in spans:
            bars = (sources.candles.bars(market, *span) for span in spans[market])
            candles[market] = list(chain.from_iterable(bars))
        step("reading prices", len(calls) + index, total)
    step("replaying", total - 1, total)
    result = replay(
        book_for(strategy, capital, sources), signals, candles, start=start, end=end, interval=BAR
    )
    step("done", total, total)
    return Outcome(list(calls), decisions, result, report(result, capital=capital, start=start, end=end))


def reachable(
    signals: Sequence[ReplaySignal], start: datetime, end: datetime, time_limit: timedelta | None
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Per market with signals, the spans of bars the replay can look at, merged and in order.

    A position opened by a signal enters at the first bar from the signal on and is walked, and marked, only
    while open; the time limit closes it at the latest on the first bar past entry + limit. So bars from the
    signal's bar to limit + an hour after it are all it can reach: the rest of the window (most of it, when
    positions last hours) need not be read. Without a time limit a position can reach the end. Spans less
    than `JOIN_GAP` apart are read as one: days are read whole anyway, and a stored source answers each span
    with a query of its own.
    """
    wanted: dict[str, list[tuple[datetime, datetime]]] = {}
    for signal in signals:
        first = max(floor_to(signal.at, BAR), start)
        last = end if time_limit is None else min(signal.at + time_limit + HOUR, end)
        wanted.setdefault(signal.token, []).append((first, last))
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for market, windows in wanted.items():
        merged = spans[market] = []
        for first, last in sorted(w for w in windows if w[0] < w[1]):
            if merged and first <= merged[-1][1] + JOIN_GAP:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
    return spans


def skip_counts(result: ReplayResult) -> dict[str, int]:
    return dict(sorted(Counter(s.category for s in result.skips).items()))
