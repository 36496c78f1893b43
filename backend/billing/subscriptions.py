"""Subscriptions: one per live deployment, a trial from activation, then monthly periods billed in advance.

trialing → active → past_due (an invoice holding a period is overdue) → suspended (after `GRACE_DAYS`: no
new entries, skipped with "subscription suspended"; exits and the monitor keep running) → canceled (when the
deployment is cancelled: at once while trialing, at the period's end after). Paying brings it back to active.
Every transition is audited (Action.SUBSCRIPTION_*). Paper deployments and reference books have none.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.billing.errors import BillingConflict, BillingNotFound
from backend.db import among, insert_or_ignore
from backend.models import AgentDeployment, BillingEvent, Invoice, Subscription
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    DeploymentStatus,
    InvoiceStatus,
    SubscriptionStatus,
)
from backend.notify.accounts import deployment_changed
from backend.notify.events import EventType
from backend.trading.fees import FeePolicy, subscription_line
from backend.venues.capabilities import DECLARED, real_funds

SUSPENDED_REASON = "subscription suspended"
SUSPENDED_NOTE = "an invoice is unpaid past its grace period"  # the owner's deployment.suspended event
CANCELED_REASON = "subscription canceled"  # canceled while the deployment runs on: no new entries either
ENTRY_BLOCKS = {SubscriptionStatus.SUSPENDED: SUSPENDED_REASON, SubscriptionStatus.CANCELED: CANCELED_REASON}


@dataclass(frozen=True)
class RenewReport:
    started: int  # trials that became paid periods
    renewed: int  # paid periods rolled over (one line each)
    past_due: int
    suspended: int
    reactivated: int
    canceled: int
    backfilled: int = 0  # trials started for live deployments that had none (`trial_days` given)


def start_subscription(
    session: Session, deployment: AgentDeployment, *, now: datetime, trial_days: int
) -> Subscription | None:
    """The deployment's subscription, created once when a live deployment becomes active (its trial
    runs from then); None for paper and reference books. Idempotent: a second call returns the first."""
    return _start(session, deployment, now=now, trial_days=trial_days)[0]


def _start(
    session: Session, deployment: AgentDeployment, *, now: datetime, trial_days: int
) -> tuple[Subscription | None, bool]:
    """`start_subscription`, and whether this call created it."""
    if not is_live(deployment):
        return None, False
    inserted = insert_or_ignore(
        session,
        Subscription,
        {
            "deployment_id": deployment.id,
            "user_id": deployment.user_id,
            "status": SubscriptionStatus.TRIALING.value,
            "trial_ends_at": now + timedelta(days=trial_days),
            "cancel_at_period_end": False,
            "created_at": now,
            "updated_at": now,
        },
        ["deployment_id"],
    )
    subscription = session.exec(select(Subscription).where(Subscription.deployment_id == deployment.id)).one()
    if inserted is not None:
        audit.record(
            session,
            action=audit.Action.SUBSCRIPTION_STARTED,
            entity_type="subscription",
            entity_id=subscription.id,
            details={"deployment_id": deployment.id, "trial_ends_at": subscription.trial_ends_at.isoformat()},
        )
    return subscription, inserted is not None


def start_missing(session: Session, *, now: datetime, trial_days: int) -> int:
    """Trials for live, running deployments that have no subscription; how many started (committed)."""
    candidates = session.exec(
        select(AgentDeployment)
        .outerjoin(Subscription, col(Subscription.deployment_id) == col(AgentDeployment.id))
        .where(
            col(Subscription.id).is_(None),
            col(AgentDeployment.is_reference).is_(False),
            # Paper-first MULTI deployments are started on activation; this catches the legacy live ones.
            col(AgentDeployment.venue).in_([v for v, declared in DECLARED.items() if declared.real_funds]),
            col(AgentDeployment.status).in_((DeploymentStatus.ACTIVE, DeploymentStatus.PAUSED)),
        )
        .order_by(col(AgentDeployment.id))
    ).all()
    started = 0
    for deployment in candidates:
        started += _start(session, deployment, now=now, trial_days=trial_days)[1]
    session.commit()
    return started


def is_live(deployment: AgentDeployment) -> bool:
    """A deployment that trades real funds on some venue (reference books are the platform's own)."""
    if deployment.is_reference:
        return False
    venues = {deployment.venue, *(deployment.venue_preferences or [])}
    return any(real_funds(venue) for venue in venues)


def add_month(moment: datetime, *, day: int | None = None) -> datetime:
    """The same day (`day`, else `moment`'s) and time next month, clamped to that month's last day."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    last = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(day or moment.day, last))


def subscription_key(subscription_id: int, period_start: datetime) -> str:
    return f"subscription:{subscription_id}:{period_start.astimezone(UTC).isoformat()}"


def renew_subscriptions(
    session: Session,
    policy: FeePolicy,
    *,
    now: datetime,
    grace_days: int,
    trial_days: int | None = None,
) -> RenewReport:
    """The periodic pass (exactly once per period even with racing workers): trials ending start a paid
    period, periods ending roll over, each period gets one SUBSCRIPTION line (idempotency key
    `subscription:<id>:<period start>`); overdue invoices make subscriptions past_due, then suspended;
    cancel-at-period-end ones become canceled. Commits per subscription. With `trial_days`, live
    deployments running without a subscription (activated before billing existed) get their trial first."""
    counts: Counter[str] = Counter()
    if trial_days is not None:
        counts["backfilled"] = start_missing(session, now=now, trial_days=trial_days)
    for subscription_id in _due_for_renewal(session, now=now):
        subscription = _lock(session, subscription_id)
        if subscription is not None and subscription.status != SubscriptionStatus.CANCELED:
            _renew_one(
                session, subscription, policy, now=now, grace=timedelta(days=grace_days), counts=counts
            )
        session.commit()
    return RenewReport(
        started=counts["started"],
        renewed=counts["renewed"],
        past_due=counts["past_due"],
        suspended=counts["suspended"],
        reactivated=counts["reactivated"],
        canceled=counts["canceled"],
        backfilled=counts["backfilled"],
    )


def _due_for_renewal(session: Session, *, now: datetime) -> list[int]:
    """Subscriptions this pass may change: a trial or period ended, or past due (or no longer)."""
    overdue = (
        select(BillingEvent.subscription_id)
        .join(Invoice, col(Invoice.id) == col(BillingEvent.invoice_id))
        .where(
            BillingEvent.kind == BillingKind.SUBSCRIPTION,
            Invoice.status == InvoiceStatus.OPEN,
            col(Invoice.due_at) < now,
        )
    )
    ids = list(
        session.exec(
            select(Subscription.id)
            .where(
                Subscription.status != SubscriptionStatus.CANCELED,
                sa.or_(
                    sa.and_(
                        Subscription.status == SubscriptionStatus.TRIALING, Subscription.trial_ends_at <= now
                    ),
                    col(Subscription.current_period_end) <= now,
                    sa.and_(
                        Subscription.status == SubscriptionStatus.ACTIVE,
                        col(Subscription.current_period_end).is_(None),
                    ),
                    col(Subscription.status).in_((SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED)),
                    col(Subscription.id).in_(overdue),
                ),
            )
            .order_by(col(Subscription.id))
        )
    )
    session.rollback()  # end the read: each subscription is its own transaction
    return ids


def _lock(session: Session, subscription_id: int) -> Subscription | None:
    return session.exec(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _renew_one(
    session: Session,
    subscription: Subscription,
    policy: FeePolicy,
    *,
    now: datetime,
    grace: timedelta,
    counts: Counter[str],
) -> None:
    """One subscription brought up to `now` under its row lock: periods, then payment standing."""
    if subscription.status == SubscriptionStatus.TRIALING and subscription.trial_ends_at <= now:
        _start_period(session, subscription, policy, subscription.trial_ends_at, now=now)
        _transition(
            session, subscription, SubscriptionStatus.ACTIVE, audit.Action.SUBSCRIPTION_ACTIVATED, now=now
        )
        counts["started"] += 1
    while subscription.current_period_end is not None and subscription.current_period_end <= now:
        if subscription.cancel_at_period_end:
            subscription.canceled_at = subscription.current_period_end
            _transition(
                session,
                subscription,
                SubscriptionStatus.CANCELED,
                audit.Action.SUBSCRIPTION_CANCELED,
                now=now,
            )
            counts["canceled"] += 1
            return
        if subscription.status == SubscriptionStatus.SUSPENDED:
            break  # no new periods while suspended; paying restarts them from then
        _start_period(session, subscription, policy, subscription.current_period_end, now=now)
        _audit_renewed(session, subscription)
        counts["renewed"] += 1
    _settle_standing(session, subscription, now=now, grace=grace, counts=counts)
    if subscription.status == SubscriptionStatus.ACTIVE and subscription.current_period_end is None:
        _start_period(session, subscription, policy, now, now=now)  # reactivated after a suspension
        _audit_renewed(session, subscription)
        counts["renewed"] += 1


def _audit_renewed(session: Session, subscription: Subscription) -> None:
    audit.record(
        session,
        action=audit.Action.SUBSCRIPTION_RENEWED,
        entity_type="subscription",
        entity_id=subscription.id,
        details={
            "deployment_id": subscription.deployment_id,
            "period_start": subscription.current_period_start.isoformat(),
            "period_end": subscription.current_period_end.isoformat(),
        },
    )


def _start_period(
    session: Session, subscription: Subscription, policy: FeePolicy, start: datetime, *, now: datetime
) -> None:
    """The paid period from `start` and its line, billed in advance (once: keyed by the period's start)."""
    end = add_month(start, day=_anchor_day(subscription, start))
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.updated_at = now
    session.add(subscription)
    line = subscription_line(policy, start, end)
    if line is None:
        return
    insert_or_ignore(
        session,
        BillingEvent,
        {
            "idempotency_key": subscription_key(subscription.id, start),
            "kind": BillingKind(line.kind.value).value,
            "status": BillingStatus.PENDING.value,
            "user_id": subscription.user_id,
            "deployment_id": subscription.deployment_id,
            "subscription_id": subscription.id,
            "beneficiary": Beneficiary(line.beneficiary.value).value,
            "amount": line.amount,
            "currency": "USDC",
            "description": line.description,
            "period_start": start,
            "period_end": end,
            # A period's line belongs to the month it starts in, even when the pass runs late.
            "created_at": start,
            "updated_at": now,
        },
        ["idempotency_key"],
    )


def _anchor_day(subscription: Subscription, start: datetime) -> int:
    """Periods run from the trial's end day each month (Jan 31, Feb 28, Mar 31); a period restarted after a
    suspension runs from its own day."""
    anchor = subscription.trial_ends_at.day
    on_anchor = start.day == min(anchor, calendar.monthrange(start.year, start.month)[1])
    return anchor if on_anchor else start.day


def _settle_standing(
    session: Session, subscription: Subscription, *, now: datetime, grace: timedelta, counts: Counter[str]
) -> None:
    """Past due while an invoice holding one of its periods is overdue, suspended after the grace,
    active again when nothing is overdue any more (paid, voided or written off)."""
    since = overdue_since(session, [subscription.id], now=now).get(subscription.id)
    if since is None:
        if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED):
            _reactivate(session, subscription, now=now)
            counts["reactivated"] += 1
        return
    if subscription.status == SubscriptionStatus.ACTIVE:
        subscription.past_due_since = since
        _transition(
            session,
            subscription,
            SubscriptionStatus.PAST_DUE,
            audit.Action.SUBSCRIPTION_PAST_DUE,
            now=now,
            overdue_since=since.isoformat(),
        )
        counts["past_due"] += 1
    subscription.past_due_since = since  # the oldest invoice still overdue: one paid moves it on
    if subscription.status == SubscriptionStatus.PAST_DUE and since + grace <= now:
        _transition(
            session, subscription, SubscriptionStatus.SUSPENDED, audit.Action.SUBSCRIPTION_SUSPENDED, now=now
        )
        deployment = session.get(AgentDeployment, subscription.deployment_id)
        suspended = EventType.DEPLOYMENT_SUSPENDED
        deployment_changed(session, deployment, suspended, by="billing", at=now, reason=SUSPENDED_NOTE)
        counts["suspended"] += 1


def cancel_subscription(
    session: Session, user: CurrentUser, subscription_id: int, *, now: datetime, ip: str | None = None
) -> Subscription:
    """The owner cancels: canceled now while trialing, else at the end of the paid period. 404 for others,
    409 when already canceled."""
    subscription = _lock(session, subscription_id)
    if subscription is None or subscription.user_id != user.id:
        session.rollback()
        raise BillingNotFound(f"subscription {subscription_id} not found")
    if subscription.status == SubscriptionStatus.CANCELED:
        session.rollback()
        raise BillingConflict("this subscription is already canceled")
    if subscription.cancel_at_period_end:
        session.rollback()
        raise BillingConflict("this subscription already ends at the end of its period")
    _cancel(session, subscription, now=now, actor=user, ip=ip)
    session.commit()
    return subscription


def cancel_for_deployment(session: Session, deployment_id: int, *, now: datetime) -> None:
    """A cancelled deployment's subscription ends as `cancel_subscription` would (the caller commits)."""
    subscription = session.exec(
        select(Subscription)
        .where(Subscription.deployment_id == deployment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if subscription is None or subscription.status == SubscriptionStatus.CANCELED:
        return
    if subscription.cancel_at_period_end:
        return
    _cancel(session, subscription, now=now)


def _cancel(
    session: Session,
    subscription: Subscription,
    *,
    now: datetime,
    actor: CurrentUser | None = None,
    ip: str | None = None,
) -> None:
    who = {"actor": actor.address, "actor_user_id": actor.id, "ip": ip} if actor else {}
    details = {"deployment_id": subscription.deployment_id, "from": subscription.status}
    if subscription.status == SubscriptionStatus.TRIALING or subscription.current_period_end is None:
        subscription.status = SubscriptionStatus.CANCELED
        subscription.canceled_at = now
        action = audit.Action.SUBSCRIPTION_CANCELED
        details["to"] = SubscriptionStatus.CANCELED
    else:
        subscription.cancel_at_period_end = True
        action = audit.Action.SUBSCRIPTION_CANCEL_REQUESTED
        details["ends_at"] = subscription.current_period_end.isoformat()
    subscription.updated_at = now
    session.add(subscription)
    audit.record(
        session, action=action, entity_type="subscription", entity_id=subscription.id, details=details, **who
    )


def entry_block(session: Session, deployment_id: int) -> str | None:
    """Why a deployment may not open new positions for billing reasons (SUSPENDED_REASON, or
    CANCELED_REASON once its subscription has ended), else None."""
    status = session.exec(
        select(Subscription.status).where(Subscription.deployment_id == deployment_id)
    ).first()
    return None if status is None else ENTRY_BLOCKS.get(SubscriptionStatus(status))


def entry_blocks(session: Session, deployment_ids: Iterable[int]) -> dict[int, str]:
    """`entry_block` for many deployments at once (the execution fan-out's): the blocked ones' reasons."""
    ids = sorted(set(deployment_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Subscription.deployment_id, Subscription.status).where(
            among(col(Subscription.deployment_id), ids),
            col(Subscription.status).in_(list(ENTRY_BLOCKS)),
        )
    )
    return {deployment_id: ENTRY_BLOCKS[SubscriptionStatus(status)] for deployment_id, status in rows}


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
    """Back to active; a period that ended while suspended is not billed: the next one starts at the
    renewal pass after this (`current_period_end` None)."""
    subscription.past_due_since = None
    ended = subscription.current_period_end is not None and subscription.current_period_end <= now
    if subscription.status == SubscriptionStatus.SUSPENDED and ended:
        subscription.current_period_start = None
        subscription.current_period_end = None
    _transition(
        session, subscription, SubscriptionStatus.ACTIVE, audit.Action.SUBSCRIPTION_REACTIVATED, now=now
    )
