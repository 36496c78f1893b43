"""The composition root: what a process builds once from its settings and the API, the UI states and the
tasks all ask for.

It holds the pipeline's event sink, how stored posts reach the workers (and likewise how new backtest
sweeps do, `BACKTEST_SWEEPS`). The sink is named in the settings
(`PIPELINE_EVENTS`, "module:attribute"; the task package's Huey queue by default) and resolved on first
use, so neither the backend nor the UI imports the task package, and importing the app loads no task code.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache
from typing import Protocol

from backend.backtest.sweep import NoQueue, SweepQueue
from backend.config import get_settings
from backend.signals.dispatch import NoEvents, PipelineEvents


@cache
def pipeline_events() -> PipelineEvents:
    """The configured sink, built once per process; `NoEvents` when none is configured."""
    path = get_settings().pipeline_events
    if not path:
        return NoEvents()
    module, _, attribute = path.partition(":")
    sink = getattr(importlib.import_module(module), attribute)
    if not callable(getattr(sink, "posts_stored", None)):
        raise TypeError(f"PIPELINE_EVENTS={path} has no posts_stored(post_ids)")
    return sink


class ConfiguredEvents:
    """A `PipelineEvents` that hands each call to the configured sink, resolving it on first use."""

    def posts_stored(self, post_ids: Sequence[int]) -> None:
        pipeline_events().posts_stored(post_ids)


configured_events = ConfiguredEvents()


@cache
def sweep_queue() -> SweepQueue:
    """The configured queue of new sweeps, built once per process; `NoQueue` when none is configured."""
    path = get_settings().backtest_sweeps
    if not path:
        return NoQueue()
    module, _, attribute = path.partition(":")
    queue = getattr(importlib.import_module(module), attribute)
    if not callable(getattr(queue, "sweep_created", None)):
        raise TypeError(f"BACKTEST_SWEEPS={path} has no sweep_created(run_id)")
    return queue


class ConfiguredSweeps:
    """A `SweepQueue` that hands each new sweep to the configured queue, resolving it on first use."""

    def sweep_created(self, run_id: int) -> None:
        sweep_queue().sweep_created(run_id)


configured_sweeps = ConfiguredSweeps()


class NotifyEvents(Protocol):
    """Told after a transaction that wrote notification events commits (the consumer should run)."""

    def events_committed(self) -> None: ...


class NoNotifyEvents:
    """No sink configured: the consumer's periodic sweep delivers the events."""

    def events_committed(self) -> None:
        return None


@cache
def notify_events() -> NotifyEvents:
    """The configured sink (`NOTIFY_EVENTS`), built once per process; `NoNotifyEvents` when none is set."""
    path = get_settings().notify_events
    if not path:
        return NoNotifyEvents()
    module, _, attribute = path.partition(":")
    sink = getattr(importlib.import_module(module), attribute)
    if not callable(getattr(sink, "events_committed", None)):
        raise TypeError(f"NOTIFY_EVENTS={path} has no events_committed()")
    return sink
