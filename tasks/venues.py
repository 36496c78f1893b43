"""The token registry from the venues: refreshed when a worker starts and every hour (thin wrappers)."""

from __future__ import annotations

import logging
import threading

from huey import crontab

from backend.config import get_settings
from backend.db import session_scope
from backend.markets.refresh import refresh_venues
from backend.models.common import utcnow
from backend.runtime import venue_registry
from tasks.app import huey

logger = logging.getLogger(__name__)

_started = threading.Lock()  # held for good by the first worker thread to start: one refresh per process


@huey.task()
@huey.lock_task("refresh-venues")
def refresh_venues_task() -> dict[str, int]:
    """Every venue's listings into venue_status and token_registry; markets listed per reachable venue.

    An unreachable venue keeps its rows and costs its adapter's timeout; the next hour tries again.
    """
    registry = venue_registry()
    with session_scope() as session:
        report = refresh_venues(session, [registry.get(name) for name in registry.names], utcnow())
    return {v.venue: v.listed for v in report.venues if v.error is None}


@huey.periodic_task(crontab(minute="17"))
def refresh_venues_hourly() -> None:
    """Hourly, off the top of the hour; queued as a normal task so it shares the lock."""
    refresh_venues_task()


@huey.on_startup()
def refresh_venues_on_start() -> None:
    """Queue one refresh when the consumer starts (each worker thread runs startup hooks: the first wins).
    Queued, not run here: a venue that is down must not hold the worker's start."""
    if get_settings().venue_refresh_on_start and _started.acquire(blocking=False):
        refresh_venues_task()
