"""Notification delivery on the queue: a commit that wrote events wakes `deliver_notifications`; a sweep
every minute runs the same consumer, so an event whose wake-up was lost waits at most a minute.

After each run the worker schedules one more for when the next retry is due or a dead worker's claim
lapses (if within the minute), so a 5-second webhook retry does not wait for the sweep. A starting worker
runs once at once. The senders are built once per worker process from the settings and the wallet cipher.
Trading never waits for any of this: it only writes the event row, and the wake-up after its commit is
pushed to the queue by a background thread (a hung Redis holds that thread, for the connection's timeout,
never the committing one); a lost wake-up is caught by the sweep.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

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
    """Each commit that wrote events queues a consumer run, from a background thread: the committing
    thread only raises a flag. Commits made while a push is under way share the next one (a run fans out
    every waiting event), so a burst is a few pushes, and a queue that hangs holds no trading thread."""

    def __init__(self, enqueue: Callable[[], Any] | None = None) -> None:
        self._enqueue = enqueue or (lambda: deliver_notifications())
        self._pending = threading.Event()
        self._lock = threading.Lock()
        self._pid: int | None = None  # the process the pusher thread runs in (a fork has none)
        self.failures = 0  # pushes that failed (the sweep delivers their events)

    def events_committed(self) -> None:
        self._pending.set()
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._push_forever, name="notify-wake", daemon=True).start()

    def _push_forever(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self._enqueue()
            except Exception:  # a dead or hung queue: the periodic sweep delivers later
                self.failures += 1
                logger.warning("notify: could not wake the consumer; the sweep will deliver", exc_info=True)


notify_events = HueyNotifyEvents()


_state = threading.Lock()
_busy = {"running": False, "again": False}  # this process's consumer: one run at a time, woken again
_woken = threading.Event()  # a wake-up arrived while a run was going: it fans out again at once


def _run() -> dict[str, int]:
    """Run the consumer; when a run is already going in this process, ask it to go round once more.

    A burst of commits queues a wake-up each; they collapse into a few rounds instead of one run per event
    (other processes' runs go on in parallel, separated by the database's row locks).
    """
    with _state:
        if _busy["running"]:
            _busy["again"] = True
            _woken.set()
            return {}
        _busy["running"] = True
    total = DispatchReport()
    try:
        while True:
            with _state:
                _busy["again"] = False
            total.add(run_once(get_engine(), senders(), fault=_fault(), wake=_woken))
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
