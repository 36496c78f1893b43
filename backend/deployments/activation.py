"""A deployment that waited for its user's approval starts trading: one place for every venue's approval."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.billing.subscriptions import start_subscription
from backend.models import AgentDeployment, AgentWallet, SafeExecutor
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus

DEPLOYMENT_ACTIVATED = audit.Action.DEPLOYMENT_ACTIVATED


def activate_pending(
    session: Session, deployment: AgentDeployment, *, trial_days: int, user: CurrentUser | None = None
) -> bool:
    """PENDING_APPROVAL -> ACTIVE in the caller's transaction, its trial starting now; False when it was not
    waiting. `user` is who approved (None: the platform saw the approval on chain by itself)."""
    if deployment.status != DeploymentStatus.PENDING_APPROVAL or _still_waiting(session, deployment.id):
        return False
    now = utcnow()
    deployment.status = DeploymentStatus.ACTIVE
    deployment.updated_at = now
    deployment.trial_ends_at = now + timedelta(days=trial_days)
    if user is not None:
        audit.record_by(session, user, DEPLOYMENT_ACTIVATED, "deployment", deployment.id, {}, None)
    else:
        audit.record(session, action=DEPLOYMENT_ACTIVATED, entity_type="deployment", entity_id=deployment.id)
    start_subscription(session, deployment, now=now, trial_days=trial_days)
    return True


def _still_waiting(session: Session, deployment_id: int) -> bool:
    """A deployment trading on several live venues starts once every one of them is approved."""
    wallet = select(AgentWallet.id).where(
        AgentWallet.deployment_id == deployment_id, col(AgentWallet.approved_at).is_(None)
    )
    safe = select(SafeExecutor.id).where(
        SafeExecutor.deployment_id == deployment_id, col(SafeExecutor.enabled_at).is_(None)
    )
    return session.exec(wallet).first() is not None or session.exec(safe).first() is not None
