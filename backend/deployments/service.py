"""Deploy an agent, approve its Hyperliquid agent wallet, pause, resume and cancel: the owner's writes.

Paper deployments trade at once on a virtual balance. Hyperliquid deployments trade through an agent wallet
the user approved with their own wallet: the deploy wizard approves a wallet first and deploys with it
(ACTIVE at once); the REST flow deploys first and waits in PENDING_APPROVAL for the signature.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.agents.service import AgentNotFound, can_view
from backend.agents.versions import ensure_version
from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.billing.subscriptions import cancel_for_deployment, start_subscription
from backend.config import Settings
from backend.db import transaction
from backend.deployments.activation import activate_pending
from backend.deployments.errors import (
    DeploymentConflict,
    DeploymentLimitReached,
    DeploymentNotFound,
    DeploymentRateLimited,
    InputRejected,
)
from backend.deployments.schemas import ApprovalSignature, DeploymentRequest
from backend.models import Agent, AgentDeployment, AgentVersion, AgentWallet, Position, User
from backend.models.common import utcnow
from backend.models.enums import AgentStatus, DeploymentStatus, ExecutionVenue, Venue
from backend.monitor.close import PositionNotFound, request_close
from backend.notify import accounts
from backend.spot import safe_setup
from backend.spot.safe_setup import SpotChain
from backend.venues.capabilities import DECLARED, SignerKind, keeps_own_books, signers
from backend.venues.paper import open_paper_account
from backend.venues.router import mixes_paper_and_live
from backend.wallets import service as wallets
from backend.wallets.keys import WalletCipher

logger = logging.getLogger(__name__)

# New deployments per trader are counted over this window (DEPLOYMENT_CREATIONS_PER_MINUTE).
CREATION_WINDOW = timedelta(minutes=1)
DEPLOYMENT_CREATED = "deployment.created"
STATUS_ACTIONS = {
    "pause": "deployment.paused",
    "resume": "deployment.resumed",
    "cancel": "deployment.cancelled",
}


def allowed_venues(agent_venue: str) -> set[ExecutionVenue]:
    """Which execution venues an agent built for `agent_venue` may deploy to: paper always; the live venue
    of its own name when one has an adapter (declared capabilities, real funds); every live venue for MULTI,
    which routes among live venues only or is paper only: paper is never a live venue's fallback."""
    live = {venue for venue, declared in DECLARED.items() if declared.real_funds}
    if Venue(agent_venue) == Venue.MULTI:
        return {ExecutionVenue.PAPER, *live}
    own = ExecutionVenue.__members__.get(str(agent_venue))
    return {ExecutionVenue.PAPER, *({own} & live)}


def create_deployment(
    session: Session,
    user: CurrentUser,
    request: DeploymentRequest,
    *,
    settings: Settings,
    cipher: WalletCipher,
    ip: str | None = None,
    spot: SpotChain | None = None,
) -> AgentDeployment:
    """A new deployment; `spot` is the spot chain to check a Safe on (default: the configured one)."""
    agent = _deployable_agent(session, user, request)
    venues = request.venue_preferences or [request.venue]
    safe, keys = None, signers(venues)
    if SignerKind.SAFE_EXECUTOR in keys:
        spot = spot if spot is not None else safe_setup.spot_chain(settings)
        if spot is None:
            raise InputRejected("venue", safe_setup.NOT_CONFIGURED)
        # Asked before the transaction: the chain is a network call, the rows below are written at once.
        safe = safe_setup.check_safe(spot, request.safe_address or "", user)
    now = utcnow()
    with transaction(session):
        _enforce_limits(session, user, agent, settings, now)
        wallet = None
        if SignerKind.AGENT_WALLET in keys:
            wallet = _hyperliquid_wallet(session, user, request, cipher)
        # A Safe starts trading once the chain shows its module enabled: it always waits at first.
        approved = (wallet is None or wallet.approved_at is not None) and safe is None
        balance = request.starting_balance_usd or settings.paper_default_balance_usd
        risk = request.risk
        deployment = AgentDeployment(
            agent_id=agent.id,
            user_id=user.id,
            # The version the user saw and accepted; a newer one waits for their accept.
            agent_version_id=ensure_version(session, agent).id,
            venue=request.venue,
            venue_preferences=[v.value for v in request.venue_preferences]
            if request.venue_preferences
            else None,
            status=DeploymentStatus.ACTIVE if approved else DeploymentStatus.PENDING_APPROVAL,
            user_wallet=wallet.master_address if wallet else safe.address if safe else None,
            capital_usd=balance if keeps_own_books(venues) else 0,
            sizing_profile=risk.sizing_profile,
            max_trade_usd=risk.max_trade_usd,
            leverage_cap=risk.leverage_cap,
            stoploss=risk.stoploss,
            take_profit=risk.take_profit,
            trailing_stop_positive_offset=risk.trailing_stop_positive_offset,
            trailing_stop_positive=risk.trailing_stop_positive,
            trial_ends_at=now + timedelta(days=settings.trial_days),
            created_at=now,
            updated_at=now,
        )
        session.add(deployment)
        session.flush()
        if keeps_own_books(venues):
            open_paper_account(session, deployment.id, balance)
        if wallet is not None:
            wallet.deployment_id = deployment.id
        if safe is not None and spot is not None:
            safe_setup.create_executor(session, user, deployment, safe, spot, cipher)
        if deployment.status == DeploymentStatus.ACTIVE:
            start_subscription(session, deployment, now=now, trial_days=settings.trial_days)
        details = {"agent_id": agent.id, "venues": [v.value for v in venues], "status": deployment.status}
        audit.record_by(session, user, DEPLOYMENT_CREATED, "deployment", deployment.id, details, ip)
    logger.info("user %s deployed agent %s as deployment %s", user.id, agent.id, deployment.id)
    return deployment


def _enforce_limits(
    session: Session, user: CurrentUser, agent: Agent, settings: Settings, now: datetime
) -> None:
    """The caps on live deployments (per trader, per agent) and on new ones a minute, counted race-free.

    A no-op write to the user's and the agent's rows first: on PostgreSQL it locks both rows until commit,
    so two creations for the same trader or agent count one after the other; on SQLite it takes the
    database's write lock before the counts, with the same effect.
    """
    session.execute(sa.update(User).where(User.id == user.id).values(role=User.role))
    session.execute(sa.update(Agent).where(Agent.id == agent.id).values(status=Agent.status))
    recent = session.exec(
        select(AgentDeployment.created_at)
        .where(
            AgentDeployment.user_id == user.id,
            AgentDeployment.created_at > now - CREATION_WINDOW,
            col(AgentDeployment.is_reference).is_(False),
        )
        .order_by(AgentDeployment.created_at)
    ).all()
    if len(recent) >= settings.deployment_creations_per_minute:
        oldest = _aware(recent[-settings.deployment_creations_per_minute])
        retry_after = max(1, math.ceil((oldest + CREATION_WINDOW - now).total_seconds()))
        raise DeploymentRateLimited(
            f"you created {len(recent)} deployments in the last minute, and "
            f"{settings.deployment_creations_per_minute} a minute is the most allowed; "
            f"try again in {retry_after} s",
            retry_after,
        )
    # The platform's reference books count against nobody's limits.
    live = sa.and_(
        AgentDeployment.status != DeploymentStatus.CANCELLED, col(AgentDeployment.is_reference).is_(False)
    )
    mine = _count(session, AgentDeployment.user_id == user.id, live)
    if mine >= settings.max_active_deployments_per_user:
        raise DeploymentLimitReached(
            f"you already have {mine} live deployments, the most allowed "
            f"({settings.max_active_deployments_per_user}); cancel one to deploy another"
        )
    theirs = _count(session, AgentDeployment.agent_id == agent.id, live)
    if theirs >= settings.max_active_deployments_per_agent:
        raise DeploymentLimitReached(
            f"agent {agent.id} already has {theirs} live deployments, the most one agent may have"
        )


def _count(session: Session, *where: sa.ColumnElement[bool]) -> int:
    return session.exec(select(sa.func.count()).select_from(AgentDeployment).where(*where)).one()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _deployable_agent(session: Session, user: CurrentUser, request: DeploymentRequest) -> Agent:
    agent = session.get(Agent, request.agent_id)
    if agent is None or not can_view(agent, user):
        raise AgentNotFound(f"agent {request.agent_id} not found")
    if agent.status != AgentStatus.ACTIVE:
        raise DeploymentConflict(f"agent {agent.id} is {agent.status}; only active agents can be deployed")
    allowed = allowed_venues(agent.venue)
    for venue in request.venue_preferences or [request.venue]:
        if venue not in allowed:
            names = ", ".join(sorted(v.value for v in allowed))
            raise InputRejected("venue", f"a {agent.venue} agent deploys to {names}, not {venue.value}")
    if request.venue_preferences and agent.venue != Venue.MULTI:
        raise InputRejected("venue_preferences", "only MULTI agents route between venues")
    if request.venue_preferences and mixes_paper_and_live(request.venue_preferences):
        raise InputRejected(
            "venue_preferences",
            "paper cannot back up a live venue: choose live venues only, or paper only",
        )
    return agent


def _hyperliquid_wallet(
    session: Session, user: CurrentUser, request: DeploymentRequest, cipher: WalletCipher
) -> AgentWallet:
    if request.agent_wallet_id is None:
        return wallets.agent_wallet_for(session, user, request.user_wallet or "", cipher)
    try:
        wallet = wallets.owned_wallet(session, user, request.agent_wallet_id)
    except LookupError:
        raise InputRejected(
            "agent_wallet_id", f"no agent wallet {request.agent_wallet_id} of yours"
        ) from None
    if wallet.deployment_id is not None:
        raise InputRejected("agent_wallet_id", "that agent wallet already serves another deployment")
    if wallet.master_address.lower() != (request.user_wallet or "").lower():
        raise InputRejected("agent_wallet_id", "that agent wallet was approved for another account")
    if wallet.approved_at is None:
        raise InputRejected("agent_wallet_id", "that agent wallet is not approved yet")
    return wallet


def owned_deployment(session: Session, user: CurrentUser, deployment_id: int) -> AgentDeployment:
    deployment = session.get(AgentDeployment, deployment_id)
    if deployment is None or deployment.user_id != user.id or deployment.is_reference:
        raise DeploymentNotFound(deployment_id)
    return deployment


def close_own_position(
    session: Session, user: CurrentUser, position_id: int, *, ip: str | None = None
) -> Position:
    """A trader's manual close (`request_close`); a reference book's position is nobody's to close by hand,
    its agent's creator included (who owns the book's row), so it is the same PositionNotFound."""
    query = (
        select(AgentDeployment.is_reference)
        .join(Position, col(Position.deployment_id) == col(AgentDeployment.id))
        .where(Position.id == position_id)
    )
    if session.exec(query).first():
        raise PositionNotFound(position_id)
    return request_close(session, user, position_id, ip=ip)


def deployment_wallet(session: Session, user: CurrentUser, deployment_id: int) -> AgentWallet:
    deployment = owned_deployment(session, user, deployment_id)
    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).first()
    if wallet is None:
        raise DeploymentConflict(f"deployment {deployment_id} has no agent wallet: it trades on paper only")
    return wallet


def submit_deployment_approval(
    session: Session, user: CurrentUser, deployment_id: int, body: ApprovalSignature, *, settings: Settings
) -> AgentDeployment:
    """Submit the approval of the deployment's agent wallet; a deployment waiting for it starts trading."""
    wallet = deployment_wallet(session, user, deployment_id)
    if owned_deployment(session, user, deployment_id).status == DeploymentStatus.CANCELLED:
        raise DeploymentConflict("this deployment is cancelled; its agent wallet is not approved any more")
    wallets.submit_approval(session, user, wallet.id, body, settings=settings)
    deployment = owned_deployment(session, user, deployment_id)
    if deployment.status == DeploymentStatus.PENDING_APPROVAL:
        with transaction(session):
            activate_pending(session, deployment, trial_days=settings.trial_days, user=user)
    return deployment


def change_status(
    session: Session,
    user: CurrentUser,
    deployment_id: int,
    action: str,
    *,
    ip: str | None = None,
    via: str = "web",
) -> AgentDeployment:
    """pause (ACTIVE → PAUSED), resume (PAUSED → ACTIVE) or cancel (anything live → CANCELLED).

    Cancelling stops new trades; positions already open stay under the monitor's exits. The owner is told
    (deployment.paused / .resumed / .cancelled, `by` = `via`: "web", "telegram") in the same commit.
    """
    if action not in STATUS_ACTIONS:
        raise InputRejected("action", f"unknown action {action!r}; use pause, resume or cancel")
    with transaction(session):
        deployment = owned_deployment(session, user, deployment_id)
        session.refresh(deployment, with_for_update=True)
        before = DeploymentStatus(deployment.status)
        after = _next_status(before, action)
        deployment.status = after
        deployment.updated_at = utcnow()
        if after == DeploymentStatus.CANCELLED:
            deployment.cancelled_at = deployment.updated_at
            cancel_for_deployment(session, deployment.id, now=deployment.updated_at)
        details = {"from": before.value, "to": after.value}
        audit.record_by(session, user, STATUS_ACTIONS[action], "deployment", deployment.id, details, ip)
        event = accounts.DEPLOYMENT_EVENTS[after]
        accounts.deployment_changed(session, deployment, event, by=via, at=deployment.updated_at)
    return deployment


def accept_latest_version(
    session: Session, user: CurrentUser, deployment_id: int, *, ip: str | None = None
) -> AgentDeployment:
    """Move a deployment onto its agent's newest version: from its next signal on it trades that one.

    Open positions keep running, under the new version's exits. 409 when there is nothing to accept.
    """
    with transaction(session):
        deployment = owned_deployment(session, user, deployment_id)
        session.refresh(deployment, with_for_update=True)
        if deployment.status == DeploymentStatus.CANCELLED:
            raise DeploymentConflict("this deployment is cancelled; deploy the agent again instead")
        agent = session.get(Agent, deployment.agent_id)
        newest = ensure_version(session, agent)
        if deployment.agent_version_id == newest.id:
            raise DeploymentConflict(f"this deployment already trades version {newest.number}, the newest")
        before = (
            session.get(AgentVersion, deployment.agent_version_id) if deployment.agent_version_id else None
        )
        deployment.agent_version_id = newest.id
        deployment.updated_at = utcnow()
        details = {"from_version": before.number if before else None, "to_version": newest.number}
        audit.record_by(
            session, user, Action.DEPLOYMENT_VERSION_ACCEPTED, "deployment", deployment.id, details, ip
        )
    logger.info("deployment %s accepted version %s of agent %s", deployment_id, newest.number, agent.id)
    return deployment


def _next_status(current: DeploymentStatus, action: str) -> DeploymentStatus:
    if current == DeploymentStatus.CANCELLED:
        raise DeploymentConflict("this deployment is cancelled; deploy the agent again instead")
    if action == "cancel":
        return DeploymentStatus.CANCELLED
    if current == DeploymentStatus.PENDING_APPROVAL:
        raise DeploymentConflict("approve the agent wallet first; the deployment starts once approved")
    if action == "pause":
        if current != DeploymentStatus.ACTIVE:
            raise DeploymentConflict("only an active deployment can be paused")
        return DeploymentStatus.PAUSED
    if current != DeploymentStatus.PAUSED:
        raise DeploymentConflict("only a paused deployment can be resumed")
    return DeploymentStatus.ACTIVE
