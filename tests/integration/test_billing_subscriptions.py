"""Subscriptions: a trial from activation, monthly periods billed once, past due, suspended (no new entries,
exits still run), reactivated by paying, canceled; every transition audited; racing renewals bill once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.billing.errors import BillingConflict, BillingNotFound
from backend.billing.invoices import mark_paid
from backend.billing.subscriptions import (
    CANCELED_REASON,
    SUSPENDED_REASON,
    add_month,
    cancel_for_deployment,
    cancel_subscription,
    entry_block,
    renew_subscriptions,
    start_subscription,
)
from backend.deployments.service import change_status
from backend.execution.service import Executor
from backend.models import BillingEvent, Subscription, User
from backend.models.enums import (
    BillingKind,
    BillingStatus,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    InvoiceStatus,
    Role,
    SignalStatus,
    SubscriptionStatus,
    Venue,
)
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import FeePolicy
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.billing_support import actions, fresh, invoice, live_deployment
from tests.factories import Factory

T0 = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # activation: the trial ends on November 30th
POLICY = FeePolicy()


def as_user(user) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def started(session: Session, factory: Factory, **kw) -> Subscription:
    deployment = live_deployment(factory, **kw)
    subscription = start_subscription(session, deployment, now=T0, trial_days=30)
    session.commit()
    return subscription


def lines_of(session: Session, subscription_id: int) -> list[tuple[datetime, datetime, Decimal]]:
    session.expire_all()
    return [
        (row.period_start, row.period_end, row.amount)
        for row in session.exec(
            select(BillingEvent)
            .where(BillingEvent.subscription_id == subscription_id)
            .order_by(col(BillingEvent.period_start))
        )
    ]


def renew(session: Session, now: datetime, grace_days: int = 7):
    return renew_subscriptions(session, POLICY, now=now, grace_days=grace_days)


def test_months_are_calendar_months_clamped_to_their_end() -> None:
    jan31 = datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert add_month(jan31) == datetime(2027, 2, 28, 9, tzinfo=UTC)
    assert add_month(datetime(2027, 2, 28, 9, tzinfo=UTC), day=31) == datetime(2027, 3, 31, 9, tzinfo=UTC)
    assert add_month(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 15, tzinfo=UTC)
    assert add_month(datetime(2028, 1, 30, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)


def test_a_live_deployment_gets_one_trial_and_paper_or_reference_none(session: Session, factory: Factory):
    deployment = live_deployment(factory)
    first = start_subscription(session, deployment, now=T0, trial_days=30)
    again = start_subscription(session, deployment, now=T0 + timedelta(days=3), trial_days=30)
    session.commit()

    assert again.id == first.id
    assert (first.status, first.trial_ends_at) == (SubscriptionStatus.TRIALING, T0 + timedelta(days=30))
    assert actions(session, "subscription", first.id) == [Action.SUBSCRIPTION_STARTED]
    paper = factory.deployment(factory.agent(), venue=ExecutionVenue.PAPER)
    reference = live_deployment(factory, is_reference=True)
    assert start_subscription(session, paper, now=T0, trial_days=30) is None
    assert start_subscription(session, reference, now=T0, trial_days=30) is None
    assert session.exec(select(func.count()).select_from(Subscription)).one() == 1


def test_periods_follow_the_trial_each_billed_once(session: Session, factory: Factory):
    subscription = started(session, factory)
    trial_end = datetime(2026, 11, 30, 12, tzinfo=UTC)

    assert renew(session, trial_end - timedelta(seconds=1)).started == 0
    report = renew(session, trial_end)
    assert (report.started, report.renewed) == (1, 0)
    assert renew(session, trial_end + timedelta(hours=1)) == renew(session, trial_end + timedelta(hours=2))

    row = fresh(session, Subscription, subscription.id)
    assert row.status == SubscriptionStatus.ACTIVE
    assert (row.current_period_start, row.current_period_end) == (
        trial_end,
        datetime(2026, 12, 30, 12, tzinfo=UTC),
    )
    # Two periods ended while no worker ran: both are billed, each once, on the trial's day of the month.
    report = renew(session, datetime(2027, 2, 1, tzinfo=UTC))
    assert report.renewed == 2
    assert lines_of(session, subscription.id) == [
        (trial_end, datetime(2026, 12, 30, 12, tzinfo=UTC), Decimal("20")),
        (datetime(2026, 12, 30, 12, tzinfo=UTC), datetime(2027, 1, 30, 12, tzinfo=UTC), Decimal("20")),
        (datetime(2027, 1, 30, 12, tzinfo=UTC), datetime(2027, 2, 28, 12, tzinfo=UTC), Decimal("20")),
    ]
    keys = session.exec(
        select(BillingEvent.idempotency_key, BillingEvent.kind, BillingEvent.status, BillingEvent.created_at)
        .where(BillingEvent.subscription_id == subscription.id)
        .order_by(col(BillingEvent.id))
    ).first()
    assert keys == (
        f"subscription:{subscription.id}:2026-11-30T12:00:00+00:00",
        BillingKind.SUBSCRIPTION,
        BillingStatus.PENDING,
        trial_end,
    )
    assert actions(session, "subscription", subscription.id) == [
        Action.SUBSCRIPTION_STARTED,
        Action.SUBSCRIPTION_ACTIVATED,
        Action.SUBSCRIPTION_RENEWED,
        Action.SUBSCRIPTION_RENEWED,
    ]


def _overdue_period(session: Session, subscription: Subscription, *, due_at: datetime):
    """The subscription's first period on an OPEN invoice due at `due_at`."""
    renew(session, subscription.trial_ends_at)
    period = session.exec(select(BillingEvent).where(BillingEvent.subscription_id == subscription.id)).one()
    open_invoice = invoice(
        session,
        session.get(User, subscription.user_id),
        month=datetime(2026, 11, 1, tzinfo=UTC),
        status=InvoiceStatus.OPEN,
        number=f"MX-T-{subscription.id}",
        total=Decimal("20"),
        due_at=due_at,
    )
    period.invoice_id, period.status = open_invoice.id, BillingStatus.INVOICED
    session.add(period)
    session.commit()
    return open_invoice


def test_overdue_makes_past_due_then_suspended_and_paying_brings_it_back(session: Session, factory: Factory):
    subscription = started(session, factory)
    due = datetime(2026, 12, 14, tzinfo=UTC)
    open_invoice = _overdue_period(session, subscription, due_at=due)

    assert renew(session, due).past_due == 0  # due, not yet overdue
    assert renew(session, due + timedelta(minutes=1)).past_due == 1
    row = fresh(session, Subscription, subscription.id)
    assert (row.status, row.past_due_since) == (SubscriptionStatus.PAST_DUE, due)
    assert entry_block(session, subscription.deployment_id) is None  # entries go on during the grace
    assert renew(session, due + timedelta(days=7) - timedelta(seconds=1)).suspended == 0
    assert renew(session, due + timedelta(days=7)).suspended == 1
    assert fresh(session, Subscription, subscription.id).status == SubscriptionStatus.SUSPENDED
    assert entry_block(session, subscription.deployment_id) == SUSPENDED_REASON

    # Suspended through the period's end: no new period is billed meanwhile.
    assert renew(session, datetime(2027, 1, 5, tzinfo=UTC)).renewed == 0
    paid_at = datetime(2027, 1, 10, tzinfo=UTC)
    mark_paid(session, open_invoice.id, now=paid_at)
    session.commit()
    row = fresh(session, Subscription, subscription.id)
    assert (row.status, row.past_due_since) == (SubscriptionStatus.ACTIVE, None)
    assert entry_block(session, subscription.deployment_id) is None
    # The next pass starts a new period from then, billed once.
    assert renew(session, paid_at + timedelta(minutes=10)).renewed == 1
    assert lines_of(session, subscription.id)[-1] == (
        paid_at + timedelta(minutes=10),
        datetime(2027, 2, 10, 0, 10, tzinfo=UTC),
        Decimal("20"),
    )
    assert actions(session, "subscription", subscription.id) == [
        Action.SUBSCRIPTION_STARTED,
        Action.SUBSCRIPTION_ACTIVATED,
        Action.SUBSCRIPTION_PAST_DUE,
        Action.SUBSCRIPTION_SUSPENDED,
        Action.SUBSCRIPTION_REACTIVATED,
        Action.SUBSCRIPTION_RENEWED,
    ]


def test_a_worker_down_past_the_grace_suspends_in_one_pass(session: Session, factory: Factory):
    subscription = started(session, factory)
    due = datetime(2026, 12, 14, tzinfo=UTC)
    _overdue_period(session, subscription, due_at=due)

    report = renew(session, due + timedelta(days=8))

    assert (report.past_due, report.suspended) == (1, 1)
    assert fresh(session, Subscription, subscription.id).past_due_since == due


def test_the_owner_cancels_now_while_trialing_and_at_period_end_after(session: Session, factory: Factory):
    trialing = started(session, factory)
    owner = as_user(session.get(User, trialing.user_id))
    with pytest.raises(BillingNotFound):
        cancel_subscription(session, as_user(factory.user()), trialing.id, now=T0)
    canceled = cancel_subscription(session, owner, trialing.id, now=T0 + timedelta(days=1), ip="1.2.3.4")
    assert (canceled.status, canceled.canceled_at) == (SubscriptionStatus.CANCELED, T0 + timedelta(days=1))
    assert entry_block(session, trialing.deployment_id) == CANCELED_REASON  # no free ride after it
    with pytest.raises(BillingConflict):
        cancel_subscription(session, owner, trialing.id, now=T0 + timedelta(days=2))
    assert renew(session, datetime(2027, 3, 1, tzinfo=UTC)).started == 0  # a canceled trial never bills

    paying = started(session, factory)
    renew(session, paying.trial_ends_at)
    paying_owner = as_user(session.get(User, paying.user_id))
    requested = cancel_subscription(session, paying_owner, paying.id, now=datetime(2026, 12, 5, tzinfo=UTC))
    assert (requested.status, requested.cancel_at_period_end) == (SubscriptionStatus.ACTIVE, True)
    period_end = requested.current_period_end
    assert renew(session, period_end - timedelta(seconds=1)).canceled == 0
    report = renew(session, period_end)
    assert (report.canceled, report.renewed) == (1, 0)
    row = fresh(session, Subscription, paying.id)
    assert (row.status, row.canceled_at) == (SubscriptionStatus.CANCELED, period_end)
    assert len(lines_of(session, paying.id)) == 1
    assert actions(session, "subscription", paying.id)[-2:] == [
        Action.SUBSCRIPTION_CANCEL_REQUESTED,
        Action.SUBSCRIPTION_CANCELED,
    ]


def test_cancelling_the_deployment_cancels_its_subscription(session: Session, factory: Factory):
    subscription = started(session, factory)
    owner = as_user(session.get(User, subscription.user_id))

    change_status(session, owner, subscription.deployment_id, "cancel")

    row = fresh(session, Subscription, subscription.id)
    assert row.status == SubscriptionStatus.CANCELED
    assert actions(session, "subscription", subscription.id)[-1] == Action.SUBSCRIPTION_CANCELED
    cancel_for_deployment(session, subscription.deployment_id, now=T0)  # again: nothing to do
    session.commit()
    assert actions(session, "subscription", subscription.id)[-1] == Action.SUBSCRIPTION_CANCELED


def test_a_suspended_or_ended_subscription_skips_new_entries_on_both_execution_paths(
    session: Session, factory: Factory
):
    """Paper deployments have no subscription; one is given a suspended one here to drive both paths."""
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    single, chunked, ended, free = (factory.paper_deployment(agent) for _ in range(4))
    for deployment, status in (
        (single, SubscriptionStatus.SUSPENDED),
        (chunked, SubscriptionStatus.SUSPENDED),
        (ended, SubscriptionStatus.CANCELED),
    ):
        session.add(
            Subscription(
                deployment_id=deployment.id, user_id=deployment.user_id, status=status, trial_ends_at=T0
            )
        )
    session.commit()
    engine = session.get_bind()
    executor = Executor(
        VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))}),
        WalletCipher(b"k" * 32),
    )
    signal = factory.signal(agent, token="BTC", status=SignalStatus.PENDING)

    one = executor.execute(session, signal.id, single.id)
    chunk = executor.execute_many(session, signal.id, [chunked.id, ended.id, free.id])

    assert (one.status, one.reason) == (ExecutionStatus.SKIPPED, SUSPENDED_REASON)
    assert (chunk.outcomes[chunked.id].status, chunk.outcomes[chunked.id].reason) == (
        ExecutionStatus.SKIPPED,
        SUSPENDED_REASON,
    )
    assert chunk.outcomes[ended.id].reason == CANCELED_REASON
    assert chunk.outcomes[free.id].status == ExecutionStatus.FILLED


def test_racing_renewals_bill_each_period_once(engine: sa.Engine, factory: Factory):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks race on PostgreSQL; SQLite has one writer")
    workers = 4
    subscriptions = [started(factory.session, factory) for _ in range(5)]
    barrier = threading.Barrier(workers)
    now = datetime(2027, 3, 1, tzinfo=UTC)  # trial over, three periods to bill each
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                renew(own, now)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    session = factory.session
    for subscription in subscriptions:
        periods = lines_of(session, subscription.id)
        assert [start for start, _, _ in periods] == [
            datetime(2026, 11, 30, 12, tzinfo=UTC),
            datetime(2026, 12, 30, 12, tzinfo=UTC),
            datetime(2027, 1, 30, 12, tzinfo=UTC),
            datetime(2027, 2, 28, 12, tzinfo=UTC),
        ]
        assert actions(session, "subscription", subscription.id).count(Action.SUBSCRIPTION_ACTIVATED) == 1


def test_live_deployments_from_before_billing_get_their_trial_once(session: Session, factory: Factory):
    legacy = live_deployment(factory)
    paused = live_deployment(factory, status=DeploymentStatus.PAUSED)
    live_deployment(factory, status=DeploymentStatus.CANCELLED)
    live_deployment(factory, is_reference=True)
    factory.paper_deployment(factory.agent())
    already = started(session, factory)

    report = renew_subscriptions(session, POLICY, now=T0, grace_days=7, trial_days=30)
    again = renew_subscriptions(session, POLICY, now=T0, grace_days=7, trial_days=30)

    assert (report.backfilled, again.backfilled) == (2, 0)
    rows = session.exec(select(Subscription.deployment_id).order_by(col(Subscription.deployment_id))).all()
    assert rows == sorted([legacy.id, paused.id, already.deployment_id])
    assert fresh(session, Subscription, already.id).trial_ends_at == T0 + timedelta(days=30)
