"""Subscriptions: one per live deployment, a trial from activation, then monthly periods billed in advance.

trialing → active → past_due (an invoice holding a period is overdue) → suspended (after `GRACE_DAYS`: no
new entries, skipped with "subscription suspended"; exits and the monitor keep running) → canceled (when the
deployment is cancelled: at once while trialing, at the period's end after). Paying brings it back to active.
Every transition is audited (Action.SUBSCRIPTION_*). Paper deployments and reference books have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.models import AgentDeployment, BillingEvent, Invoice, Subscription
from backend.models.enums import BillingKind, InvoiceStatus, SubscriptionStatus
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
    held = list(
        session.exec(
            select(Subscription)
            .where(
                Subscription.user_id == user_id,
                col(Subscription.status).in_((SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED)),
            )
            .order_by(col(Subscription.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not held:
        return 0
    overdue = overdue_since(session, [row.id for row in held], now=now)
    count = 0
    for subscription in held:
        if subscription.id not in overdue:
            _reactivate(session, subscription, now=now)
            count += 1
    return count


def overdue_since(session: Session, subscription_ids: list[int], *, now: datetime) -> dict[int, datetime]:
    """Of these subscriptions, those with an OPEN invoice past due holding one of their SUBSCRIPTION lines,
    each with the earliest such due date."""
    if not subscription_ids:
        return {}
    rows = session.exec(
        select(BillingEvent.subscription_id, sa.func.min(Invoice.due_at))
        .join(Invoice, col(Invoice.id) == col(BillingEvent.invoice_id))
        .where(
            col(BillingEvent.subscription_id).in_(subscription_ids),
            BillingEvent.kind == BillingKind.SUBSCRIPTION,
            Invoice.status == InvoiceStatus.OPEN,
            col(Invoice.due_at) < now,
        )
        .group_by(col(BillingEvent.subscription_id))
    ).all()
    return {subscription_id: _aware(due) for subscription_id, due in rows}


def _aware(moment: datetime) -> datetime:
    """An aggregate's datetime comes back without the column type (naive on SQLite): UTC it is."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _transition(
    session: Session,
    subscription: Subscription,
    status: SubscriptionStatus,
    action: str,
    *,
    now: datetime,
    **details,
) -> None:
    """One audited change of a subscription's status (the caller commits)."""
    previous = subscription.status
    subscription.status = status
    subscription.updated_at = now
    session.add(subscription)
    audit.record(
        session,
        action=action,
        entity_type="subscription",
        entity_id=subscription.id,
        details={"deployment_id": subscription.deployment_id, "from": previous, "to": status, **details},
    )


def _reactivate(session: Session, subscription: Subscription, *, now: datetime) -> None:
    subscription.past_due_since = None
    _transition(
        session, subscription, SubscriptionStatus.ACTIVE, audit.Action.SUBSCRIPTION_REACTIVATED, now=now
    )
