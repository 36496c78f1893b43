"""A position's chart as the trader sees it: the mids since entry, the entry, the stop over time, the exit.

The stop line is recomputed from the ticks with the same pure rules the monitor runs, from the entry on, so
the chart shows where the position would have closed at every moment, not a line drawn after the fact.
Everything stays Decimal here; the chart builder in the UI turns it into floats.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.agents.versions import exit_settings, strategies
from backend.auth.identity import CurrentUser
from backend.deployments.figures import breakdowns, market_rules, position_breakdown
from backend.models import Agent, AgentDeployment, MarketTick, Position
from backend.models.enums import CloseReason, PositionStatus, Side
from backend.monitor.close import PositionNotFound
from backend.trading.book import Breakdown, unrealized_pnl
from backend.trading.exits import (
    ExitRules,
    OpenPosition,
    evaluate,
    pnl_ratio,
    rules_for,
    stop_price,
    take_profit_price,
)
from backend.trading.margin import initial_margin, liquidation_price, notional
from backend.trading.market import MarketRules

logger = logging.getLogger(__name__)

__all__ = [
    "ChartPoint",
    "ClosedPosition",
    "PositionChart",
    "PositionNotFound",
    "dashboard_charts",
    "downsample",
    "position_chart",
    "recent_closes",
]

MIN_POINTS = 4  # the first, the last, and one bucket's low and high
EXACT_TICKS_PER_POINT = 4  # up to this many ticks per drawn point, every tick is read and walked


@dataclass(frozen=True)
class ChartPoint:
    """One mid the monitor saw, with the stop and the best price as they stood right after it."""

    at: datetime
    price: Decimal
    stop: Decimal
    best: Decimal


@dataclass(frozen=True)
class PositionChart:
    position_id: int
    deployment_id: int
    agent_name: str
    venue: str
    market: str
    side: Side
    size: Decimal
    leverage: Decimal
    status: PositionStatus
    entry_price: Decimal
    opened_at: datetime
    points: tuple[ChartPoint, ...]
    hard_stop: Decimal  # the stop at entry, until the trailing stop arms
    stop_price: Decimal  # now (or when it closed): the hard stop, or the trailing stop once armed
    best_price: Decimal  # the trailing high: highest since entry for a long, lowest for a short
    trailing_armed: bool
    last_price: Decimal | None  # the latest mid (None before the monitor's first tick)
    last_at: datetime | None
    unrealized_pnl: Decimal | None  # open and closing positions, at the last mid
    unrealized_return: Decimal | None  # the move times leverage: the return on margin, before fees
    exit_price: Decimal | None
    exit_at: datetime | None
    close_reason: CloseReason | None
    realized_pnl: Decimal | None
    entry_fee: Decimal
    exit_fee: Decimal
    figures: Breakdown  # at the exit once closed, at the last mid while open: the same on every page
    ticks_seen: int  # before downsampling
    close_error: str | None = None  # the venue refused the close and still holds it: retried
    close_attempts: int = 0
    take_profit_price: Decimal | None = None  # None: the rules set no take-profit
    liquidation_price: Decimal | None = None  # isolated margin; None when the market's rules are unknown
    notional_usd: Decimal = Decimal(0)  # at the last mid while open (the entry before one), at the exit after
    margin_usd: Decimal = Decimal(0)  # what the position holds out of the account: entry notional / leverage
    tick_size: Decimal | None = None  # the market's price tick, for showing prices; None when unknown


def position_chart(
    session: Session, position_id: int, user: CurrentUser, *, now: datetime, max_points: int = 300
) -> PositionChart:
    """The chart of one of the user's positions; PositionNotFound for someone else's or an unknown one."""
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}")
    row = session.exec(
        select(Position, AgentDeployment, Agent)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .where(
            Position.id == position_id,
            AgentDeployment.user_id == user.id,
            col(AgentDeployment.is_reference).is_(False),
        )
    ).first()
    if row is None:
        raise PositionNotFound(position_id)
    position, deployment, agent = row
    settings = exit_settings(strategies(session, [deployment.agent_version_id]), deployment, agent)
    market = market_rules(session, [(position.venue, position.market)]).get((position.venue, position.market))
    rules = rules_for(settings, deployment, None)
    return _chart(session, position, agent.name, rules, market, now, max_points)


def dashboard_charts(
    session: Session, user: CurrentUser, *, now: datetime, closed_since: datetime, max_points: int = 300
) -> list[PositionChart]:
    """Charts of the user's open and closing positions, and of those closed since `closed_since`.

    Recently closed ones stay so a trader who watched a position close sees where it did.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}")
    rows = session.exec(
        select(Position, AgentDeployment, Agent)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .where(
            AgentDeployment.user_id == user.id,
            col(AgentDeployment.is_reference).is_(False),
            sa.or_(Position.status != PositionStatus.CLOSED, col(Position.closed_at) >= closed_since),
        )
        .order_by(col(Position.opened_at).desc(), col(Position.id).desc())
    ).all()
    # Open and closing ones first (newest opened first), then the closed ones by their close, newest first.
    live = [r for r in rows if r[0].status != PositionStatus.CLOSED]
    done = sorted((r for r in rows if r[0].status == PositionStatus.CLOSED), key=lambda r: r[0].closed_at)
    rules: dict[int, ExitRules] = {}
    pinned = strategies(session, (d.agent_version_id for _, d, _ in rows))
    markets = market_rules(session, {(p.venue, p.market) for p, _, _ in rows})
    charts = []
    for position, deployment, agent in [*live, *reversed(done)]:
        if deployment.id not in rules:
            rules[deployment.id] = rules_for(exit_settings(pinned, deployment, agent), deployment, None)
        market = markets.get((position.venue, position.market))
        charts.append(_chart(session, position, agent.name, rules[deployment.id], market, now, max_points))
    return charts


def _chart(
    session: Session,
    position: Position,
    agent_name: str,
    rules: ExitRules,
    market: MarketRules | None,
    now: datetime,
    max_points: int,
) -> PositionChart:
    side, status = Side(position.side), PositionStatus(position.status)
    end = position.closed_at if status == PositionStatus.CLOSED and position.closed_at else now
    ticks, total = _drawn_ticks(session, position, end, max_points)
    if len(ticks) == total:  # every tick at hand: walk them all, draw the decimated ones
        kept = walk(position, rules, ticks, keep=set(downsample([t[1] for t in ticks], max_points)))
    else:  # the database decimated them already: walk what is drawn
        kept = walk(position, rules, ticks)
    # The monitor's stored best covers mids it saw but could not record; the two agree when it could.
    best = kept[-1].best if kept else position.entry_price
    if position.trailing_high is not None:
        best = max(best, position.trailing_high) if side == Side.LONG else min(best, position.trailing_high)
    hard = stop_price(
        OpenPosition(side, position.entry_price, position.opened_at, position.entry_price), rules
    )
    current_stop = stop_price(OpenPosition(side, position.entry_price, position.opened_at, best), rules)
    last = ticks[-1] if ticks else None
    is_open = status != PositionStatus.CLOSED
    pnl = ratio = None
    if is_open and last is not None:
        pnl = unrealized_pnl(side, position.entry_price, last[1], position.size)
        ratio = pnl_ratio(side, position.entry_price, last[1], position.leverage or Decimal(1))
    leverage = position.leverage or Decimal(1)
    marked = (last[1] if last else position.entry_price) if is_open else position.exit_price
    return PositionChart(
        position_id=position.id,
        deployment_id=position.deployment_id,
        agent_name=agent_name,
        venue=position.venue,
        market=position.market,
        side=side,
        size=position.size,
        leverage=position.leverage,
        status=status,
        entry_price=position.entry_price,
        opened_at=position.opened_at,
        points=tuple(kept),
        stop_price=current_stop,
        best_price=best,
        hard_stop=hard,
        trailing_armed=current_stop != hard,
        last_price=last[1] if last else None,
        last_at=last[0] if last else None,
        unrealized_pnl=pnl,
        unrealized_return=ratio,
        exit_price=None if is_open else position.exit_price,
        exit_at=None if is_open else position.closed_at,
        close_reason=CloseReason(position.close_reason) if position.close_reason else None,
        realized_pnl=position.realized_pnl,
        entry_fee=position.entry_fee,
        exit_fee=position.exit_fee,
        figures=position_breakdown(session, position, last[1] if is_open and last else None),
        ticks_seen=total,
        close_error=position.close_error if status == PositionStatus.CLOSING else None,
        close_attempts=position.close_attempts,
        take_profit_price=take_profit_price(side, position.entry_price, rules),
        liquidation_price=None
        if market is None
        else liquidation_price(side, position.entry_price, leverage, market.max_leverage),
        notional_usd=notional(position.size, marked or position.entry_price),
        margin_usd=initial_margin(position.size, position.entry_price, leverage),
        tick_size=None if market is None else market.tick_size,
    )


@dataclass(frozen=True)
class ClosedPosition:
    position_id: int
    deployment_id: int
    agent_name: str
    venue: str
    market: str
    side: Side
    size: Decimal
    leverage: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    realized_pnl: Decimal | None  # net of the venue's fees
    figures: Breakdown  # gross, venue fees, Maxxit's fee, profit share, net
    close_reason: CloseReason | None
    opened_at: datetime
    closed_at: datetime | None


def recent_closes(session: Session, user: CurrentUser, *, limit: int = 20) -> list[ClosedPosition]:
    """The user's last closed positions, newest close first, with what they cost in fees."""
    rows = session.exec(
        select(Position, Agent.name)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .where(
            AgentDeployment.user_id == user.id,
            col(AgentDeployment.is_reference).is_(False),
            Position.status == PositionStatus.CLOSED,
        )
        .order_by(col(Position.closed_at).desc(), col(Position.id).desc())
        .limit(limit)
    ).all()
    parts = breakdowns(session, [p for p, _ in rows])
    return [
        ClosedPosition(
            position_id=p.id,
            deployment_id=p.deployment_id,
            agent_name=name,
            venue=p.venue,
            market=p.market,
            side=Side(p.side),
            size=p.size,
            leverage=p.leverage,
            entry_price=p.entry_price,
            exit_price=p.exit_price,
            realized_pnl=p.realized_pnl,
            figures=parts[p.id],
            close_reason=CloseReason(p.close_reason) if p.close_reason else None,
            opened_at=p.opened_at,
            closed_at=p.closed_at,
        )
        for p, name in rows
    ]


def _drawn_ticks(
    session: Session, position: Position, end: datetime, max_points: int
) -> tuple[list[tuple[datetime, Decimal]], int]:
    """The mids of the position's venue and market from its opening to `end` (both included), and how many.

    Up to a few per drawn point they all come back (the stop is then walked over every one of them). A
    longer history, days of 5-second ticks read every few seconds by an open dashboard, is decimated by the
    database as `downsample` would, so only what is drawn crosses the wire; the stop is then walked over the
    drawn ticks, which hold every bucket's high and low, so the best price, and the current stop, stay
    exact, and a stop step may show up to one bucket late.
    """
    window = (
        MarketTick.venue == position.venue,
        MarketTick.market == position.market,
        col(MarketTick.at) >= position.opened_at,
        col(MarketTick.at) <= end,
    )
    total = session.exec(select(func.count()).select_from(MarketTick).where(*window)).one()
    if total <= max_points * EXACT_TICKS_PER_POINT:
        rows = session.exec(
            select(MarketTick.at, MarketTick.price)
            .where(*window)
            .order_by(col(MarketTick.at), col(MarketTick.id))
        ).all()
        return [(at, Decimal(price)) for at, price in rows], total
    return _decimated(session, window, total, max_points), total


def _decimated(
    session: Session, window: tuple[sa.ColumnElement[bool], ...], total: int, max_points: int
) -> list[tuple[datetime, Decimal]]:
    """`downsample` in SQL (window functions, SQLite and PostgreSQL): first, last, every bucket's extremes."""
    buckets = (max_points - 2) // 2
    numbered = (
        select(
            MarketTick.at,
            MarketTick.price,
            func.row_number().over(order_by=(col(MarketTick.at), col(MarketTick.id))).label("rn"),
        )
        .where(*window)
        .subquery()
    )
    bucket = ((numbered.c.rn - 2) * buckets // (total - 2)).label("bucket")
    # min/max over one partition: a single sort, half the cost of ranking rows by price both ways.
    ranked = select(
        numbered.c.at,
        numbered.c.price,
        numbered.c.rn,
        bucket,
        func.min(numbered.c.price).over(partition_by=bucket).label("lo"),
        func.max(numbered.c.price).over(partition_by=bucket).label("hi"),
    ).subquery()
    rows = session.exec(
        select(ranked.c.at, ranked.c.price, ranked.c.rn, ranked.c.bucket, ranked.c.lo, ranked.c.hi)
        .where(
            sa.or_(
                ranked.c.price == ranked.c.lo,
                ranked.c.price == ranked.c.hi,
                ranked.c.rn == 1,
                ranked.c.rn == total,
            )
        )
        .order_by(ranked.c.rn)
    ).all()
    kept, seen = [], set()
    for at, price, rn, b, lo, hi in rows:
        # A price repeated in a bucket comes back each time: its first occurrence is enough.
        marks = {(b, "lo")} if price == lo else set()
        marks |= {(b, "hi")} if price == hi else set()
        if rn in (1, total) or marks - seen:
            kept.append((at, Decimal(price)))
        seen |= marks
    return kept


def walk(
    position: Position,
    rules: ExitRules,
    ticks: Sequence[tuple[datetime, Decimal]],
    keep: Collection[int] | None = None,
) -> list[ChartPoint]:
    """The stop and best price after every tick (those indexed in `keep`), from the entry on, as the monitor
    would have evaluated them.

    The rules' stop depends on the best price alone, so a tick that sets no new best keeps the last stop:
    a few days of 5-second ticks cost one comparison each, not a full evaluation.
    """
    side = Side(position.side)
    state = OpenPosition(side, position.entry_price, position.opened_at, position.entry_price)
    stop = evaluate(state, rules, position.entry_price, position.opened_at).stop_price
    points: list[ChartPoint] = []
    for i, (at, price) in enumerate(ticks):
        improves = price > state.best_price if side == Side.LONG else price < state.best_price
        if improves:
            result = evaluate(state, rules, price, at)
            state = OpenPosition(side, state.entry_price, state.opened_at, result.best_price)
            stop = result.stop_price
        if keep is None or i in keep:
            points.append(ChartPoint(at=at, price=price, stop=stop, best=state.best_price))
    return points


def downsample(prices: Sequence[Decimal], max_points: int) -> list[int]:
    """Indices to draw: all of them when few, else the first, the last, and each bucket's low and high.

    Min-max decimation keeps every spike a trader would look for (and every new high the stop followed);
    an average would hide them.
    """
    n = len(prices)
    if n <= max_points:
        return list(range(n))
    buckets = (max_points - 2) // 2
    width = (n - 2) / buckets
    keep = {0, n - 1}
    for b in range(buckets):
        lo, hi = 1 + int(b * width), 1 + int((b + 1) * width)
        if lo >= hi:
            continue
        segment = range(lo, hi)
        keep.add(min(segment, key=prices.__getitem__))
        keep.add(max(segment, key=prices.__getitem__))
    return sorted(keep)
