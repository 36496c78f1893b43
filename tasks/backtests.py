"""Backtest sweeps on the workers: thin wrappers over `backend.backtest.sweep`.

A sweep row is queued by the API or the page; `run_sweep_task` fills its cells. A worker that dies mid-way
loses the message, so a starting worker queues every unfinished sweep again, and a periodic pass queues
those that were never picked up (the queue was down when they were made); the row itself makes a second
run of the same sweep resume rather than repeat.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from huey import crontab

from backend.backtest.sweep import SweepNotFound, run_sweep, unfinished_sweeps
from backend.db import session_scope
from backend.models.common import utcnow
from tasks.app import huey

logger = logging.getLogger(__name__)

# A queued sweep nobody started after this long was never enqueued (or its message was lost).
STALE_QUEUED = timedelta(minutes=5)

_started = threading.Lock()  # held for good by the first worker thread to start: one pick-up per process


@huey.task(retries=3, retry_delay=10)
def run_sweep_task(run_id: int) -> str:
    """Fill one sweep's cells; returns its status. Database hiccups are retried, resuming where it stood."""
    try:
        with session_scope() as session:
            return run_sweep(session, run_id).status
    except SweepNotFound:
        logger.warning("sweep %s vanished before it ran", run_id)
        return "missing"


class HueySweepQueue:
    """What BACKTEST_SWEEPS names by default: each new sweep becomes a task."""

    def sweep_created(self, run_id: int) -> None:
        run_sweep_task(run_id)


sweep_queue = HueySweepQueue()


@huey.on_startup()
def resume_sweeps_on_start() -> None:
    """Queue every unfinished sweep again once per starting process (its worker may have died with it)."""
    if not _started.acquire(blocking=False):
        return
    with session_scope() as session:
        ids = unfinished_sweeps(session)
    for run_id in ids:
        run_sweep_task(run_id)


@huey.periodic_task(crontab(minute="*/5"))
@huey.lock_task("resume-queued-sweeps")
def resume_queued_sweeps_task() -> int:
    """Sweeps still queued long after they were made were never enqueued: queue them now."""
    with session_scope() as session:
        ids = unfinished_sweeps(session, created_before=utcnow() - STALE_QUEUED, status="queued")
    for run_id in ids:
        run_sweep_task(run_id)
    return len(ids)
