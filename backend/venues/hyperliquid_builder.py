"""The platform's Hyperliquid builder fee: which entry orders may carry `builder {b, f}`.

Hyperliquid refuses an order naming a builder the user has not approved, even at fee 0, so the field goes
only on orders of users whose approved maximum (`maxBuilderFee`) is at least the fee. That maximum is read
once per user per `ttl` seconds (one info request of weight 20), and forgotten when Hyperliquid says the
approval is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.venues.base import VenueError
from backend.wallets.builder_fee import max_builder_fee

logger = logging.getLogger(__name__)

BUILDER_TTL_SECONDS = 300.0
NOT_APPROVED = "builder fee has not been approved"


@dataclass(frozen=True)
class BuilderFee:
    """The platform as Hyperliquid builder: its address and the fee per order in tenths of a basis point."""

    address: str
    tenths_bps: int


class BuilderApprovals:
    """Per user, the `builder` field their entry orders carry (or None), from a cached maxBuilderFee."""

    def __init__(
        self,
        base_url: str,
        builder: BuilderFee,
        *,
        timeout: float,
        ttl: float = BUILDER_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self.builder = BuilderFee(builder.address.lower(), builder.tenths_bps)
        self.timeout = timeout
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._approved: dict[str, tuple[int, float]] = {}  # user -> (maxBuilderFee, read at)

    def order_field(self, user: str) -> dict[str, Any] | None:
        """`{b, f}` while `user` approved at least the fee; None otherwise, or when it cannot be read now
        (the order then goes without it and the platform bills its own trade fee: never a failed order)."""
        key = user.lower()
        with self._lock:
            cached = self._approved.get(key)
        if cached is None or self._clock() - cached[1] >= self.ttl:
            try:
                approved = max_builder_fee(self.base_url, key, self.builder.address, timeout=self.timeout)
            except VenueError as error:
                logger.warning("maxBuilderFee of %s unreadable (%s); ordering without the fee", key, error)
                return None
            cached = self._remember(key, approved)
        fee = self.builder.tenths_bps
        if cached[0] <= 0 or cached[0] < fee:
            return None
        return {"b": self.builder.address, "f": fee}

    def revoked(self, user: str) -> None:
        """Hyperliquid refused an order for the fee: the user withdrew the approval since it was read."""
        self._remember(user.lower(), 0)

    def _remember(self, user: str, approved: int) -> tuple[int, float]:
        entry = (approved, self._clock())
        with self._lock:
            self._approved[user] = entry
        return entry


def refused_for_the_fee(error: VenueError) -> bool:
    return NOT_APPROVED in error.reason.lower()
