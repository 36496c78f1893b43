"""Spot Safes: what the chain says of each executor, every minute (a thin wrapper).

A user may disable the Maxxit module in the Safe app, or enable it there for a Safe with several owners;
the platform learns it here: the first stops entries, the second starts the deployment.
"""

from __future__ import annotations

from huey import crontab

from backend.config import get_settings
from backend.db import session_scope
from backend.spot.safe_setup import reconcile_executors, spot_chain
from tasks.app import huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("spot-executors")
def reconcile_spot_executors_task() -> list[int]:
    """The executors whose state changed; nothing when no spot chain is configured."""
    settings = get_settings()
    chain = spot_chain(settings)
    if chain is None:
        return []
    with session_scope() as session:
        changed = reconcile_executors(session, chain, trial_days=settings.trial_days)
    return changed
