"""Invoice payments: every minute, submitted wallet payments are confirmed from Hyperliquid's ledger."""

from __future__ import annotations

from huey import crontab

from backend.billing.payments import confirm_payments
from backend.config import get_settings
from backend.db import session_scope
from backend.models.common import utcnow
from tasks.app import huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("confirm-payments")
def confirm_payments_task() -> int:
    """A payment submitted before a crash, or before the ledger showed it, is confirmed here (never sent
    again); how many payments changed."""
    with session_scope() as session:
        return confirm_payments(session, settings=get_settings(), now=utcnow())
