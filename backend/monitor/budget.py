"""Request weight: what each venue read costs, and a per-minute budget background jobs spend it from.

The weights and the venue's own ceiling are its declared capabilities (Hyperliquid allows 1200 weight per
minute per IP, shared by everything the platform sends from one address). A background job (reconciliation)
gets a slice of it, so the executor and the monitor never starve.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from backend.models.enums import ExecutionVenue
from backend.venues.capabilities import capabilities_of

WINDOW_SECONDS = 60.0


def read_weight(venue: ExecutionVenue | str, read: str) -> int:
    """The weight of one adapter read (`positions`, `mids`, `closing_fill` ...) at `venue`.

    Only a venue that declares read weights counts (Hyperliquid); the paper venue runs in-process and costs
    nothing. A read the venue's table does not know is a KeyError, so a new read cannot go uncounted.
    """
    declared = capabilities_of(venue)
    if declared is None or not declared.read_weights:
        return 0
    weight = declared.read_weights.get(read)
    if weight is None:
        raise KeyError(f"no request weight is known for the read {read!r} at {ExecutionVenue(venue)}")
    return weight


class Spender(Protocol):
    per_minute: int

    def try_spend(self, weight: int) -> bool: ...


class WeightBudget:
    """At most `per_minute` weight in any sliding 60-second window; thread-safe, one per process.

    `try_spend` either takes the whole weight or nothing, so a caller that is refused has sent nothing
    and simply tries again later.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: deque[tuple[float, int]] = deque()  # (when, weight), oldest first
        self._total = 0

    def try_spend(self, weight: int) -> bool:
        """Take `weight` if the last minute leaves room for it; False (and nothing taken) otherwise."""
        if weight < 0:
            raise ValueError("weight cannot be negative")
        if weight == 0:
            return True
        with self._lock:
            now = self._clock()
            self._expire(now)
            if self._total + weight > self.per_minute:
                return False
            self._spent.append((now, weight))
            self._total += weight
            return True

    def spent_last_minute(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return self._total

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - WINDOW_SECONDS:
            _, weight = self._spent.popleft()
            self._total -= weight

    def __repr__(self) -> str:
        return f"WeightBudget(per_minute={self.per_minute}, spent_last_minute={self.spent_last_minute()})"
