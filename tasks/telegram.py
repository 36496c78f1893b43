"""The Telegram bot's updates: long polling under a lease, or, in webhook mode, registering the webhook.

With TELEGRAM_BOT_TOKEN set and no TELEGRAM_WEBHOOK_SECRET, each minute's run holds the "telegram" lease and
long-polls getUpdates for just under a minute (the next minute's run, in any worker, renews or takes it).
With the secret set, the run makes sure Telegram posts to PUBLIC_URL/api/v1/telegram/updates and polls
nothing. The mode is told to Telegram once per worker process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from huey import crontab

from backend.config import get_settings
from backend.db import get_engine
from backend.notify.telegram import linking
from backend.notify.telegram.client import TelegramError
from backend.notify.telegram.poller import ensure_update_mode, poll_for
from backend.runtime import venue_registry
from tasks.app import huey

logger = logging.getLogger(__name__)

LOOP_SECONDS = 55  # leave the minute's next run room to start

_webhook_mode: dict[str, bool] = {}  # what this process told Telegram


def _holder() -> str:
    return f"telegram:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@huey.periodic_task(crontab(minute="*"))
def telegram_updates_task() -> int:
    """Long-poll for about a minute while holding the lease; how many updates were handled."""
    settings = get_settings()
    if not linking.configured(settings):
        return 0
    with linking.client_for(settings) as client:
        if "mode" not in _webhook_mode:
            try:
                _webhook_mode["mode"] = ensure_update_mode(client, settings)
            except TelegramError as e:
                logger.warning("telegram: could not set the update mode: %s", e.description)
                return 0
        if _webhook_mode["mode"]:
            return 0
        return poll_for(
            get_engine(),
            client,
            settings=settings,
            venues=venue_registry(),
            seconds=LOOP_SECONDS,
            holder=_holder(),
        )
