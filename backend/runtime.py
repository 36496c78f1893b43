"""The composition root: what a process builds once from its settings and the API, the UI states and the
tasks all ask for.

`runtime()` is the process's `Runtime`: the venue registry (the paper venue on the price feed, the
Hyperliquid client, the spot venue when ARBITRUM_RPC_URL names a chain), the agent-wallet cipher and the
price feed, each built on first use and then shared, so adapters keep their market caches and per-signer
nonces and the wallet-key secret is derived once. An API built with its own settings or engine (tests,
several apps in one process) holds a `Runtime` of its own.

It also holds the pipeline's event sink, how stored posts reach the workers (and likewise how new backtest
sweeps do, `BACKTEST_SWEEPS`). The sink is named in the settings
(`PIPELINE_EVENTS`, "module:attribute"; the task package's Huey queue by default) and resolved on first
use, so neither the backend nor the UI imports the task package, and importing the app loads no task code.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy import Engine

from backend.config import Settings, get_settings
from backend.db import get_engine
from backend.prices.factory import build_price_feed
from backend.prices.feed import PriceFeed
from backend.signals.dispatch import NoEvents, PipelineEvents
from backend.venues.registry import VenueRegistry, build_venues
from backend.wallets.keys import WalletCipher

if TYPE_CHECKING:  # the sweep module imports the backtest sources, which ask this module for the feed
    from backend.backtest.sweep import SweepQueue

T = TypeVar("T")


class Runtime:
    """What one set of settings and one database build, each part once, on first use.

    Parts are built lazily (the Hyperliquid SDK import is heavy; importing the app builds nothing) and
    under a lock, since API requests and UI handlers ask from a thread pool.
    """

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._lock = threading.RLock()  # re-entrant: the registry asks for the price feed while building
        self._parts: dict[str, object] = {}

    @property
    def engine(self) -> Engine:
        """The engine given, else the process's engine for the settings' database."""
        return self._engine or get_engine(self.settings.database_url)

    @property
    def price_feed(self) -> PriceFeed:
        return self._once("price_feed", lambda: build_price_feed(self.settings))

    @property
    def venues(self) -> VenueRegistry:
        return self._once("venues", lambda: build_venues(self.settings, self.engine, self.price_feed))

    @property
    def cipher(self) -> WalletCipher:
        """The agent-wallet key cipher: it holds the secret, so it stays on the server, not in a state var."""
        return self._once("cipher", lambda: WalletCipher.from_settings(self.settings))

    def _once(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part  # type: ignore[return-value]


_process: Runtime | None = None
_process_lock = threading.Lock()


def runtime() -> Runtime:
    """The process's runtime, built from the process's settings on first use.

    Settings are read once per process (`get_settings` is cached); when a test clears that cache and the
    settings change, the next call builds a fresh runtime on them rather than serving stale venues.
    """
    global _process
    settings = get_settings()
    current = _process
    if current is None or current.settings is not settings:
        with _process_lock:
            current = _process
            if current is None or current.settings is not settings:
                current = _process = Runtime(settings)
    return current


def venue_registry() -> VenueRegistry:
    """The process's venue registry (what the UI's handlers and the workers trade through)."""
    return runtime().venues


def wallet_cipher() -> WalletCipher:
    """The process's agent-wallet key cipher."""
    return runtime().cipher


def price_feed() -> PriceFeed:
    """The process's price feed."""
    return runtime().price_feed


def runtime_for(settings: Settings) -> Runtime:
    """The process's runtime when `settings` are the process's, else a runtime of their own (a tool or an
    API built with other settings)."""
    current = runtime()
    return current if settings is current.settings else Runtime(settings)


def forget() -> None:
    """Build everything again on next use (tests that change settings or sinks between apps)."""
    global _process
    with _process_lock:
        _process = None
    pipeline_events.cache_clear()
    sweep_queue.cache_clear()
    notify_events.cache_clear()


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
    from backend.backtest.sweep import NoQueue

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
