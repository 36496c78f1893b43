"""Parity: one price path, two clocks. The live path (the executor on the paper venue, then the real monitor
cycle and close every 15 minutes of a fake clock) and the replay of the same signals over the same ticks give
the same entries, exits, venue fees, PnL and cash, for every exit reason, long and short, with leverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from backend.agents.versions import followed_ids, strategy_of
from backend.backtest.replay_source import Costs, book_spec
from backend.execution.reasons import category_of
from backend.execution.service import Executor
from backend.models import BillingEvent, PaperAccount, Position, SignalExecution
from backend.models.enums import CloseReason, ExecutionVenue, SignalStatus, Venue
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.trading.exits import Candle
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.replay import ReplaySignal, replay
from backend.trading.types import Side
from backend.venues.paper import PaperVenue, paper_markets
from backend.venues.registry import VenueRegistry
from tests.monitor_support import CIPHER, DrivenFeed

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
SLIPPAGE_BPS, FEE_BPS, SHARE = Decimal("5"), Decimal("4.5"), Decimal("0.10")
TIME_LIMIT = timedelta(hours=2)
COSTS = Costs(
    fills=FillModel.from_bps(SLIPPAGE_BPS, FEE_BPS),
    fees=FeePolicy(creator_share=SHARE),
    time_limit=TIME_LIMIT,
    reference_capital=Decimal(10000),
)
L, S = Side.LONG, Side.SHORT

# A long's path per exit reason, as moves from 100; a short runs it mirrored. Ticks 15 minutes apart.
PATHS = {
    CloseReason.STOP_LOSS: [100, 97, 92, 89, 88],
    CloseReason.TAKE_PROFIT: [100, 108, 115, 126, 128],
    CloseReason.TRAILING_STOP: [100, 102, 105, 104.5, 103.5, 103],
    CloseReason.TIME_LIMIT: [100, 100.5, 101, 100.7, 100.9, 101.2, 100.8, 101.1, 100.9, 101],
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class LivePath:
    """The live machinery on a fake clock: the executor, the paper venue, the monitor and its closes."""

    def __init__(self, engine, session: Session, factory) -> None:
        self.session, self.factory = session, factory
        self.clock, self.feed = Clock(), DrivenFeed()
        paper = PaperVenue(
            engine, self.feed, slippage_bps=SLIPPAGE_BPS, taker_fee_bps=FEE_BPS, clock=self.clock
        )
        self.venues = VenueRegistry({ExecutionVenue.PAPER: paper})
        self.executor = Executor(self.venues, CIPHER, fees=COSTS.fees, clock=self.clock)

        def close(position_id: int) -> None:
            with Session(engine, expire_on_commit=False) as own:
                finish_close(
                    own, position_id, venues=self.venues, cipher=CIPHER, fees=COSTS.fees, now=self.clock()
                )

        self.monitor = Monitor(self.venues, close, time_limit=TIME_LIMIT, clock=self.clock, holder="parity")

    def signal(self, agent, token: str, side: Side, score: str = "0.8"):
        return self.factory.signal(
            agent,
            token=token,
            side=side,
            score=Decimal(score),
            status=SignalStatus.PENDING,
            created_at=self.clock(),
        )

    def tick(self, at: datetime, prices: dict[str, Decimal]) -> None:
        self.clock.now = at
        for market, price in prices.items():
            self.feed.set(market, price)


def scaled(path, base: Decimal, side: Side, tick: Decimal) -> list[Decimal]:
    """The path around `base`, mirrored for a short (each move turned around), on the market's tick."""
    moves = [Decimal(str(p)) / 100 for p in path]
    return [((base * m) if side == L else (base / m)).quantize(tick) for m in moves]


def replayed(agent, deployment, session, signals, candles, end):
    strategy = strategy_of(agent, followed_ids(session, agent.id))
    spec = book_spec(strategy, deployment, costs=COSTS, markets=paper_markets())
    return replay(spec, signals, candles, start=T0, end=end, interval=STEP)


def as_row(p: Position):
    reason = None if p.close_reason is None else CloseReason(p.close_reason)
    return (
        p.signal_id, p.market, Side(p.side), p.size, p.leverage, p.opened_at, p.entry_price, p.entry_fee,
        p.trailing_high, p.closed_at, p.exit_price, p.exit_fee, reason, p.realized_pnl,
    )  # fmt: skip


def as_trade(t):
    exit_fee = t.exit_fee if t.exit_at else Decimal(0)
    return (
        t.signal_id, t.market, t.side, t.size, t.leverage, t.entry_at, t.entry_price, t.entry_fee,
        t.best_price, t.exit_at, t.exit_price, exit_fee, t.reason, t.realized_pnl,
    )  # fmt: skip


def positions(session: Session, deployment_id: int) -> list[Position]:
    session.expire_all()
    query = select(Position).where(Position.deployment_id == deployment_id).order_by(Position.id)
    return list(session.exec(query))


@pytest.mark.parametrize("leverage", [Decimal(1), Decimal(3)])
@pytest.mark.parametrize("side", [L, S])
@pytest.mark.parametrize("reason", list(PATHS))
def test_one_trade_live_and_replayed_is_the_same_trade(engine, session, factory, reason, side, leverage):
    live = LivePath(engine, session, factory)
    agent = factory.agent(venue=Venue.HYPERLIQUID, take_profit=Decimal("0.20"), leverage=leverage)
    deployment = factory.paper_deployment(agent, leverage_cap=leverage)
    prices = scaled(PATHS[reason], Decimal(3000), side, Decimal("0.1"))

    live.tick(T0, {"ETH": prices[0]})
    signal = live.signal(agent, "ETH", side)
    assert live.executor.execute(session, signal.id, deployment.id).position_id is not None
    for i, price in enumerate(prices[1:], start=1):
        live.tick(T0 + i * STEP, {"ETH": price})
        live.monitor.run_cycle(session)

    candles = {"ETH": [Candle.tick(T0 + i * STEP, p) for i, p in enumerate(prices)]}
    inputs = [ReplaySignal(T0, "ETH", side, signal.score, signal.id)]
    result = replayed(agent, deployment, session, inputs, candles, T0 + len(prices) * STEP)

    (row,) = positions(session, deployment.id)
    (trade,) = result.trades
    assert trade.reason == reason and trade.leverage == leverage
    assert as_row(row) == as_trade(trade)
    assert session.get(PaperAccount, deployment.id).cash == result.cash
    # The platform's lines: what the live path billed this deployment is what the fee policy makes of the
    # replayed trade for a billable book (paper is free once the executor and close ask `trading.fees`).
    billed = session.exec(select(BillingEvent).where(BillingEvent.deployment_id == deployment.id)).all()
    if billed:
        strategy = strategy_of(agent, [])
        spec = replace(book_spec(strategy, deployment, costs=COSTS, markets=paper_markets()), billable=True)
        lines = replay(spec, inputs, candles, start=T0, end=T0 + len(prices) * STEP, interval=STEP).billing
        assert sorted((e.kind, e.amount) for e in billed) == sorted((b.kind, b.amount) for b in lines)


def test_a_book_of_several_trades_sizes_skips_and_books_the_same(engine, session, factory):
    """Two markets, an add, a reversal skipped while the position is open, then taken after its exit: the
    sizing sees the same balance (cash, margin, marks) on both paths at every entry."""
    live = LivePath(engine, session, factory)
    agent = factory.agent(venue=Venue.HYPERLIQUID, take_profit=Decimal("0.20"), leverage=Decimal(2))
    deployment = factory.paper_deployment(agent, leverage_cap=Decimal(2))
    eth = [
        Decimal(p)
        for p in (
            "3000",
            "3030",
            "3060",
            "3045",
            "3100",
            "3120",
            "3080",
            "3050",
            "3040",
            "3000",
            "3010",
            "2990",
        )
    ]
    sol = [
        Decimal(p)
        for p in ("150", "148", "146", "147", "145", "140", "139", "141", "139.5", "142", "143", "142")
    ]
    plan = {  # tick index -> signals (token, side, score)
        0: [("ETH", L, "0.8")],
        1: [("SOL", S, "0.7")],
        2: [("ETH", L, "0.6")],  # adds to the long
        4: [("ETH", S, "0.9")],  # the long is open: skipped
        7: [("ETH", S, "0.65")],  # the first long trailed out at 3080 (tick 6), the added one is open
        11: [("ETH", S, "0.7")],  # the added long timed out at tick 10: taken
    }
    signals, inputs = [], []
    for i in range(len(eth)):
        at = T0 + i * STEP
        live.tick(at, {"ETH": eth[i], "SOL": sol[i]})
        if i:
            live.monitor.run_cycle(session)
        for token, side, score in plan.get(i, []):
            signal = live.signal(agent, token, side, score)
            live.executor.execute(session, signal.id, deployment.id)
            signals.append(signal)
            inputs.append(ReplaySignal(at, token, side, signal.score, signal.id))

    candles = {
        "ETH": [Candle.tick(T0 + i * STEP, p) for i, p in enumerate(eth)],
        "SOL": [Candle.tick(T0 + i * STEP, p) for i, p in enumerate(sol)],
    }
    result = replayed(agent, deployment, session, inputs, candles, T0 + len(eth) * STEP)

    rows = positions(session, deployment.id)
    reasons = [r.close_reason for r in rows]
    assert reasons == [CloseReason.TRAILING_STOP, CloseReason.TRAILING_STOP, CloseReason.TIME_LIMIT, None]
    assert [as_row(r) for r in rows] == [as_trade(t) for t in result.trades]
    skipped = session.exec(
        select(SignalExecution.signal_id, SignalExecution.reason)
        .where(SignalExecution.deployment_id == deployment.id, SignalExecution.position_id.is_(None))
        # PostgreSQL returns rows in any order it likes; the replay lists its skips in signal order.
        .order_by(SignalExecution.signal_id)
    ).all()
    assert [(sid, str(category_of(reason))) for sid, reason in skipped] == [
        (s.signal_id, s.category) for s in result.skips
    ]
    assert session.get(PaperAccount, deployment.id).cash == result.cash
