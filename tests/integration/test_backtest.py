"""Backtests on the demo history: parity with the reference books, no look-ahead, determinism, the service.

One seed per database backend (it costs seconds), then every property is checked on it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from backend.agents.editing import UnknownCtAccounts
from backend.agents.service import AgentNotFound
from backend.agents.versions import Strategy
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import MemoryCounter
from backend.backtest.candles import BAR, FeedCandles, floor_to
from backend.backtest.engine import Sources, calls_for, run
from backend.backtest.inputs import FeatureCache
from backend.backtest.replay_source import Costs
from backend.backtest.schemas import BacktestRequest, Period, StrategyConfig
from backend.backtest.service import (
    BacktestNotFound,
    NotSignedIn,
    config_of,
    get_backtest,
    run_backtest,
)
from backend.config import get_settings
from backend.demo.seed import seed_demo
from backend.models import Agent, AgentDeployment, AgentVersion, BacktestRun, PnlSnapshot, Position, Signal
from backend.models.enums import CloseReason, Visibility
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.classifier import RuleClassifier
from backend.trading.money import cents
from backend.venues.paper import paper_markets

# Off the 15-minute grid on purpose: the seed and the backtest must still walk the same bars.
NOW = datetime(2026, 11, 1, 12, 7, tzinfo=UTC)


def _sources(feed=None) -> Sources:
    candles = FeedCandles(feed or SimulatedPriceFeed(seed=7))
    return Sources(candles, paper_markets(), Costs.from_settings(get_settings()), features=FeatureCache())


def _viewer(user) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=user.role)


def _strategy(session, agent: Agent) -> Strategy:
    version = session.exec(select(AgentVersion).where(AgentVersion.agent_id == agent.id)).one()
    return Strategy.from_json(version.strategy)


def _book(session, agent: Agent) -> AgentDeployment:
    return session.exec(
        select(AgentDeployment).where(AgentDeployment.agent_id == agent.id, AgentDeployment.is_reference)
    ).one()


def test_backtests_on_the_demo_history(session, factory):
    seed_demo(session, now=NOW)
    agents = session.exec(select(Agent).order_by(Agent.id)).all()
    assert len(agents) > 5
    sources = _sources()
    assert_backtest_reproduces_every_reference_book(session, agents, sources)
    assert_no_look_ahead(session, agents[0])
    assert_deterministic(session, agents[1], sources)
    assert_service(session, factory, agents[2], sources)


def assert_backtest_reproduces_every_reference_book(session, agents, sources):
    """Same signals (each from its post), entries, exits, reasons, fees and PnL; the same daily equity."""
    traded = 0
    for agent in agents:
        strategy, book = _strategy(session, agent), _book(session, agent)
        calls = calls_for(session, strategy, book.created_at, NOW, sources, reclassify=False)
        outcome = run(
            calls, strategy, start=book.created_at, end=NOW, capital=book.capital_usd, sources=sources
        )
        rows = session.exec(
            select(Position, Signal.post_id)
            .join(Signal, Signal.id == Position.signal_id)
            .where(Position.deployment_id == book.id)
            .order_by(Position.opened_at, Position.signal_id)
        ).all()
        expected = [
            (
                post_id,
                p.market,
                p.side,
                p.size,
                p.leverage,
                p.opened_at,
                p.entry_price,
                p.entry_fee,
                p.closed_at,
                p.exit_price,
                p.exit_fee,
                None if p.close_reason is None else CloseReason(p.close_reason),
                p.realized_pnl,
            )
            for p, post_id in rows
        ]
        got = [
            (
                t.signal_id,  # a backtest names each trade by its post
                t.market,
                t.side,
                t.size,
                t.leverage,
                t.entry_at,
                t.entry_price,
                t.entry_fee,
                t.exit_at,
                t.exit_price,
                t.exit_fee if t.exit_at else Decimal(0),
                t.reason,
                t.realized_pnl,
            )
            for t in sorted(outcome.result.trades, key=lambda t: (t.entry_at, t.signal_id))
        ]
        assert got == sorted(expected, key=lambda e: (e[5], e[0])), agent.name
        snapshots = session.exec(
            select(PnlSnapshot).where(PnlSnapshot.deployment_id == book.id).order_by(PnlSnapshot.day)
        ).all()
        assert [(s.day, s.equity) for s in snapshots] == [(p.day, p.equity) for p in outcome.result.equity]
        assert [(p.day, p.equity) for p in outcome.report.equity] == [
            (s.day, cents(s.equity)) for s in snapshots
        ]
        traded += len(got)
    assert traded > 1000


class _ShiftedAfter:
    """The demo's candles, with every candle opening at or after `moment` moved by a factor."""

    def __init__(self, moment: datetime, factor: Decimal) -> None:
        self.inner = FeedCandles(SimulatedPriceFeed(seed=7))
        self.name = f"shifted:{moment.isoformat()}:{factor}"
        self.moment, self.factor = moment, factor

    def hourly(self, market, start, end):
        f = self.factor
        return [
            replace(c, open=c.open * f, high=c.high * f, low=c.low * f, close=c.close * f)
            if c.start >= self.moment
            else c
            for c in self.inner.hourly(market, start, end)
        ]

    def bars(self, market, start, end):
        f = self.factor
        return [
            replace(c, open=c.open * f, high=c.high * f, low=c.low * f, close=c.close * f)
            if c.at >= self.moment
            else c
            for c in self.inner.bars(market, start, end)
        ]

    def data_version(self, markets, start, end):
        return self.name


def assert_no_look_ahead(session, agent):
    """Moving every candle after a moment changes no score, trade or equity point before it."""
    strategy, book = _strategy(session, agent), _book(session, agent)
    start = book.created_at
    moment = start + (NOW - start) / 2
    moment = moment.replace(minute=0, second=0, microsecond=0)
    base = _sources()
    moved = replace(base, candles=_ShiftedAfter(moment, Decimal("1.5")), features=FeatureCache())
    calls = calls_for(session, strategy, start, NOW, base, reclassify=False)
    a = run(calls, strategy, start=start, end=NOW, capital=book.capital_usd, sources=base)
    b = run(calls, strategy, start=start, end=NOW, capital=book.capital_usd, sources=moved)

    def before(outcome):
        decided = [(d.call.post_id, d.score) for d in outcome.decisions if d.call.posted_at < moment]
        closed = [t for t in outcome.result.trades if t.exit_at is not None and t.exit_at < moment]
        equity = [(p.day, p.equity) for p in outcome.result.equity if p.at < moment]
        return decided, closed, equity

    assert before(a) == before(b)
    assert before(a)[0] and before(a)[1] and before(a)[2]
    # ... and the move does show after it: the test would notice a backtest that ignored the candles.
    assert [p.equity for p in a.result.equity] != [p.equity for p in b.result.equity]


def assert_deterministic(session, agent, sources):
    strategy, book = _strategy(session, agent), _book(session, agent)
    calls = calls_for(session, strategy, book.created_at, NOW, sources, reclassify=False)
    first = run(calls, strategy, start=book.created_at, end=NOW, capital=Decimal(10000), sources=sources)
    cold = _sources()  # fresh caches: nothing carried over
    second = run(calls, strategy, start=book.created_at, end=NOW, capital=Decimal(10000), sources=cold)
    assert first.result == second.result
    assert first.report == second.report


def assert_service(session, factory, agent, sources):
    trader, stranger = factory.user(), factory.user()
    me = _viewer(trader)
    request = BacktestRequest(agent_id=agent.id, period=Period(days=30), capital=Decimal(5000))
    with pytest.raises(NotSignedIn):
        run_backtest(session, request, viewer=None, sources=sources, now=NOW)

    result = run_backtest(session, request, viewer=me, sources=sources, now=NOW)
    assert result.id is not None and not result.cached
    # The window ends at the last bar closed by NOW (12:07 -> 12:00), so one bar's questions share it.
    assert result.capital == Decimal(5000) and result.end == floor_to(NOW, BAR)
    assert result.start == result.end - timedelta(days=30)
    assert result.summary.trades + result.summary.open_trades == len(result.trades) > 0
    assert all(t.post_text and t.post_author for t in result.trades)
    assert result.summary.starting_balance == Decimal(5000)
    assert result.notice.startswith("Past results do not predict")

    again = run_backtest(session, request, viewer=me, sources=sources, now=NOW)
    assert again.cached and again.id == result.id and again.key == result.key
    assert again.model_dump(exclude={"cached"}) == result.model_dump(exclude={"cached"})
    assert get_backtest(session, result.id, viewer=me).trades == result.trades
    with pytest.raises(BacktestNotFound):
        get_backtest(session, result.id, viewer=_viewer(stranger))

    # The same question from someone else is answered from the stored run, as a run of their own.
    theirs = run_backtest(session, request, viewer=_viewer(stranger), sources=sources, now=NOW)
    assert theirs.cached and theirs.id != result.id and theirs.summary == result.summary

    # The posts read again by the classifier configured now (the rules here) rather than their stored reading.
    reread = run_backtest(
        session,
        request.model_copy(update={"reclassify": True}),
        viewer=me,
        sources=replace(sources, classifier=RuleClassifier()),
        now=NOW,
    )
    assert reread.key != result.key and not reread.cached
    assert reread.summary.signals > result.summary.signals / 2 and reread.trades
    assert all(t.post_text and t.post_author for t in reread.trades)

    # The configuration being edited, unsaved: the agent's own, with a higher threshold, trades less.
    config = config_of(_strategy(session, agent))
    stricter = config.model_copy(
        update={"risk": config.risk.model_copy(update={"signal_threshold": Decimal("0.9")})}
    )
    edited = run_backtest(
        session, BacktestRequest(config=config, period=Period(days=30)), viewer=me, sources=sources, now=NOW
    )
    strict = run_backtest(
        session, BacktestRequest(config=stricter, period=Period(days=30)), viewer=me, sources=sources, now=NOW
    )
    assert strict.key != edited.key
    assert strict.summary.signals < edited.summary.signals

    with pytest.raises(UnknownCtAccounts):
        bad = config.model_copy(update={"ct_account_ids": [999_999]})
        run_backtest(session, BacktestRequest(config=bad), viewer=me, sources=sources, now=NOW)

    agent.visibility = Visibility.PRIVATE
    session.add(agent)
    session.commit()
    with pytest.raises(AgentNotFound):
        run_backtest(
            session,
            BacktestRequest(agent_id=agent.id, period=Period(days=7)),
            viewer=me,
            sources=sources,
            now=NOW,
        )
    runs = session.exec(select(BacktestRun).where(BacktestRun.user_id == trader.id)).all()
    assert len(runs) == 4  # the first, the reread, and the two configurations; the cached answer added none


def test_the_panel_counts_against_the_per_user_quota(session, factory, monkeypatch):
    """The builder's auto-rerun calls the service directly: it spends the same quota as the API."""
    from backend.auth.errors import RateLimited
    from backend.config import Settings
    from maxxit_ui.state import backtest as panel

    settings = Settings(backtests_per_minute=2)
    monkeypatch.setattr(panel, "get_settings", lambda: settings)
    counter = MemoryCounter()
    monkeypatch.setattr(panel, "shared_counter", lambda _url: counter)
    account, user = factory.ct_account(), factory.user()
    weights = dict.fromkeys(
        ("rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility"), 0
    )
    config = StrategyConfig.model_validate(
        {"venue": "HYPERLIQUID", "weights": {**weights, "tweet": 60}, "ct_account_ids": [account.id]}
    )
    request = BacktestRequest(config=config, period=Period(days=7))
    me = _viewer(user)
    panel._both(session, me, request, None)
    panel._both(session, me, request, None)
    with pytest.raises(RateLimited):
        panel._both(session, me, request, None)


def test_only_the_newest_runs_of_a_user_are_kept(session, factory, monkeypatch):
    from backend.backtest import service
    from backend.config import Settings

    settings = Settings(backtest_runs_kept=2)
    monkeypatch.setattr(service, "get_settings", lambda: settings)
    account, user, other = factory.ct_account(), factory.user(), factory.user()
    weights = dict.fromkeys(
        ("rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility"), 0
    )

    def ask(viewer, threshold: str):
        config = StrategyConfig.model_validate(
            {
                "venue": "HYPERLIQUID",
                "weights": {**weights, "tweet": 60},
                "ct_account_ids": [account.id],
                "risk": {"signal_threshold": threshold},
            }
        )
        request = BacktestRequest(config=config, period=Period(days=7))
        return run_backtest(session, request, viewer=_viewer(viewer), sources=_sources(), now=NOW)

    theirs = ask(other, "0.5")
    first, second, third = (ask(user, t) for t in ("0.5", "0.6", "0.7"))
    kept = session.exec(
        select(BacktestRun.id).where(BacktestRun.user_id == user.id).order_by(BacktestRun.id)
    ).all()
    assert kept == [second.id, third.id]
    with pytest.raises(BacktestNotFound):
        get_backtest(session, first.id, viewer=_viewer(user))
    assert get_backtest(session, theirs.id, viewer=_viewer(other)).key == theirs.key  # others' runs untouched
