"""Equity over time, per deployment and for the whole account: capital, plus what closed, plus what is open.

A curve steps at each deployment's start (its capital) and at each close (its net PnL: the position's
breakdown after the venue's fees, Maxxit's trade fee and any profit share), and ends at `now` with the open
positions' unrealised PnL at their market's last tick. Deployments on a live venue (Hyperliquid, a Safe)
trade the trader's own account, whose balance holds more than this deployment ever put at risk and costs a
venue request to read: their capital counts as 0 and their curve is PnL since deployment (`capital_known`
is False), which the account curve then adds as such.

A deployment's capital is a cash flow, never growth: every point also carries the PnL so far, the account
chart draws that (net PnL), and each curve's `twr` is its time-weighted return, flows taken out, so a new
$10k paper deployment reads as +$0 and +0%, not +100%. The agents' reference books are the platform's and
never appear here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.deployments.figures import breakdowns
from backend.models import Agent, AgentDeployment, MarketTick, Position
from backend.models.enums import PositionStatus, Side
from backend.monitor.charts import downsample
from backend.trading.book import unrealized_pnl
from backend.trading.returns import DayEquity, time_weighted_returns
from backend.trading.returns import twr as compound
from backend.venues.capabilities import capabilities_of

ZERO = Decimal(0)
PointKind = Literal["start", "close", "now"]


@dataclass(frozen=True)
class EquityPoint:
    at: datetime
    equity: Decimal
    kind: PointKind
    pnl: Decimal = ZERO  # realised so far (and, at "now", the open positions' too): equity less the flows


@dataclass(frozen=True)
class EquityCurve:
    deployment_id: int | None  # None for the whole account
    label: str
    venue: str | None
    capital: Decimal
    capital_known: bool  # False: the trader's own venue account's, so the curve is PnL since deployment
    realized_pnl: Decimal  # the closes' net PnL, after every fee
    unrealized_pnl: Decimal
    open_positions: int
    points: tuple[EquityPoint, ...]
    twr: Decimal | None = None  # time-weighted return as a fraction; None with no known capital

    @property
    def equity(self) -> Decimal:
        return self.capital + self.realized_pnl + self.unrealized_pnl


@dataclass(frozen=True)
class EquityCurves:
    account: EquityCurve
    deployments: tuple[EquityCurve, ...]  # newest deployment first


@dataclass(frozen=True)
class _Event:
    at: datetime
    amount: Decimal
    kind: PointKind


def equity_curves(
    session: Session, user: CurrentUser, *, now: datetime, max_points: int = 500
) -> EquityCurves:
    """Every deployment's curve and the account's (their sum at every step), for the user's dashboard."""
    deployments = session.exec(
        select(AgentDeployment, Agent.name)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .where(AgentDeployment.user_id == user.id, col(AgentDeployment.is_reference).is_(False))
        .order_by(col(AgentDeployment.created_at).desc(), col(AgentDeployment.id).desc())
    ).all()
    ids = [d.id for d, _ in deployments]
    closes = _closes(session, ids, now)
    unrealized, open_count = _unrealized(session, ids, now)
    curves, account_events = [], []
    for deployment, name in deployments:
        capital = own_capital(deployment)
        events = [_Event(deployment.created_at, capital, "start"), *closes.get(deployment.id, [])]
        account_events += events
        curves.append(
            _curve(
                deployment.id,
                f"#{deployment.id} · {name}",
                deployment.venue,
                events,
                unrealized.get(deployment.id, ZERO),
                open_count.get(deployment.id, 0),
                capital_known=capital_known(deployment),
                now=now,
                max_points=max_points,
            )
        )
    account = _curve(
        None,
        "Account",
        None,
        account_events,
        sum(unrealized.values(), ZERO),
        sum(open_count.values()),
        capital_known=all(c.capital_known for c in curves),
        now=now,
        max_points=max_points,
    )
    return EquityCurves(account=account, deployments=tuple(curves))


def capital_known(deployment: AgentDeployment) -> bool:
    """Whether the platform keeps the deployment's book (paper), so its capital is ours to know."""
    declared = capabilities_of(deployment.venue)
    return declared is not None and declared.books_per_deployment


def own_capital(deployment: AgentDeployment) -> Decimal:
    """The deployment's capital where its book is ours; 0 on the trader's own venue account (see above)."""
    return deployment.capital_usd if capital_known(deployment) else ZERO


def _curve(
    deployment_id: int | None,
    label: str,
    venue: str | None,
    events: Iterable[_Event],
    unrealized: Decimal,
    open_positions: int,
    *,
    capital_known: bool,
    now: datetime,
    max_points: int,
) -> EquityCurve:
    """Cumulative equity at each event in time order, then `now` with the open positions marked."""
    ordered = sorted(events, key=lambda e: (e.at, e.kind != "start"))
    equity = capital = realized = ZERO
    points: list[EquityPoint] = []
    steps: list[DayEquity] = []  # one per event: what the time-weighted return is computed over
    for event in ordered:
        equity += event.amount
        flow = ZERO
        if event.kind == "start":
            capital += event.amount
            flow = event.amount
        else:
            realized += event.amount
        points.append(EquityPoint(event.at, equity, event.kind, realized))
        steps.append(DayEquity(event.at.date(), equity, flow))
    if points:
        points.append(EquityPoint(max(now, points[-1].at), equity + unrealized, "now", realized + unrealized))
        steps.append(DayEquity(now.date(), equity + unrealized))
    twr = compound(time_weighted_returns(steps)) if capital > 0 else None
    kept = downsample([p.equity for p in points], max_points)
    return EquityCurve(
        deployment_id=deployment_id,
        label=label,
        venue=venue,
        capital=capital,
        capital_known=capital_known,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        open_positions=open_positions,
        points=tuple(points[i] for i in kept),
        twr=twr,
    )


def _closes(session: Session, ids: list[int], now: datetime) -> dict[int, list[_Event]]:
    """Each closed position's net PnL (its breakdown's: after every fee) by its close time, per deployment."""
    if not ids:
        return {}
    rows = session.exec(
        select(Position)
        .where(
            col(Position.deployment_id).in_(ids),
            Position.status == PositionStatus.CLOSED,
            col(Position.realized_pnl).is_not(None),
            col(Position.closed_at).is_not(None),
            col(Position.closed_at) <= now,
        )
        .order_by(col(Position.closed_at), col(Position.id))
    ).all()
    parts = breakdowns(session, rows)
    closes: dict[int, list[_Event]] = defaultdict(list)
    for position in rows:
        closes[position.deployment_id].append(_Event(position.closed_at, parts[position.id].net_pnl, "close"))
    return closes


def _unrealized(session: Session, ids: list[int], now: datetime) -> tuple[dict[int, Decimal], dict[int, int]]:
    """Per deployment: the open (and closing) positions' PnL at their market's last tick, and how many.

    A position whose market has no tick yet counts as flat: nothing better is known without asking a venue.
    """
    if not ids:
        return {}, {}
    positions = session.exec(
        select(Position).where(col(Position.deployment_id).in_(ids), Position.status != PositionStatus.CLOSED)
    ).all()
    mids = last_ticks(session, {(p.venue, p.market) for p in positions}, now)
    pnl: dict[int, Decimal] = defaultdict(lambda: ZERO)
    count: dict[int, int] = defaultdict(int)
    for p in positions:
        count[p.deployment_id] += 1
        price = mids.get((p.venue, p.market))
        if price is not None:
            pnl[p.deployment_id] += unrealized_pnl(Side(p.side), p.entry_price, price, p.size)
    return dict(pnl), dict(count)


def last_ticks(
    session: Session, markets: set[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], Decimal]:
    """The latest mid at or before `now` of each (venue, market): one grouped query for all of them."""
    if not markets:
        return {}
    pairs = sa.tuple_(MarketTick.venue, MarketTick.market).in_(sorted(markets))
    latest = (
        select(MarketTick.venue, MarketTick.market, func.max(MarketTick.at).label("at"))
        .where(pairs, col(MarketTick.at) <= now)
        .group_by(MarketTick.venue, MarketTick.market)
        .subquery()
    )
    rows = session.exec(
        select(MarketTick.venue, MarketTick.market, MarketTick.price).join(
            latest,
            sa.and_(
                MarketTick.venue == latest.c.venue,
                MarketTick.market == latest.c.market,
                MarketTick.at == latest.c.at,
            ),
        )
    ).all()
    return {(venue, market): Decimal(price) for venue, market, price in rows}


def deployment_curve(
    session: Session, deployment: AgentDeployment, label: str, *, now: datetime, max_points: int = 500
) -> EquityCurve:
    """One deployment's curve, whoever owns it: the agent page draws its reference book's with it."""
    closes = _closes(session, [deployment.id], now)
    unrealized, open_count = _unrealized(session, [deployment.id], now)
    capital = own_capital(deployment)
    return _curve(
        deployment.id,
        label,
        deployment.venue,
        [_Event(deployment.created_at, capital, "start"), *closes.get(deployment.id, [])],
        unrealized.get(deployment.id, ZERO),
        open_count.get(deployment.id, 0),
        capital_known=capital_known(deployment),
        now=now,
        max_points=max_points,
    )
