"""Agent figures, daily snapshots and impact factors: thin wrappers over backend.metrics."""

from __future__ import annotations

import logging

from huey import crontab

from backend.config import get_settings
from backend.db import session_scope
from backend.metrics.daily import run_daily_metrics
from backend.metrics.service import refresh_agent_metrics, refresh_all_agent_metrics
from tasks.app import huey

logger = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=5)
def refresh_agent_metrics_task(agent_id: int) -> int:
    """Recompute one agent's figures; returns its closed-trade count."""
    with session_scope() as session:
        return refresh_agent_metrics(session, agent_id).trades_count


@huey.periodic_task(crontab(minute=f"*/{get_settings().metrics_refresh_minutes}"))
@huey.lock_task("refresh-all-agent-metrics")
def refresh_all_agent_metrics_task() -> int:
    """Rolling windows (APR 30d, Sharpe) move with the calendar even when nothing trades."""
    with session_scope() as session:
        return refresh_all_agent_metrics(session)


@huey.task(retries=3, retry_delay=60)
@huey.lock_task("daily-metrics")
def write_daily_metrics_task() -> int:
    """Yesterday's PnL snapshots made final (and today's so far), impact factors recomputed; returns the
    snapshots written. Idempotent per deployment and day, so a retry or a second run changes nothing."""
    with session_scope() as session:
        return run_daily_metrics(session)


@huey.periodic_task(crontab(minute="5", hour="0"))
def daily_metrics_task() -> None:
    """Just after midnight UTC: queue the daily run as a normal task, which retries and keeps its result."""
    write_daily_metrics_task()
