"""Read side of agents: marketplace listing, agent detail, leaderboard and platform figures."""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.agents.schemas import (
    AgentDetail,
    AgentPage,
    AgentQuery,
    AgentSort,
    AgentSummary,
    CtAccountOut,
    PlatformStats,
    PositionOut,
    RiskSettings,
    SignalOut,
    VersionOut,
)
from backend.agents.versions import Strategy, list_versions
from backend.auth.identity import CurrentUser
from backend.deployments.figures import breakdowns
from backend.deployments.schemas import PositionFigures
from backend.execution.reasons import public_reason
from backend.metrics.service import follower_results
from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    CtAccount,
    CtPost,
    Position,
    Signal,
    User,
)
from backend.models.enums import AgentStatus, DeploymentStatus, PositionStatus, Visibility
from backend.signals.outcomes import outcome_sentence, position_counts, skip_counts
from backend.trading.money import cents

logger = logging.getLogger(__name__)

RECENT_ROWS = 20


class AgentNotFound(LookupError):
    """No listed agent has that id (unknown, private or archived)."""


def _listed() -> list[sa.ColumnElement[bool]]:
    return [Agent.visibility == Visibility.PUBLIC, Agent.status != AgentStatus.ARCHIVED]


def _order_by(sort: AgentSort) -> list[sa.ColumnElement]:
    # NULL figures (no trades yet) sort last whatever the direction; id breaks ties so pages are stable.
    figure = {
        AgentSort.APR_30D: Agent.apr_30d,
        AgentSort.APR_90D: Agent.apr_90d,
        AgentSort.SHARPE: Agent.sharpe_30d,
        AgentSort.WIN_RATE: Agent.win_rate,
        AgentSort.TRADES: Agent.trades_count,
        AgentSort.PNL: Agent.total_pnl,
    }.get(sort)
    if figure is not None:
        return [col(figure).is_(None), col(figure).desc(), col(Agent.id)]
    if sort is AgentSort.NEWEST:
        return [col(Agent.created_at).desc(), col(Agent.id).desc()]
    return [func.lower(Agent.name), col(Agent.id)]


def list_agents(session: Session, query: AgentQuery) -> AgentPage:
    """Public agents filtered, searched (name, description, creator, followed handle), sorted and paged."""
    conditions = _listed()
    if query.venue is not None:
        conditions.append(Agent.venue == query.venue)
    if query.q:
        pattern = f"%{_escape_like(query.q.lower())}%"
        follows_match = (
            select(AgentAccount.agent_id)
            .join(CtAccount, CtAccount.id == AgentAccount.ct_account_id)
            .where(func.lower(CtAccount.handle).like(pattern, escape="\\"))
        )
        conditions.append(
            sa.or_(
                func.lower(Agent.name).like(pattern, escape="\\"),
                func.lower(Agent.description).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
                func.lower(User.address).like(pattern, escape="\\"),
                col(Agent.id).in_(follows_match),
            )
        )
    base = select(Agent, User).join(User, User.id == Agent.creator_id).where(*conditions)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(base.order_by(*_order_by(query.sort)).offset(query.offset).limit(query.limit)).all()
    handles = _handles_by_agent(session, [agent.id for agent, _ in rows])
    items = [_summary(agent, creator, handles.get(agent.id, [])) for agent, creator in rows]
    return AgentPage(items=items, total=total, limit=query.limit, offset=query.offset)


def can_view(agent: Agent, viewer: CurrentUser | None) -> bool:
    """Listed agents (public, not archived) are open to all; the rest only to their creator and admins."""
    if agent.visibility == Visibility.PUBLIC and agent.status != AgentStatus.ARCHIVED:
        return True
    return _owned_by(agent, viewer)


def can_edit(agent: Agent, viewer: CurrentUser | None) -> bool:
    """The builder's own rule: its creator or an admin may edit an agent that is not archived."""
    return _owned_by(agent, viewer) and agent.status != AgentStatus.ARCHIVED


def _owned_by(agent: Agent, viewer: CurrentUser | None) -> bool:
    return viewer is not None and (viewer.is_admin or viewer.id == agent.creator_id)


def get_agent(session: Session, agent_id: int, viewer: CurrentUser | None = None) -> AgentDetail:
    """An agent in detail; private and archived ones only for their creator and admins (else not found)."""
    row = session.exec(
        select(Agent, User).join(User, User.id == Agent.creator_id).where(Agent.id == agent_id)
    ).first()
    if row is None or not can_view(row[0], viewer):
        raise AgentNotFound(f"agent {agent_id} not found")
    agent, creator = row
    accounts = session.exec(
        select(CtAccount)
        .join(AgentAccount, AgentAccount.ct_account_id == CtAccount.id)
        .where(AgentAccount.agent_id == agent_id)
        .order_by(func.lower(CtAccount.handle))
    ).all()
    active_deployments = session.exec(
        select(func.count())
        .select_from(AgentDeployment)
        .where(
            AgentDeployment.agent_id == agent_id,
            AgentDeployment.status == DeploymentStatus.ACTIVE,
            col(AgentDeployment.is_reference).is_(False),
        )
    ).one()
    followers = follower_results(session, agent_id)
    summary = _summary(agent, creator, [a.handle for a in accounts])
    return AgentDetail(
        **summary.model_dump(),
        weights=agent.weights(),
        risk=risk_settings(agent),
        visibility=agent.visibility,
        status=agent.status,
        apr_si=agent.apr_si,
        volume_usd=agent.volume_usd,
        active_deployments=active_deployments,
        follower_deployments=followers.deployments,
        follower_realized_pnl=followers.realized_pnl,
        accounts=[CtAccountOut.model_validate(a, from_attributes=True) for a in accounts],
        recent_signals=_recent_signals(session, agent_id),
        my_positions=_own_positions(session, agent_id, viewer),
        metrics_updated_at=agent.metrics_updated_at,
        versions=_versions(session, agent_id),
        editable=can_edit(agent, viewer),
    )


def _versions(session: Session, agent_id: int) -> list[VersionOut]:
    out = []
    for version in list_versions(session, agent_id):
        strategy = Strategy.from_json(version.strategy)
        out.append(
            VersionOut(
                number=version.number,
                note=version.note,
                created_at=version.created_at,
                signal_threshold=strategy.signal_threshold,
                sizing_profile=strategy.sizing_profile.value,
                leverage=strategy.leverage,
                stoploss=strategy.stoploss,
                take_profit=strategy.take_profit,
                ct_accounts=len(strategy.ct_account_ids),
            )
        )
    return out


def risk_settings(agent: Agent) -> RiskSettings:
    """The agent's risk columns as one value; shared by the public detail and the owner's edit form."""
    return RiskSettings(
        stoploss=agent.stoploss,
        take_profit=agent.take_profit,
        trailing_stop_positive_offset=agent.trailing_stop_positive_offset,
        trailing_stop_positive=agent.trailing_stop_positive,
        sizing_profile=agent.sizing_profile,
        signal_threshold=agent.signal_threshold,
        leverage=agent.leverage,
    )


def leaderboard(session: Session, limit: int = 10, sort: AgentSort = AgentSort.APR_30D) -> list[AgentSummary]:
    """Best public agents that have traded, by the chosen figure."""
    if not 1 <= limit <= 100:
        raise ValueError("limit must be between 1 and 100")
    rows = session.exec(
        select(Agent, User)
        .join(User, User.id == Agent.creator_id)
        .where(*_listed(), Agent.trades_count > 0)
        .order_by(*_order_by(sort))
        .limit(limit)
    ).all()
    handles = _handles_by_agent(session, [agent.id for agent, _ in rows])
    return [_summary(agent, creator, handles.get(agent.id, [])) for agent, creator in rows]


def platform_stats(session: Session) -> PlatformStats:
    agents = session.exec(select(func.count()).select_from(Agent).where(*_listed())).one()
    deployments = session.exec(
        select(func.count())
        .select_from(AgentDeployment)
        .where(
            AgentDeployment.status == DeploymentStatus.ACTIVE, col(AgentDeployment.is_reference).is_(False)
        )
    ).one()
    trades, volume, pnl = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(Position.size * Position.entry_price), 0),
            func.coalesce(func.sum(Position.realized_pnl), 0),
        ).where(Position.status == PositionStatus.CLOSED)
    ).one()
    ct_accounts = session.exec(select(func.count()).select_from(CtAccount).where(CtAccount.is_active)).one()
    return PlatformStats(
        agents=agents,
        active_deployments=deployments,
        trades=trades,
        volume_usd=_money(volume),
        realized_pnl=_money(pnl),
        ct_accounts=ct_accounts,
    )


def _summary(agent: Agent, creator: User, handles: list[str]) -> AgentSummary:
    return AgentSummary(
        id=agent.id,
        name=agent.name,
        description=agent.description,
        venue=agent.venue,
        creator_address=creator.address,
        creator_name=creator.display_name,
        ct_accounts=handles,
        trades_count=agent.trades_count,
        win_rate=agent.win_rate,
        apr_30d=agent.apr_30d,
        apr_90d=agent.apr_90d,
        sharpe_30d=agent.sharpe_30d,
        sortino_30d=agent.sortino_30d,
        max_drawdown=agent.max_drawdown,
        profit_factor=agent.profit_factor,
        total_pnl=agent.total_pnl,
        leverage=agent.leverage,
        version=agent.version,
        created_at=agent.created_at,
    )


def _handles_by_agent(session: Session, agent_ids: list[int]) -> dict[int, list[str]]:
    if not agent_ids:
        return {}
    rows = session.exec(
        select(AgentAccount.agent_id, CtAccount.handle)
        .join(CtAccount, CtAccount.id == AgentAccount.ct_account_id)
        .where(col(AgentAccount.agent_id).in_(agent_ids))
        .order_by(func.lower(CtAccount.handle))
    ).all()
    handles: dict[int, list[str]] = defaultdict(list)
    for agent_id, handle in rows:
        handles[agent_id].append(handle)
    return handles


def _recent_signals(session: Session, agent_id: int) -> list[SignalOut]:
    rows = session.exec(
        select(Signal, CtPost, CtAccount)
        .outerjoin(CtPost, CtPost.id == Signal.post_id)
        .outerjoin(CtAccount, CtAccount.id == CtPost.ct_account_id)
        .where(Signal.agent_id == agent_id)
        .order_by(col(Signal.created_at).desc(), col(Signal.id).desc())
        .limit(RECENT_ROWS)
    ).all()
    ids = [signal.id for signal, _, _ in rows]
    counts, skips = position_counts(session, ids), skip_counts(session, ids)
    items = []
    for signal, post, account in rows:
        reason, positions, skipped = (
            public_reason(signal.skip_reason),
            counts.get(signal.id, 0),
            skips.get(signal.id, {}),
        )
        items.append(
            SignalOut(
                id=signal.id,
                token=signal.token,
                side=signal.side,
                score=signal.score,
                status=signal.status,
                skip_reason=reason,
                positions_opened=positions,
                skipped=skipped,
                outcome=outcome_sentence(signal.status, reason, positions, skipped),
                post_text=post.text if post else None,
                post_handle=account.handle if account else None,
                created_at=signal.created_at,
            )
        )
    return items


def _own_positions(session: Session, agent_id: int, viewer: CurrentUser | None) -> list[PositionOut]:
    """The viewer's recent positions on this agent; none for a visitor, and only their own for anyone."""
    if viewer is None:
        return []
    rows = session.exec(
        select(Position)
        .join(AgentDeployment, AgentDeployment.id == Position.deployment_id)
        .where(
            AgentDeployment.agent_id == agent_id,
            AgentDeployment.user_id == viewer.id,
            col(AgentDeployment.is_reference).is_(False),
        )
        .order_by(col(Position.opened_at).desc(), col(Position.id).desc())
        .limit(RECENT_ROWS)
    ).all()
    parts = breakdowns(session, rows)
    return [
        PositionOut.model_validate(
            {**p.model_dump(), "figures": PositionFigures.of(parts[p.id])}, from_attributes=True
        )
        for p in rows
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _money(value: object) -> Decimal:
    return cents(Decimal(str(value)))
