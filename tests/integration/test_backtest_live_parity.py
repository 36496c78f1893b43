"""Parity of the backtest with the LIVE pipeline, not with another replay.

An agent follows an account whose posts arrive over two days, stored as the classifier leaves them
(`classify_post` stamps `classified_at` from the wall clock, so the test writes the reading at its own time).
The live machinery runs on a fake clock, one step per 15-minute bar: the signal generator scores each post
when it is classified, the signals go to the agent's reference book through the dispatcher and the executor
on the paper venue, and the monitor cycle (trailing stops, take-profit, stop loss, time limit) closes
positions through the real close. Then the backtest service backtests the agent over the same window, and
its trades must be the reference book's positions: the same posts, entries, exits, reasons, fees and PnL, to
the money quantum.

Two conditions make the comparison exact, and both are the backtest's documented model rather than slack:
- Prices move on the bar grid (`tests.step_feed`): a monitor that ticks every bar then sees what the
  backtest's bars hold. On a feed that moves inside a bar, a backtest fills a stop at its line, a monitor at
  the first tick past it.
- Posts are classified on the grid: a signal enters at the open of the first bar at or after it, and live
  the executor fills when the generator runs.
At one instant the live steps run in the replay's order: new signals are executed, then the monitor cycle
evaluates every open position (the new ones included) at that bar's price.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from sqlmodel import Session, col, select

from backend.agents.drafts import AgentPatch
from backend.agents.editing import update_agent
from backend.agents.reference import ensure_reference_book
from backend.auth.identity import CurrentUser
from backend.backtest.candles import BAR, FeedCandles
from backend.backtest.engine import Sources, calls_for, run
from backend.backtest.inputs import FeatureCache
from backend.backtest.replay_source import Costs
from backend.backtest.schemas import BacktestRequest, Period
from backend.backtest.service import agent_strategy, run_backtest
from backend.execution.dispatch import deployments_for_signals
from backend.execution.service import Executor
from backend.models import (
    Agent,
    AgentDeployment,
    AgentVersion,
    CtAccount,
    CtPost,
    PaperAccount,
    Position,
    Signal,
    SignalExecution,
)
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, Side
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.signals.pipeline import generate_signals
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.money import cents
from backend.venues.paper import PaperVenue, paper_markets
from backend.venues.registry import VenueRegistry
from tests.factories import Factory
from tests.monitor_support import CIPHER
from tests.step_feed import StepFeed

DAY0 = date(2026, 6, 1)
START = datetime(2026, 6, 1, tzinfo=UTC)
END = START + timedelta(days=2)
CAPITAL = Decimal(10000)
COSTS = Costs(
    fills=FillModel.from_bps(Decimal(5), Decimal("4.5")),
    fees=FeePolicy(),
    time_limit=timedelta(hours=3),
    reference_capital=CAPITAL,
)
TOKENS = ("BTC", "ETH", "SOL")
MAX_POST_AGE = timedelta(hours=1)
# Tight exits, so two days of the simulated feed close positions by every rule.
EXITS = {
    "stoploss": Decimal("0.015"),
    "take_profit": Decimal("0.012"),
    "trailing_stop_positive_offset": Decimal("0.01"),
    "trailing_stop_positive": Decimal("0.004"),
}
WEIGHTS = {
    "weight_tweet": 60,
    "weight_rsi": 20,
    "weight_macd": 10,
    "weight_momentum": 10,
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Live:
    """The live machinery on one fake clock and one stepped feed."""

    engine: object
    session: Session
    clock: Clock
    feed: StepFeed
    executor: Executor
    monitor: Monitor

    @classmethod
    def build(cls, engine, session: Session) -> Live:
        clock, feed = Clock(START), StepFeed()
        paper = PaperVenue(engine, feed, slippage_bps=Decimal(5), taker_fee_bps=Decimal("4.5"), clock=clock)
        venues = VenueRegistry({ExecutionVenue.PAPER: paper})

        def close(position_id: int) -> None:
            with Session(engine, expire_on_commit=False) as own:
                finish_close(own, position_id, venues=venues, cipher=CIPHER, fees=COSTS.fees, now=clock())

        executor = Executor(venues, CIPHER, fees=COSTS.fees, clock=clock)
        monitor = Monitor(venues, close, time_limit=COSTS.time_limit, clock=clock, holder="live-parity")
        return cls(engine, session, clock, feed, executor, monitor)

    def run(self, posts: list[CtPost], until: datetime) -> None:
        """Every bar from now until `until`: the posts classified at it become signals and are executed,
        then the monitor cycle runs."""
        due: dict[datetime, list[int]] = {}
        for post in posts:
            due.setdefault(post.classified_at, []).append(post.id)
        while self.clock.now < until:
            now = self.clock.now
            for post_id in sorted(due.get(now, [])):
                self.generate_and_execute(post_id)
            self.monitor.run_cycle(self.session)
            self.clock.now = now + BAR

    def generate_and_execute(self, post_id: int) -> None:
        """`generate_signals_task`, then `execute_signals_task`, as a worker runs them (minus the queue)."""
        created = generate_signals(
            self.session,
            post_id,
            self.feed,
            max_post_age=MAX_POST_AGE,
            now=self.clock.now,
            reference_capital=CAPITAL,
        ).signal_ids
        if not created:
            return
        pairs = deployments_for_signals(self.session, created)
        self.session.commit()
        self.executor.execute_pairs(self.session, pairs)


def classified_posts(factory: Factory, account: CtAccount, first: datetime, last: datetime) -> list[CtPost]:
    """Signal posts from `first` to `last`, one every 1h23m at odd minutes, classified at the next bar."""
    posts = []
    for i, posted_at in enumerate(_every(first, last, timedelta(hours=1, minutes=23))):
        token = TOKENS[i % len(TOKENS)]
        side = Side.SHORT if i % 3 == 2 else Side.LONG
        posts.append(
            factory.post(
                account,
                text=f"${token} {'shorting' if side == Side.SHORT else 'longing'} here",
                posted_at=posted_at,
                is_signal=True,
                token=token,
                side=side,
                confidence=(Decimal("0.9"), Decimal("0.55"), Decimal("0.75"), Decimal("0.6"))[i % 4],
                classifier="rules-test",
                classified_at=_next_bar(posted_at),
            )
        )
    return posts


def _every(first: datetime, last: datetime, step: timedelta) -> Iterator[datetime]:
    at = first
    while at <= last:
        yield at
        at += step


def _next_bar(at: datetime) -> datetime:
    """The first bar opening after `at` (posts are off the grid, so strictly after)."""
    floor = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    return floor + BAR


def sources(feed: StepFeed) -> Sources:
    return Sources(FeedCandles(feed), paper_markets(), COSTS, features=FeatureCache())


def setup_agent(factory: Factory, session: Session) -> tuple[Agent, CtAccount, AgentDeployment]:
    factory.tokens(*TOKENS)
    account = factory.ct_account()
    agent = factory.agent(
        follows=[account],
        signal_threshold=Decimal("0.6"),
        leverage=Decimal(2),
        **WEIGHTS,
        **EXITS,
    )
    book = ensure_reference_book(session, agent, capital=CAPITAL, now=START)
    session.commit()
    return agent, account, book


def book_rows(session: Session, book: AgentDeployment, opened_from: datetime = START) -> list[tuple]:
    """The reference book's positions as the backtest names trades (by post), in entry order."""
    session.expire_all()
    rows = session.exec(
        select(Position, Signal.post_id)
        .join(Signal, col(Signal.id) == col(Position.signal_id))
        .where(Position.deployment_id == book.id, col(Position.opened_at) >= opened_from)
        .order_by(col(Position.opened_at), col(Position.id))
    ).all()
    return [
        (
            post_id,
            p.market,
            Side(p.side),
            p.size,
            p.leverage,
            p.opened_at,
            p.entry_price,
            p.closed_at,
            p.exit_price,
            None if p.close_reason is None else CloseReason(p.close_reason),
            p.entry_fee + (p.exit_fee or Decimal(0)),
            p.realized_pnl,
        )
        for p, post_id in rows
    ]


def backtest_rows(trades) -> list[tuple]:
    return [
        (
            t.post_id,
            t.market,
            Side(t.side),
            t.size,
            t.leverage,
            t.entry_at,
            t.entry_price,
            t.exit_at,
            t.exit_price,
            None if t.exit_reason is None else CloseReason(t.exit_reason),
            t.fees,
            t.profit_abs,
        )
        for t in sorted(trades, key=lambda t: (t.entry_at, t.post_id))
    ]


def replay_rows(trades) -> list[tuple]:
    return [
        (
            t.signal_id,
            t.market,
            t.side,
            t.size,
            t.leverage,
            t.entry_at,
            t.entry_price,
            t.exit_at,
            t.exit_price,
            t.reason,
            t.venue_fees,
            t.realized_pnl,
        )
        for t in sorted(trades, key=lambda t: (t.entry_at, t.signal_id))
    ]


def test_the_backtest_reproduces_the_live_reference_book(engine, session, factory):
    agent, account, book = setup_agent(factory, session)
    posts = classified_posts(factory, account, START + timedelta(minutes=67), END - timedelta(hours=3))
    live = Live.build(engine, session)
    live.run(posts, END)

    expected = book_rows(session, book)

    creator = session.get(Agent, agent.id).creator_id
    viewer = CurrentUser(id=creator, address=f"0x{creator:040x}", role="user")
    request = BacktestRequest(agent_id=agent.id, period=Period(start=DAY0, end=DAY0 + timedelta(days=1)))
    result = run_backtest(session, request, viewer=viewer, sources=sources(live.feed), now=END)
    assert (result.start, result.end) == (START, END)

    assert backtest_rows(result.trades) == expected

    # The window exercises what parity is about: every exit rule, both sides, overlapping positions (sizing
    # sees the margin held), and posts the agent passed on (under its threshold, or a second in a bucket).
    reasons = {row[9] for row in expected}
    assert reasons == {
        CloseReason.STOP_LOSS,
        CloseReason.TAKE_PROFIT,
        CloseReason.TRAILING_STOP,
        CloseReason.TIME_LIMIT,
    }
    assert {row[2] for row in expected} == {Side.LONG, Side.SHORT}
    assert any(later[5] < earlier[7] for earlier, later in pairwise(expected))
    signals = session.exec(select(Signal).where(Signal.agent_id == agent.id)).all()
    assert result.summary.signals == len(signals) < len(posts)
    skipped = session.exec(
        select(SignalExecution).where(
            SignalExecution.deployment_id == book.id, col(SignalExecution.position_id).is_(None)
        )
    ).all()
    assert result.summary.signals_skipped == len(skipped)
    # The book's money: with every position closed, its cash is the backtest's final balance (in cents).
    assert all(row[7] is not None for row in expected)
    assert result.summary.final_balance == cents(session.get(PaperAccount, book.id).cash)


def test_after_a_new_version_the_backtest_matches_the_window_it_was_in_force(engine, session, factory):
    """A backtest runs the agent's newest version over the whole window; the reference book traded each
    version while it was in force. So the parity claim holds over a window with one version: here the day
    after the edit (the book's cash that morning as the capital), and not over the two days together."""
    agent, account, book = setup_agent(factory, session)
    edit_at = START + timedelta(days=1)
    # Day one's last post is more than the time limit before the edit: nothing is open across it.
    posts = classified_posts(factory, account, START + timedelta(minutes=67), edit_at - timedelta(hours=9))
    live = Live.build(engine, session)
    live.run(posts, edit_at)

    creator = session.get(Agent, agent.id).creator_id
    owner = CurrentUser(id=creator, address=f"0x{creator:040x}", role="user")
    patch = AgentPatch.model_validate({"risk": {"take_profit": "0.02", "signal_threshold": "0.5"}})
    update_agent(session, owner, agent.id, patch)
    session.expire_all()
    versions = session.exec(select(AgentVersion.id).where(AgentVersion.agent_id == agent.id)).all()
    assert len(versions) == 2
    assert session.get(AgentDeployment, book.id).agent_version_id == max(versions)  # the book follows v2
    assert not session.exec(
        select(Position).where(Position.deployment_id == book.id, Position.status != PositionStatus.CLOSED)
    ).all()
    cash_at_edit = session.get(PaperAccount, book.id).cash
    posts += classified_posts(factory, account, edit_at + timedelta(minutes=67), END - timedelta(hours=3))
    live.run(posts, END)

    strategy, _ = agent_strategy(session, agent.id, owner)
    feed_sources = sources(live.feed)

    def backtest(start: datetime, capital: Decimal):
        # The engine the service runs, with the book's exact cash: the API's capital is whole cents.
        calls = calls_for(session, strategy, start, END, feed_sources, reclassify=False)
        return run(calls, strategy, start=start, end=END, capital=capital, sources=feed_sources).result

    after_edit = backtest(edit_at, cash_at_edit)
    assert replay_rows(after_edit.trades) == book_rows(session, book, opened_from=edit_at)
    assert after_edit.trades

    # Before the edit the book traded version 1; the newest version, backtested there, trades otherwise.
    before_edit = [row for row in replay_rows(backtest(START, CAPITAL).trades) if row[5] < edit_at]
    traded_before = [row for row in book_rows(session, book) if row[5] < edit_at]
    assert before_edit and traded_before
    assert before_edit != traded_before
