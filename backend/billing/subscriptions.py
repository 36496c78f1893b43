"""Subscriptions: one per live deployment, a trial from activation, then monthly periods billed in advance.

trialing → active → past_due (an invoice holding a period is overdue) → suspended (after `GRACE_DAYS`: no
new entries, skipped with "subscription suspended"; exits and the monitor keep running) → canceled (when the
deployment is cancelled: at once while trialing, at the period's end after). Paying brings it back to active.
Every transition is audited (Action.SUBSCRIPTION_*). Paper deployments and reference books have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.models import AgentDeployment, Subscription
from backend.trading.fees import FeePolicy

SUSPENDED_REASON = "subscription suspended"


@dataclass(frozen=True)
class RenewReport:
    started: int  # trials that became paid periods
    renewed: int  # paid periods rolled over (one line each)
    past_due: int
    suspended: int
    reactivated: int
    canceled: int


def start_subscription(
    session: Session, deployment: AgentDeployment, *, now: datetime, trial_days: int
) -> Subscription | None:
    """The deployment's subscription, created once when a live deployment becomes active (its trial
    runs from then); None for paper and reference books. Idempotent: a second call returns the first."""
    raise NotImplementedError


def renew_subscriptions(
    session: Session, policy: FeePolicy, *, now: datetime, grace_days: int
) -> RenewReport:
    """The periodic pass (exactly once per period even with racing workers): trials ending start a paid
    period, periods ending roll over, each period gets one SUBSCRIPTION line (idempotency key
    `subscription:<id>:<period start>`); overdue invoices make subscriptions past_due, then suspended;
    cancel-at-period-end ones become canceled. Commits per subscription."""
    raise NotImplementedError


def cancel_subscription(
    session: Session, user: CurrentUser, subscription_id: int, *, now: datetime, ip: str | None = None
) -> Subscription:
    """The owner cancels: canceled now while trialing, else at the end of the paid period. 404 for others,
    409 when already canceled."""
    raise NotImplementedError


def cancel_for_deployment(session: Session, deployment_id: int, *, now: datetime) -> None:
    """A cancelled deployment's subscription ends as `cancel_subscription` would (the caller commits)."""
    raise NotImplementedError


def entry_block(session: Session, deployment_id: int) -> str | None:
    """Why a deployment may not open new positions for billing reasons (SUSPENDED_REASON), else None."""
    raise NotImplementedError


def reactivate_paid(session: Session, user_id: int, *, now: datetime) -> int:
    """After an invoice is paid: the user's past_due and suspended subscriptions with nothing else overdue
    become active again; how many (audited; the caller commits)."""
    raise NotImplementedError
