"""What an owner reads about their deployments and positions: status, balance, positions, PnL, fees."""

from __future__ import annotations

import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.agents.versions import exit_settings, strategies
from backend.auth.identity import CurrentUser
from backend.deployments.errors import DeploymentNotFound
from backend.deployments.figures import breakdowns, deployment_totals, market_rules
from backend.deployments.schemas import DeploymentView, PositionFigures, PositionView, RiskSettings
from backend.models import Agent, AgentDeployment, AgentVersion, AgentWallet, CtPost, Position, Signal
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, PositionStatus, Side
from backend.monitor.equity import EquityCurve, deployment_curve, equity_curves, last_ticks
from backend.trading.book import Breakdown, total
from backend.trading.exits import OpenPosition, pnl_ratio, rules_for, stop_price, take_profit_price
from backend.trading.figures import fraction
from backend.trading.margin import initial_margin, liquidation_price, notional
from backend.trading.market import MarketRules
from backend.trading.money import money
from backend.venues.base import Balance, VenueAccount, VenueError
from backend.venues.capabilities import capabilities_of
from backend.venues.registry import VenueRegistry

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 140
BALANCE_READERS = 8


def list_deployments(
    session: Session, user: CurrentUser, *, venues: VenueRegistry, now: datetime | None = None
) -> list[DeploymentView]:
    """The user's deployments, newest first, with live balances (None where a venue cannot answer) and
    their equity and time-weighted return as the dashboard's curves have them at `now`."""
    rows = session.exec(
        select(AgentDeployment, Agent, AgentWallet)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .outerjoin(AgentWallet, AgentWallet.deployment_id == AgentDeployment.id)
        .where(AgentDeployment.user_id == user.id, col(AgentDeployment.is_reference).is_(False))
        .order_by(col(AgentDeployment.created_at).desc(), col(AgentDeployment.id).desc())
    ).all()
    ids = [d.id for d, _, _ in rows]
    figures = _position_figures(session, ids)
    totals = deployment_totals(session, ids)
    numbers = _version_numbers(session, [d for d, _, _ in rows])
    # Venues are asked in parallel: a page of Hyperliquid deployments costs one round trip, not one each.
    with ThreadPoolExecutor(max_workers=BALANCE_READERS) as pool:
        balances = list(pool.map(lambda d: _balance(d, venues), [d for d, _, _ in rows]))
    curves = {c.deployment_id: c for c in equity_curves(session, user, now=now or utcnow()).deployments}
    return [
        _view(d, a, w, figures.get(d.id), totals.get(d.id), balance, numbers.get(d.id), curves.get(d.id))
        for (d, a, w), balance in zip(rows, balances, strict=True)
    ]


def get_deployment(
    session: Session, user: CurrentUser, deployment_id: int, *, venues: VenueRegistry
) -> DeploymentView:
    row = session.exec(
        select(AgentDeployment, Agent, AgentWallet)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .outerjoin(AgentWallet, AgentWallet.deployment_id == AgentDeployment.id)
        .where(
            AgentDeployment.id == deployment_id,
            AgentDeployment.user_id == user.id,
            col(AgentDeployment.is_reference).is_(False),
        )
    ).first()
    if row is None:
        raise DeploymentNotFound(deployment_id)
    deployment, agent, wallet = row
    figures = _position_figures(session, [deployment.id]).get(deployment.id)
    totals = deployment_totals(session, [deployment.id]).get(deployment.id)
    number = _version_numbers(session, [deployment]).get(deployment.id)
    curve = deployment_curve(session, deployment, agent.name, now=utcnow())
    return _view(deployment, agent, wallet, figures, totals, _balance(deployment, venues), number, curve)


def list_positions(
    session: Session,
    user: CurrentUser,
    *,
    deployment_id: int | None = None,
    status: PositionStatus | Collection[PositionStatus] | None = None,
    limit: int = 200,
) -> list[PositionView]:
    """The user's positions (in one status or several), newest first, each with the signal that caused it,
    its breakdown, and, while open, its mark and the lines it closes at."""
    query = (
        select(Position, AgentDeployment, Agent, Signal.score, CtPost.text)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .join(Agent, Agent.id == AgentDeployment.agent_id)
        .outerjoin(Signal, Signal.id == Position.signal_id)
        .outerjoin(CtPost, CtPost.id == Signal.post_id)
        .where(AgentDeployment.user_id == user.id, col(AgentDeployment.is_reference).is_(False))
    )
    if deployment_id is not None:
        query = query.where(Position.deployment_id == deployment_id)
    if isinstance(status, PositionStatus):
        query = query.where(Position.status == status)
    elif status is not None:
        query = query.where(col(Position.status).in_(list(status)))
    query = query.order_by(col(Position.opened_at).desc(), col(Position.id).desc()).limit(limit)
    rows = session.exec(query).all()
    lines = _lines(session, [(p, d, a) for p, d, a, _, _ in rows])
    marks = {pid: line.mark for pid, line in lines.items() if line.mark is not None}
    parts = breakdowns(session, [row[0] for row in rows], marks)
    return [
        PositionView(
            id=p.id,
            deployment_id=p.deployment_id,
            agent_id=agent.id,
            agent_name=agent.name,
            venue=p.venue,
            market=p.market,
            side=p.side,
            size=p.size,
            entry_price=p.entry_price,
            leverage=p.leverage,
            status=p.status,
            signal_id=p.signal_id,
            signal_score=score,
            post_excerpt=_excerpt(text),
            entry_fee=p.entry_fee,
            trade_fee=parts[p.id].platform_fee,
            exit_price=p.exit_price,
            realized_pnl=p.realized_pnl,
            close_reason=p.close_reason,
            client_order_id=p.client_order_id,
            opened_at=p.opened_at,
            closed_at=p.closed_at,
            close_error=p.close_error,
            close_attempts=p.close_attempts,
            next_close_attempt_at=p.next_close_attempt_at,
            figures=PositionFigures.of(parts[p.id]),
            exit_fee=p.exit_fee,
            mark_price=lines[p.id].mark,
            return_on_margin=lines[p.id].return_on_margin,
            stop_price=lines[p.id].stop,
            take_profit_price=lines[p.id].take_profit,
            liquidation_price=lines[p.id].liquidation,
            notional_usd=notional(p.size, lines[p.id].mark or p.exit_price or p.entry_price),
            margin_usd=initial_margin(p.size, p.entry_price, p.leverage or Decimal(1)),
            tick_size=lines[p.id].tick,
        )
        for p, _, agent, score, text in rows
    ]


@dataclass(frozen=True)
class _Lines:
    """Where an open position stands: its mark and the lines it closes at; only the tick once closed."""

    mark: Decimal | None = None  # the market's last tick (None once closed, or before the first tick)
    return_on_margin: Decimal | None = None  # at the mark, before fees
    stop: Decimal | None = None  # the hard stop, or the trailing stop from the monitor's best price
    take_profit: Decimal | None = None
    liquidation: Decimal | None = None  # isolated, at the market's maintenance margin
    tick: Decimal | None = None


def _lines(session: Session, rows: list[tuple[Position, AgentDeployment, Agent]]) -> dict[int, _Lines]:
    """Marks, stops, take-profits and liquidation prices of open (and closing) positions, in a few queries."""
    markets = market_rules(session, {(p.venue, p.market) for p, _, _ in rows})
    live = [(p, d, a) for p, d, a in rows if p.status != PositionStatus.CLOSED]
    mids = last_ticks(session, {(p.venue, p.market) for p, _, _ in live}, utcnow())
    pinned = strategies(session, (d.agent_version_id for _, d, _ in live))
    out = {p.id: _Lines(tick=_tick(markets.get((p.venue, p.market)))) for p, _, _ in rows}
    for position, deployment, agent in live:
        side, entry = Side(position.side), position.entry_price
        leverage = position.leverage or Decimal(1)
        rules = rules_for(exit_settings(pinned, deployment, agent), deployment, None)
        best = position.trailing_high or entry
        mark = mids.get((position.venue, position.market))
        market = markets.get((position.venue, position.market))
        out[position.id] = _Lines(
            mark=mark,
            return_on_margin=None if mark is None else pnl_ratio(side, entry, mark, leverage),
            stop=stop_price(OpenPosition(side, entry, position.opened_at, best), rules),
            take_profit=take_profit_price(side, entry, rules),
            liquidation=None
            if market is None
            else liquidation_price(side, entry, leverage, market.max_leverage),
            tick=_tick(market),
        )
    return out


def _tick(market: MarketRules | None) -> Decimal | None:
    return None if market is None else market.tick_size


def _excerpt(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _position_figures(session: Session, ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    """Per deployment: open positions, realised PnL (net of the venue's fees)."""
    if not ids:
        return {}
    is_open = sa.case((Position.status != PositionStatus.CLOSED, 1), else_=0)
    rows = session.exec(
        select(
            Position.deployment_id,
            func.sum(is_open),
            func.coalesce(func.sum(Position.realized_pnl), 0),
        )
        .where(col(Position.deployment_id).in_(ids))
        .group_by(Position.deployment_id)
    ).all()
    return {d: (int(n or 0), Decimal(pnl)) for d, n, pnl in rows}


def _version_numbers(session: Session, deployments: list[AgentDeployment]) -> dict[int, int]:
    """Deployment id -> the number of the version it trades (deployments made before versions have none)."""
    pinned = {d.id: d.agent_version_id for d in deployments if d.agent_version_id is not None}
    if not pinned:
        return {}
    numbers = dict(
        session.exec(
            select(AgentVersion.id, AgentVersion.number).where(col(AgentVersion.id).in_(set(pinned.values())))
        ).all()
    )
    return {d: numbers[v] for d, v in pinned.items() if v in numbers}


def _view(
    deployment: AgentDeployment,
    agent: Agent,
    wallet: AgentWallet | None,
    figures: tuple[int, Decimal] | None,
    totals: Breakdown | None,
    balance: Balance | None,
    version: int | None,
    curve: EquityCurve | None = None,
) -> DeploymentView:
    open_count, realized = figures or (0, Decimal(0))
    totals = totals or total([])
    # Paper: the curve's equity (capital + closes + open PnL); a trader's own account: the venue's balance.
    known = curve is not None and curve.capital_known
    return DeploymentView(
        id=deployment.id,
        agent_id=agent.id,
        agent_name=agent.name,
        venue=deployment.venue,
        venue_preferences=deployment.venue_preferences,
        status=deployment.status,
        user_wallet=deployment.user_wallet,
        agent_wallet_address=wallet.address if wallet else None,
        agent_wallet_approved=bool(wallet and wallet.approved_at),
        balance_usd=balance.equity if balance else None,
        available_usd=balance.available if balance else None,
        open_positions=open_count,
        realized_pnl=realized,
        fees_paid=totals.total_fees,
        figures=PositionFigures.of(totals),
        unrealized_pnl=None if curve is None else money(curve.unrealized_pnl),
        equity_usd=money(curve.equity) if known and curve else (balance.equity if balance else None),
        return_pct=fraction(curve.twr) if known and curve else None,
        version=version,
        latest_version=agent.version,
        new_version_available=version is not None and version < agent.version,
        risk=RiskSettings(
            sizing_profile=deployment.sizing_profile,
            max_trade_usd=deployment.max_trade_usd,
            leverage_cap=deployment.leverage_cap,
            stoploss=deployment.stoploss,
            take_profit=deployment.take_profit,
            trailing_stop_positive_offset=deployment.trailing_stop_positive_offset,
            trailing_stop_positive=deployment.trailing_stop_positive,
        ),
        created_at=deployment.created_at,
    )


def _balance(deployment: AgentDeployment, venues: VenueRegistry) -> Balance | None:
    declared = capabilities_of(deployment.venue)
    if declared is None:
        return None  # no adapter to ask
    if not declared.books_per_deployment and (
        not deployment.user_wallet or deployment.status == DeploymentStatus.PENDING_APPROVAL
    ):
        return None  # the user's own venue account, not approved yet: nothing to ask
    try:
        account = VenueAccount(deployment_id=deployment.id, address=deployment.user_wallet)
        return venues.get(deployment.venue).balance(account)
    except VenueError as error:
        logger.warning("balance of deployment %s unavailable: %s", deployment.id, error.reason)
        return None
