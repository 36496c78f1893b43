"""Notification delivery on the queue: a commit that wrote events wakes `deliver_notifications`; a sweep
every minute runs the same consumer, so an event whose wake-up was lost waits at most a minute.

The senders are built once per worker process from the settings and the wallet cipher (which decrypts
webhook secrets). Trading never waits for any of this: it only writes the event row, and the enqueue after
its commit swallows failures (`backend.notify.events`).
"""

from __future__ import annotations

import logging
from functools import cache

from huey import crontab

from backend.config import get_settings
from backend.db import get_engine
from backend.execution.faults import fault_from_env
from backend.models.enums import NotificationChannel
from backend.notify.channels import Sender
from backend.notify.dispatch import DispatchReport, run_once
from backend.notify.senders import build_senders
from tasks.app import huey
from tasks.execution import cipher

logger = logging.getLogger(__name__)


@cache
def senders() -> dict[NotificationChannel, Sender]:
    return build_senders(get_settings(), cipher())


class HueyNotifyEvents:
    """Each commit that wrote events queues one consumer run (runs that find nothing cost two queries)."""

    def events_committed(self) -> None:
        deliver_notifications()


notify_events = HueyNotifyEvents()


def _run() -> DispatchReport:
    report = run_once(get_engine(), senders(), fault=fault_from_env())
    if report.fanned_out or report.sent or report.failed or report.dead or report.skipped:
        logger.info("notify: %s", report)
    return report


@huey.task()
def deliver_notifications() -> dict[str, int]:
    """Fan out new events and send everything due."""
    return vars(_run())


@huey.periodic_task(crontab(minute="*"))
def sweep_notifications() -> dict[str, int]:
    """Catch up on what a lost wake-up, a dead worker or a retry's due time left waiting."""
    return vars(_run())
