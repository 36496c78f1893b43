"""Housekeeping for sign-in: expired nonces and sessions are deleted once a day."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab

from backend.auth.sessions import purge_expired
from backend.db import session_scope
from tasks.app import huey

logger = logging.getLogger(__name__)

KEEP_AFTER_EXPIRY = timedelta(days=7)


@huey.periodic_task(crontab(minute="17", hour="3"))
@huey.lock_task("purge-expired-auth")
def purge_expired_auth_task() -> int:
    with session_scope() as session:
        purged = purge_expired(session, older_than=KEEP_AFTER_EXPIRY)
    return purged.nonces + purged.sessions
