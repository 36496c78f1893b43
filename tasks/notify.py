"""Notification delivery on the queue: a commit that wrote events wakes `deliver_notifications`; a sweep
every minute runs the same consumer, so an event whose wake-up was lost waits at most a minute.

After each run the worker schedules one more for when the next retry is due or a dead worker's claim
lapses (if within the minute), so a 5-second webhook retry does not wait for the sweep. A starting worker
runs once at once. The senders are built once per worker process from the settings and the wallet cipher.
Trading never waits for any of this: it only writes the event row, and the enqueue after its commit
swallows failures (`backend.notify.events`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from functools import cache

from huey import crontab
from sqlmodel import Session

from backend.config import get_settings
from backend.db import get_engine
from backend.execution.faults import fault_from_env
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify.channels import Sender
from backend.notify.dispatch import DispatchReport, next_due, run_once
from backend.notify.retention import prune
from backend.notify.senders import build_senders
from backend.runtime import wallet_cipher
from tasks.app import huey

logger = logging.getLogger(__name__)

FOLLOW_UP_WITHIN = timedelta(seconds=60)  # later than this, the minute's sweep gets there first anyway


@cache
def senders() -> dict[NotificationChannel, Sender]:
    return build_senders(get_settings(), wallet_cipher())


@cache
def _fault():
    return fault_from_env()


class HueyNotifyEvents:
    """Each commit that wrote events queues one consumer run (runs that find nothing cost two queries)."""

    def events_committed(self) -> None:
        deliver_notifications()


notify_events = HueyNotifyEvents()


_state = threading.Lock()
_busy = {"running": False, "again": False}  # this process's consumer: one run at a time, woken again


def _run() -> dict[str, int]:
    """Run the consumer; when a run is already going in this process, ask it to go round once more.

    A burst of commits queues a wake-up each; they collapse into a few rounds instead of one run per event
    (other processes' runs go on in parallel, separated by the database's row locks).
    """
    with _state:
        if _busy["running"]:
            _busy["again"] = True
            return {}
        _busy["running"] = True
    total = DispatchReport()
    try:
        while True:
            with _state:
                _busy["again"] = False
            total.add(run_once(get_engine(), senders(), fault=_fault()))
            with _state:
                if not _busy["again"]:
                    break
    finally:
        with _state:
            _busy["running"] = False
    if total.fanned_out or total.sent or total.failed or total.dead or total.skipped:
        logger.info("notify: %s", total)
    _follow_up()
    return vars(total)


_scheduled_lock = threading.Lock()
_scheduled: list[datetime] = []  # this process's pending follow-up, so each run does not add another


def _follow_up() -> None:
    due = next_due(get_engine(), senders())
    now = utcnow()
    if due is None or due - now > FOLLOW_UP_WITHIN:
        return
    with _scheduled_lock:
        if _scheduled and now < _scheduled[0] <= due:
            return  # one is already coming, no later than this
        _scheduled[:] = [due]
    deliver_notifications.schedule(delay=max((due - now).total_seconds(), 0) + 0.05)


@huey.task()
def deliver_notifications() -> dict[str, int]:
    """Fan out new events and send everything due."""
    return _run()


@huey.periodic_task(crontab(minute="*"))
def sweep_notifications() -> dict[str, int]:
    """Catch up on what a lost wake-up, a dead worker or a retry's due time left waiting."""
    return _run()


@huey.periodic_task(crontab(minute="17", hour="3"))
def prune_notifications() -> int:
    """Once a day: finished events older than NOTIFY_RETENTION_DAYS go, with their deliveries."""
    keep = timedelta(days=get_settings().notify_retention_days)
    with Session(get_engine()) as session:
        return prune(session, utcnow(), keep)


_startup = threading.Lock()


@huey.on_startup()
def deliver_after_start() -> None:
    """A starting worker queues one run (Huey calls this in every worker thread; the first one does it)."""
    if not _startup.acquire(blocking=False):
        return
    try:
        deliver_notifications()
    except Exception:  # never keep a worker from starting; the sweep runs within the minute
        logger.exception("notify: could not queue the startup run")
