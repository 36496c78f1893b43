"""The Telegram bot's updates: long polling under a lease, or, in webhook mode, registering the webhook.

With TELEGRAM_BOT_TOKEN set and no TELEGRAM_WEBHOOK_SECRET, each minute's run holds the "telegram" lease and
long-polls getUpdates for just under a minute (one poller at a time across workers: Telegram answers a
second concurrent getUpdates with 409). With the secret set, the run makes sure Telegram posts to
PUBLIC_URL/api/v1/telegram/updates (setWebhook once per worker process) and polls nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from huey import crontab
from sqlmodel import Session

from backend.config import get_settings
from backend.db import get_engine
from backend.models.common import utcnow
from backend.monitor.lease import acquire_lease, release_lease
from backend.notify.telegram import linking
from backend.notify.telegram.client import TelegramError
from backend.notify.telegram.poller import poll_once
from tasks.app import huey
from tasks.execution import venues

logger = logging.getLogger(__name__)

TELEGRAM_LEASE = "telegram"
LOOP_SECONDS = 55
POLL_SECONDS = 25
LEASE_TTL = timedelta(seconds=POLL_SECONDS * 3)
WEBHOOK_PATH = "/api/v1/telegram/updates"

_mode: dict[str, str] = {}  # what this process last told Telegram: "webhook" or "polling"


def _holder() -> str:
    return f"telegram:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _ensure_mode(client, settings) -> bool:
    """Webhook mode registered (True), or polling mode with any old webhook removed (False)."""
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    wanted = "webhook" if secret else "polling"
    if _mode.get("mode") != wanted:
        if secret:
            client.set_webhook(settings.frontend_url + WEBHOOK_PATH, secret)
        else:
            client.delete_webhook()
        _mode["mode"] = wanted
    return bool(secret)


@huey.periodic_task(crontab(minute="*"))
def telegram_updates_task() -> int:
    """Long-poll for about a minute while holding the lease; how many updates were handled."""
    settings = get_settings()
    if not linking.configured(settings):
        return 0
    handled, holder, deadline = 0, _holder(), time.monotonic() + LOOP_SECONDS
    engine = get_engine()
    with linking.client_for(settings) as client, Session(engine) as session:
        try:
            if _ensure_mode(client, settings):
                return 0
        except TelegramError as e:
            logger.warning("telegram: could not set the update mode: %s", e.description)
            return 0
        try:
            while (left := deadline - time.monotonic()) > 1:
                if not acquire_lease(session, TELEGRAM_LEASE, holder, LEASE_TTL, utcnow()):
                    time.sleep(min(5.0, left))
                    continue
                try:
                    handled += poll_once(
                        engine,
                        client,
                        settings=settings,
                        venues=venues(),
                        timeout=int(min(POLL_SECONDS, left)),
                    )
                except TelegramError as e:
                    logger.warning("telegram: getUpdates failed: %s", e.description)
                    time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        finally:
            release_lease(session, TELEGRAM_LEASE, holder, utcnow())
    return handled
