"""Backtests as a service: who may run what, the cache, the stored runs, and the answer's shape.

A request names an agent (its newest version is tested; the viewer must be allowed to see the agent) or
carries a full configuration. The answer is stored as a `backtest_runs` row under a key hashing the
configuration, the window, the capital, the data (posts and candles) and the code; an equal key answers from
the stored row, so asking twice costs one run, and new posts, new candles or new code mean a fresh run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.agents.editing import UnknownCtAccounts
from backend.agents.versions import Strategy, followed_ids, latest_version, strategy_of
from backend.auth.identity import CurrentUser
from backend.backtest import inputs
from backend.backtest.candles import HOUR
from backend.backtest.engine import Outcome, Progress, Sources, calls_for, run, skip_counts
from backend.backtest.inputs import PostCall
from backend.backtest.schemas import (
    BacktestRequest,
    BacktestResult,
    EquityOut,
    GroupOut,
    StrategyConfig,
    SummaryOut,
    TradeOut,
)
from backend.config import get_settings
from backend.models import BacktestRun, CtAccount, CtPost
from backend.models.common import utcnow
from backend.signals.errors import InputRejected
from backend.signals.history import visible_agent
from backend.signals.market import CANDLE_COUNT
from backend.signals.types import Classifier
from backend.trading.report import trade_return

# The code a result depends on: the core, the backtest itself and live scoring. A change re-keys every result.
_CODE_DIRS = ("trading", "backtest")
_CODE_FILES = ("signals/features.py", "signals/indicators.py", "signals/market.py")


class BacktestError(Exception):
    """Base of the service's refusals."""


class NotSignedIn(BacktestError):
    """Backtests are for signed-in traders."""


class BacktestNotFound(LookupError):
    """No such run, or it is someone else's."""


@lru_cache(maxsize=1)
def code_version() -> str:
    """A short hash of the source the result depends on."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(p for d in _CODE_DIRS for p in (root / d).glob("*.py")) + [root / f for f in _CODE_FILES]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def strategy_from_config(session: Session, config: StrategyConfig) -> Strategy:
    """A configuration as the strategy a saved agent would hold; its accounts must exist."""
    ids = sorted(set(config.ct_account_ids))
    found = session.exec(select(func.count()).select_from(CtAccount).where(col(CtAccount.id).in_(ids))).one()
    if found != len(ids):
        known = set(session.exec(select(CtAccount.id).where(col(CtAccount.id).in_(ids))).all())
        raise UnknownCtAccounts(sorted(set(ids) - known))
    risk = config.risk
    return Strategy(
        venue=config.venue.value,
        weights=config.weights.model_dump(),
        signal_threshold=risk.signal_threshold,
        ct_account_ids=tuple(ids),
        stoploss=risk.stoploss,
        take_profit=risk.take_profit,
        trailing_stop_positive=risk.trailing_stop_positive,
        trailing_stop_positive_offset=risk.trailing_stop_positive_offset,
        sizing_profile=risk.sizing_profile,
        leverage=risk.leverage,
    )


def config_of(strategy: Strategy) -> StrategyConfig:
    """The strategy as a configuration the builder can hold (and the API return)."""
    data = strategy.to_json()
    return StrategyConfig.model_validate(
        {
            "venue": data["venue"],
            "weights": data["weights"],
            "ct_account_ids": data["ct_account_ids"],
            "risk": {
                name: data[name]
                for name in (
                    "stoploss",
                    "take_profit",
                    "trailing_stop_positive_offset",
                    "trailing_stop_positive",
                    "sizing_profile",
                    "signal_threshold",
                    "leverage",
                )
            },
        }
    )


def agent_strategy(session: Session, agent_id: int, viewer: CurrentUser | None) -> tuple[Strategy, str]:
    """The agent's newest version (what its reference book trades now) and its name."""
    agent = visible_agent(session, agent_id, viewer)
    version = latest_version(session, agent.id)
    if version is not None:
        return Strategy.from_json(version.strategy), agent.name
    return strategy_of(agent, followed_ids(session, agent.id)), agent.name


def run_backtest(
    session: Session,
    request: BacktestRequest,
    *,
    viewer: CurrentUser | None,
    sources: Sources,
    now: datetime | None = None,
    progress: Progress | None = None,
    system: bool = False,
    reclassify_max_posts: int | None = None,
) -> BacktestResult:
    """Backtest the request for `viewer` and store the run; answers from a stored run with an equal key.

    `system` runs without a viewer (the operator's CLI) and stores nothing. A `reclassify` request whose
    period holds more than `reclassify_max_posts` (RECLASSIFY_MAX_POSTS by default) posts without a kept
    reading is refused on `reclassify` before the classifier is asked anything. Commits.
    """
    if viewer is None and not system:
        raise NotSignedIn("sign in to backtest")
    now = now or utcnow()
    if request.agent_id is not None:
        strategy, name = agent_strategy(session, request.agent_id, viewer)
    else:
        assert request.config is not None
        strategy, name = strategy_from_config(session, request.config), None
    start, end = request.period.window(now)
    if request.reclassify:
        limit = get_settings().reclassify_max_posts if reclassify_max_posts is None else reclassify_max_posts
        check_fresh_readings(
            fresh_readings(session, strategy.ct_account_ids, start, end, sources.classifier), limit
        )
    calls = calls_for(session, strategy, start, end, sources, reclassify=request.reclassify)
    key = cache_key(session, strategy, request, start, end, calls, sources)
    stored = _stored(session, key, viewer)
    if stored is not None:
        return stored
    outcome = run(
        calls, strategy, start=start, end=end, capital=request.capital, sources=sources, progress=progress
    )
    result = shape(
        outcome,
        strategy,
        key=key,
        agent_id=request.agent_id,
        agent_name=name,
        start=start,
        end=end,
        capital=request.capital,
        computed_at=utcnow(),
    )
    if viewer is None:
        return result
    row = _store(session, viewer, key, request, result)
    return result.model_copy(update={"id": row.id})


def fresh_readings(
    session: Session,
    account_ids: Iterable[int],
    start: datetime,
    end: datetime,
    classifier: Classifier | None,
) -> int:
    """How many of the accounts' posts in [start, end) `classifier` would be asked to read: those whose
    reading this process does not keep (every one without a `classifier`, as for a worker's sweep)."""
    posts = session.exec(
        select(CtPost.id, CtPost.text).where(
            col(CtPost.ct_account_id).in_(sorted(set(account_ids))),
            col(CtPost.posted_at) >= start,
            col(CtPost.posted_at) < end,
        )
    ).all()
    if classifier is None:
        return len(posts)
    return sum(1 for post_id, text in posts if not inputs.READINGS.has(classifier, post_id, text))


def check_fresh_readings(fresh: int, limit: int) -> None:
    """More fresh readings than `limit` is 422 on `reclassify`: each may be a paid LLM request."""
    if fresh > limit:
        raise InputRejected(
            "reclassify",
            f"{fresh} posts in the period would be read afresh by the classifier; at most {limit} may be "
            "in one request. Choose a shorter period first: readings are kept, so a longer one then needs "
            "fewer.",
        )


def get_backtest(session: Session, run_id: int, *, viewer: CurrentUser | None) -> BacktestResult:
    """A stored run of the viewer's."""
    if viewer is None:
        raise NotSignedIn("sign in to see backtests")
    row = session.get(BacktestRun, run_id)
    if row is None or row.user_id != viewer.id or row.kind != "single" or row.result is None:
        raise BacktestNotFound(f"backtest {run_id} not found")
    return BacktestResult.model_validate({**row.result, "id": row.id})


def cache_key(
    session: Session,
    strategy: Strategy,
    request: BacktestRequest,
    start: datetime,
    end: datetime,
    calls: Iterable[PostCall],
    sources: Sources,
) -> str:
    """Equal keys, equal results: the configuration, window, capital, data and code, hashed."""
    calls = list(calls)
    markets = sorted({c.token for c in calls})
    parts = {
        "strategy": strategy.to_json(),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "capital": str(request.capital),
        "reclassify": request.reclassify,
        "classifier": getattr(sources.classifier, "name", None) if request.reclassify else None,
        "posts": _posts_version(session, strategy.ct_account_ids, start, end),
        "candles": sources.candles.data_version(markets, start - CANDLE_COUNT * HOUR, end),  # with lookback
        "costs": repr(sources.costs),
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _posts_version(session: Session, account_ids: Iterable[int], start: datetime, end: datetime) -> str:
    """Changes when a post in the window is added or (re)classified."""
    count, last_id, last_classified = session.exec(
        select(func.count(), func.max(CtPost.id), func.max(CtPost.classified_at)).where(
            col(CtPost.ct_account_id).in_(sorted(account_ids)),
            col(CtPost.posted_at) >= start,
            col(CtPost.posted_at) < end,
        )
    ).one()
    return f"{count}:{last_id}:{last_classified}"


def _stored(session: Session, key: str, viewer: CurrentUser | None) -> BacktestResult | None:
    rows = session.exec(
        select(BacktestRun)
        .where(BacktestRun.key == key, BacktestRun.kind == "single", BacktestRun.status == "done")
        .order_by(col(BacktestRun.id).desc())
        .limit(20)
    ).all()
    if not rows:
        return None
    mine = next((r for r in rows if viewer is not None and r.user_id == viewer.id), None)
    row = mine or rows[0]
    result = BacktestResult.model_validate({**row.result, "cached": True})
    if viewer is None:
        return result.model_copy(update={"id": None})
    if mine is None:  # someone else asked first: the viewer gets a run of their own to come back to
        row = _store(session, viewer, key, None, result)
    return result.model_copy(update={"id": row.id})


def _store(
    session: Session, viewer: CurrentUser, key: str, request: BacktestRequest | None, result: BacktestResult
) -> BacktestRun:
    row = BacktestRun(
        user_id=viewer.id,
        kind="single",
        status="done",
        key=key,
        agent_id=result.agent_id,
        request=request.model_dump(mode="json") if request is not None else {"key": key},
        result=result.model_dump(mode="json", exclude={"id", "cached"}),
        finished_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _prune(session, viewer.id, get_settings().backtest_runs_kept)
    session.commit()
    session.refresh(row)
    return row


def _prune(session: Session, user_id: int, kept: int) -> None:
    """Keep the user's newest `kept` single runs: the builder stores one per configuration it runs."""
    stale = session.exec(
        select(BacktestRun.id)
        .where(BacktestRun.user_id == user_id, BacktestRun.kind == "single")
        .order_by(col(BacktestRun.id).desc())
        .offset(kept)
    ).all()
    if stale:
        session.execute(sa.delete(BacktestRun).where(col(BacktestRun.id).in_(stale)))


def shape(
    outcome: Outcome,
    strategy: Strategy,
    *,
    key: str,
    agent_id: int | None,
    agent_name: str | None,
    start: datetime,
    end: datetime,
    capital: Decimal,
    computed_at: datetime,
) -> BacktestResult:
    """The outcome as the API answers it: every trade beside the post that made it."""
    calls = {c.post_id: c for c in outcome.calls}
    scores = {d.call.post_id: d.score for d in outcome.decisions}
    trades = []
    for trade in outcome.result.trades:
        call = calls.get(trade.signal_id) if trade.signal_id is not None else None
        trades.append(
            TradeOut(
                market=trade.market,
                side=trade.side.value,
                size=trade.size,
                leverage=trade.leverage,
                entry_at=trade.entry_at,
                entry_price=trade.entry_price,
                exit_at=trade.exit_at,
                exit_price=trade.exit_price,
                exit_reason=trade.reason.value if trade.reason else None,
                profit_abs=trade.realized_pnl,
                profit_ratio=trade_return(trade),
                fees=trade.venue_fees,
                duration_seconds=int((trade.exit_at - trade.entry_at).total_seconds())
                if trade.exit_at
                else None,
                score=scores.get(trade.signal_id, Decimal(0)),
                post_id=call.post_id if call else None,
                post_text=call.text if call else None,
                post_author=call.author if call else None,
                posted_at=call.posted_at if call else None,
            )
        )
    report = outcome.report
    return BacktestResult(
        key=key,
        agent_id=agent_id,
        agent_name=agent_name,
        config=config_of(strategy),
        start=start,
        end=end,
        capital=capital,
        summary=SummaryOut.model_validate(report.summary, from_attributes=True),
        equity=[EquityOut.model_validate(p, from_attributes=True) for p in report.equity],
        trades=trades,
        by_reason=[GroupOut.model_validate(g, from_attributes=True) for g in report.by_reason],
        by_token=[GroupOut.model_validate(g, from_attributes=True) for g in report.by_token],
        skips=skip_counts(outcome.result),
        code_version=code_version(),
        computed_at=computed_at,
    )
