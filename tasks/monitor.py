"""Monitor tasks: the exit checks every few seconds under a lease, closes with retries, reconciliation.

Huey's schedule is per minute, so the monitor task holds the "monitor" lease and runs a cycle every
MONITOR_INTERVAL_SECONDS for just under a minute; the next minute's run (in any worker process) renews or
takes the lease. A holder that dies stops renewing it, and the lease lapses after three intervals.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from functools import cache

from huey import crontab
from sqlmodel import Session

from backend.backtest.sources import records_candles
from backend.backtest.stored_candles import feed_source
from backend.billing.trade_fee import fee_policy
from backend.config import get_settings
from backend.db import get_engine
from backend.models.common import utcnow
from backend.monitor.budget import WeightBudget
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor, prune_ticks
from backend.monitor.lease import acquire_lease, release_lease
from backend.monitor.reconcile import reconcile_due
from backend.runtime import price_feed, venue_registry, wallet_cipher
from backend.venues.base import TemporaryVenueError
from tasks.app import huey

logger = logging.getLogger(__name__)

MONITOR_LEASE = "monitor"
LOOP_SECONDS = 57  # leave the minute's next run room to start


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@cache
def _monitor() -> Monitor:
    hours = get_settings().monitor_time_limit_hours
    return Monitor(
        venue_registry(),
        close=lambda position_id: close_position_task(position_id),
        time_limit=timedelta(hours=hours) if hours else None,
        holder=_holder(),
    )


@huey.task()
def close_position_task(position_id: int) -> str | None:
    """Finish one CLOSING position. On a venue hiccup it stays CLOSING: the next cycle hands it out again."""
    settings = get_settings()
    try:
        with Session(get_engine(), expire_on_commit=False) as session:
            position = finish_close(
                session,
                position_id,
                venues=venue_registry(),
                cipher=wallet_cipher(),
                fees=fee_policy(settings),
            )
    except TemporaryVenueError as error:
        logger.warning("closing position %s: %s; the next cycle retries", position_id, error.reason)
        return None
    return None if position is None else position.status


@huey.periodic_task(crontab(minute="*"))
def monitor_task() -> int:
    """Run cycles for about a minute while holding the monitor lease; returns how many ran."""
    interval = get_settings().monitor_interval_seconds
    ttl = timedelta(seconds=interval * 3)
    holder, deadline, cycles = _holder(), time.monotonic() + LOOP_SECONDS, 0
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            while time.monotonic() < deadline:
                started = time.monotonic()
                # Someone else holding the lease is monitoring; keep asking, it may be the last minute's run.
                if acquire_lease(session, MONITOR_LEASE, holder, ttl, utcnow()):
                    try:
                        _monitor().run_cycle(session)
                        cycles += 1
                    except Exception:  # one bad cycle must not end monitoring; the next one retries
                        session.rollback()
                        logger.exception("monitor cycle failed")
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            release_lease(session, MONITOR_LEASE, holder, utcnow())
    return cycles


@huey.periodic_task(crontab(minute="23"))
def prune_ticks_task() -> int:
    """Old ticks go; with a live feed only those already rolled up into bars (tasks/candles.py)."""
    settings = get_settings()
    rolled_into = feed_source(price_feed()) if records_candles(settings) else None
    with Session(get_engine(settings.database_url)) as session:
        return prune_ticks(session, utcnow(), rolled_into=rolled_into)


@cache
def _reconcile_budget() -> WeightBudget:
    """The request weight reconciliation may spend per minute (one reconciler at a time: the task lock)."""
    return WeightBudget(get_settings().reconcile_weight_per_minute)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("reconcile")
def reconcile_task() -> int:
    """Venue accounts against our positions, the deployments most overdue first, within the weight budget."""
    interval = timedelta(seconds=get_settings().reconcile_interval_seconds)
    with Session(get_engine(), expire_on_commit=False) as session:
        report = reconcile_due(
            session, venue_registry(), _reconcile_budget(), now=utcnow(), interval=interval
        )
    return len(report.findings)
