"""Billing's periodic passes: thin wrappers over backend.billing (each pass commits in small, repeatable
steps, so a second worker or a rerun after a crash changes nothing twice)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from huey import crontab

from backend.billing.invoices import generate_invoices
from backend.billing.subscriptions import renew_subscriptions
from backend.billing.trade_fee import fee_policy
from backend.config import get_settings
from backend.db import session_scope
from backend.models.common import utcnow
from tasks.app import huey

logger = logging.getLogger(__name__)

BILLING_EVERY = "*/10"  # minutes


@huey.periodic_task(crontab(minute=BILLING_EVERY))
@huey.lock_task("billing-renew-subscriptions")
def renew_subscriptions_task() -> dict[str, int]:
    """Trials ending, periods rolling over (one line each), past due, suspended, reactivated, canceled;
    live deployments activated before billing existed get their trial."""
    settings = get_settings()
    with session_scope() as session:
        report = renew_subscriptions(
            session,
            fee_policy(settings),
            now=utcnow(),
            grace_days=settings.grace_days,
            trial_days=settings.trial_days,
        )
    logger.info("subscriptions renewed: %s", report)
    return asdict(report)


@huey.periodic_task(crontab(minute=BILLING_EVERY))
@huey.lock_task("billing-generate-invoices")
def generate_invoices_task() -> dict[str, int]:
    """Lines join their month's draft; last month's drafts are issued; open invoices due within three days
    or overdue are told once (invoice.due / invoice.overdue)."""
    settings = get_settings()
    with session_scope() as session:
        report = generate_invoices(session, now=utcnow(), due_days=settings.invoice_due_days)
    logger.info("invoices generated: %s", report)
    return asdict(report)
