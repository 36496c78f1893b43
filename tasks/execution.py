"""Execution tasks: signals fan out in chunks of (signal, deployment) pairs; venue hiccups retry with backoff.

The executor is built once per worker process, on the process's venues and wallet cipher (`backend.runtime`).
A worker that dies mid-execution loses its queue message, so a sweep (every minute, and once when a worker
starts) hands out again every execution left claimed but unfinished: the executor then asks the venue before
ordering.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import cache

from huey import crontab
from huey.exceptions import RetryTask
from sqlmodel import Session, select

from backend.billing.trade_fee import fee_policy
from backend.config import get_settings
from backend.db import get_engine, session_scope
from backend.execution.dispatch import deployments_for_signals, find_unfinished_executions
from backend.execution.faults import fault_from_env
from backend.execution.service import ExecutionOutcome, Executor
from backend.models import SignalExecution
from backend.models.common import utcnow
from backend.runtime import venue_registry, wallet_cipher
from backend.venues.base import TemporaryVenueError
from tasks.app import huey

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60


@cache
def _executor() -> Executor:
    """One executor per worker process, on the process's venues (adapters cache markets and keep
    per-signer nonces) and cipher."""
    settings = get_settings()
    return Executor(
        venue_registry(),
        wallet_cipher(),
        max_attempts=settings.execution_max_attempts,
        concurrency=settings.execution_concurrency,
        fault=fault_from_env(),
        fees=fee_policy(settings),
    )


def backoff_seconds(attempt: int) -> int:
    """1, 2, 4, 8 ... seconds, at most a minute."""
    return min(2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


@huey.task(retries=3, retry_delay=1)
def execute_signal_task(signal_id: int) -> int:
    """Hand one signal to every deployment of its agent; returns how many."""
    return fan_out([signal_id])


@huey.task(retries=3, retry_delay=1)
def execute_signals_task(signal_ids: list[int]) -> int:
    """Hand one post's signals to every deployment of their agents together; returns how many pairs.

    Chunks mix the signals, so 20 agents with 10 deployments each cost a few chunks rather than 20.
    """
    return fan_out(signal_ids)


def fan_out(signal_ids: list[int]) -> int:
    """`EXECUTION_CHUNK_SIZE` (signal, deployment) pairs per chunk task; the last chunk runs right here,
    which for most posts (one chunk) saves a trip through the queue."""
    with session_scope() as session:
        pairs = deployments_for_signals(session, signal_ids)
    for chunk in hand_out(pairs, keep_last=True):
        run_chunk(chunk)
    return len(pairs)


def hand_out(pairs: list[tuple[int, int]], *, keep_last: bool = False) -> list[list[tuple[int, int]]]:
    """Enqueue a chunk task per `EXECUTION_CHUNK_SIZE` pairs; the last chunk is returned when `keep_last`."""
    size = get_settings().execution_chunk_size
    chunks = [pairs[start : start + size] for start in range(0, len(pairs), size)]
    kept = chunks[-1:] if keep_last else []
    for chunk in chunks[: len(chunks) - len(kept)]:
        execute_chunk_task(chunk)
    return kept


@huey.task(retries=3, retry_delay=1)
def execute_chunk_task(pairs: list[tuple[int, int]]) -> dict[str, int]:
    """Open the trades of a chunk of (signal, deployment) pairs (see execution.batch); counts by outcome."""
    return run_chunk(pairs)


def run_chunk(pairs: list[tuple[int, int]]) -> dict[str, int]:
    """A pair whose venue asked to try again later goes on as its own task, with backoff."""
    with Session(get_engine(), expire_on_commit=False) as session:
        result = _executor().execute_pairs(session, [(s, d) for s, d in pairs])
    for (signal_id, deployment_id), reason in result.retry.items():
        delay = backoff_seconds(_attempts(signal_id, deployment_id))
        logger.warning(
            "execution of signal %s for deployment %s: %s; retrying in %ss",
            signal_id,
            deployment_id,
            reason,
            delay,
        )
        execute_for_deployment_task.schedule((signal_id, deployment_id), delay=delay)
    counts: dict[str, int] = {}
    for outcome in result.outcomes.values():
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return counts


@huey.task(context=True)
def execute_for_deployment_task(signal_id: int, deployment_id: int, task=None) -> str:
    """Open one deployment's trade for one signal; the execution row counts attempts, not Huey."""
    try:
        with Session(get_engine(), expire_on_commit=False) as session:
            outcome: ExecutionOutcome = _executor().execute(session, signal_id, deployment_id)
    except TemporaryVenueError as error:
        delay = backoff_seconds(_attempts(signal_id, deployment_id))
        logger.warning(
            "execution of signal %s for deployment %s: %s; retrying in %ss",
            signal_id,
            deployment_id,
            error.reason,
            delay,
        )
        raise RetryTask(error.reason, delay=delay) from error
    return outcome.status.value


def _attempts(signal_id: int, deployment_id: int) -> int:
    with Session(get_engine()) as session:
        attempts = session.exec(
            select(SignalExecution.attempts).where(
                SignalExecution.signal_id == signal_id, SignalExecution.deployment_id == deployment_id
            )
        ).first()
    return attempts or 1


def sweep_executions(grace: timedelta) -> int:
    with session_scope() as session:
        unfinished = find_unfinished_executions(session, now=utcnow(), grace=grace)
    for signal_id in unfinished.signals:
        execute_signal_task(signal_id)
    hand_out(sorted(unfinished.executions))
    handed_out = len(unfinished.signals) + len(unfinished.executions)
    if handed_out:
        logger.info("execution sweep handed out %d signal(s)/execution(s)", handed_out)
    return handed_out


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("execution-sweep")
def sweep_executions_task() -> int:
    return sweep_executions(timedelta(seconds=get_settings().signal_sweep_grace_seconds))


_startup_sweep = threading.Lock()


@huey.on_startup()
def finish_after_restart() -> None:
    """A worker starting after a crash picks up what the crash left, without waiting for the sweep.

    Huey calls this in every worker thread; the first one to get here sweeps, the others go to work.
    """
    if not _startup_sweep.acquire(blocking=False):
        return
    try:
        sweep_executions(timedelta(0))
    except Exception:  # never keep a worker from starting; the periodic sweep tries again
        logger.exception("startup execution sweep failed")
