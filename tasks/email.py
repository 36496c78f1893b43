"""The daily email digest: a pass every 15 minutes sends the digests that are due (each user's once a day,
after EMAIL_DIGEST_HOUR_UTC); a failed one is tried again on the next pass."""

from __future__ import annotations

import logging

from huey import crontab

from backend.config import get_settings
from backend.db import get_engine
from backend.models.common import utcnow
from backend.notify.email.digest import send_digests
from tasks.app import huey

logger = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*/15"))
@huey.lock_task("email-digests")
def email_digests_task() -> int:
    settings = get_settings()
    sent = send_digests(get_engine(settings.database_url), settings, utcnow())
    if sent:
        logger.info("email digests sent: %d", sent)
    return sent
