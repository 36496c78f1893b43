"""The periodic billing tasks run the passes against the configured database: a trial over becomes a paid
period whose line joins this month's draft invoice, and a second run changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.billing.invoices import month_start
from backend.billing.subscriptions import start_subscription
from backend.config import get_settings
from backend.db import get_engine
from backend.models import BillingEvent, Invoice, Subscription
from backend.models.common import utcnow
from backend.models.enums import BillingKind, InvoiceStatus, SubscriptionStatus
from tasks import billing as billing_tasks
from tests.billing_support import live_deployment
from tests.factories import Factory


@pytest.fixture
def task_settings(engine: sa.Engine, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()  # the tasks' engine is cached by URL: built afresh for this backend
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_the_tasks_renew_and_gather_lines_once(task_settings, session: Session, factory: Factory) -> None:
    deployment = live_deployment(factory)
    # A trial that ended a day ago (activation 31 days back with a 30-day trial).
    subscription = start_subscription(session, deployment, now=utcnow() - timedelta(days=31), trial_days=30)
    session.commit()

    renewed = billing_tasks.renew_subscriptions_task.call_local()
    generated = billing_tasks.generate_invoices_task.call_local()

    assert renewed["started"] == 1
    session.expire_all()
    assert session.get(Subscription, subscription.id).status == SubscriptionStatus.ACTIVE
    period = session.exec(select(BillingEvent).where(BillingEvent.kind == BillingKind.SUBSCRIPTION)).one()
    invoice = session.get(Invoice, period.invoice_id)
    assert (invoice.user_id, invoice.month) == (deployment.user_id, month_start(period.created_at))
    # The running month's draft, or (run just after a month began) last month's, issued.
    assert invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN)
    assert generated["attached"] == 1
    assert billing_tasks.renew_subscriptions_task.call_local()["renewed"] == 0
    assert billing_tasks.generate_invoices_task.call_local()["attached"] == 0
