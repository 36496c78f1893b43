"""Fixed-window rate limits: sign-in requests per client IP, failed verifications per (IP, wallet), and the
per-user quotas other features count with the same counters (`check_quota`, e.g. backtests a minute).

Asking for a nonce spends only the caller's IP budget: counting nonces per wallet let anyone lock a wallet
out by naming its address. Failed verifications are counted per (IP, wallet), so guessing at one wallet
from one network is slowed without a stranger's failures locking its owner out.

With REDIS_URL the counters live in Redis, so every app worker shares them; the embedded mode runs one
process and counts in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

import redis

from backend.auth.errors import RateLimited
from backend.config import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class Counter(Protocol):
    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one hit; return (hits in the current window, seconds until it ends)."""
        ...

    def peek(self, key: str, window_seconds: int) -> tuple[int, int]:
        """(hits in the current window, seconds until it ends), without counting one."""
        ...


class MemoryCounter:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, hits)

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        with self._lock:
            if len(self._windows) > 100_000:  # old windows of one-off IPs; drop them all rather than grow
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            seen, hits = self._windows.get(key, (window, 0))
            hits = hits + 1 if seen == window else 1
            self._windows[key] = (window, hits)
        return hits, int((window + 1) * window_seconds - now) + 1

    def peek(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        with self._lock:
            seen, hits = self._windows.get(key, (window, 0))
        return (hits if seen == window else 0), int((window + 1) * window_seconds - now) + 1


class RedisCounter:
    def __init__(self, client: redis.Redis, prefix: str = "maxxit:ratelimit:", clock: Clock = time.time):
        self._client = client
        self._prefix = prefix
        self._clock = clock

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        redis_key = f"{self._prefix}{key}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 1)
        hits, _ = pipe.execute()
        return int(hits), int((window + 1) * window_seconds - now) + 1

    def peek(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        hits = self._client.get(f"{self._prefix}{key}:{window}")
        return int(hits or 0), int((window + 1) * window_seconds - now) + 1


class AuthRateLimiter:
    def __init__(self, counter: Counter, *, per_ip: int, per_address: int, window_seconds: int) -> None:
        self._counter = counter
        self._per_ip = per_ip
        self._per_address = per_address
        self._window = window_seconds

    def check(self, *, ip: str | None) -> None:
        """Count this request; RateLimited once the IP is over its limit for the window."""
        if ip:
            self._enforce(f"ip:{ip}", self._per_ip, "too many sign-in attempts from your network")

    def check_failures(self, *, ip: str | None, address: str | None) -> None:
        """RateLimited while this IP has failed to sign in as this wallet too often in the window."""
        hits, retry_after = self._counter.peek(self._failure_key(ip, address), self._window)
        if hits >= self._per_address:
            logger.warning("auth rate limit hit for failed sign-ins (%d in window)", hits)
            message = f"too many failed sign-ins for this wallet; try again in {retry_after} s"
            raise RateLimited(message, retry_after)

    def record_failure(self, *, ip: str | None, address: str | None) -> None:
        """Count one refused verification against this (IP, wallet)."""
        self._counter.hit(self._failure_key(ip, address), self._window)

    @staticmethod
    def _failure_key(ip: str | None, address: str | None) -> str:
        return f"fail:{ip or '-'}:{(address or '-').lower()[:64]}"

    def _enforce(self, key: str, limit: int, message: str) -> None:
        check_quota(self._counter, key, limit=limit, window_seconds=self._window, message=message)


def check_quota(counter: Counter, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Count one hit on `key`; RateLimited (429 with Retry-After) once it is over `limit` in the window."""
    hits, retry_after = counter.hit(key, window_seconds)
    if hits > limit:
        logger.warning("rate limit hit for %s (%d in window)", key.split(":")[0], hits)
        raise RateLimited(f"{message}; try again in {retry_after} s", retry_after)


def build_counter(settings: Settings) -> Counter:
    """Redis when REDIS_URL is set (every worker shares the counts), else this process's memory."""
    return RedisCounter(redis.Redis.from_url(settings.redis_url)) if settings.redis_url else MemoryCounter()


@lru_cache(maxsize=8)
def shared_counter(redis_url: str | None) -> Counter:
    """The process-wide counter for a Redis URL (or memory): in-memory counts are shared or count nothing."""
    return build_counter(Settings(redis_url=redis_url))


def build_rate_limiter(settings: Settings, counter: Counter | None = None) -> AuthRateLimiter:
    return AuthRateLimiter(
        counter or build_counter(settings),
        per_ip=settings.auth_rate_limit_per_ip,
        per_address=settings.auth_rate_limit_per_address,
        window_seconds=settings.auth_rate_limit_window_seconds,
    )


@lru_cache(maxsize=8)
def _cached(redis_url: str | None, per_ip: int, per_address: int, window: int) -> AuthRateLimiter:
    settings = Settings(
        redis_url=redis_url,
        auth_rate_limit_per_ip=per_ip,
        auth_rate_limit_per_address=per_address,
        auth_rate_limit_window_seconds=window,
    )
    return build_rate_limiter(settings)


def auth_rate_limiter(settings: Settings) -> AuthRateLimiter:
    """The process-wide limiter for these settings (in-memory counters must be shared to count at all)."""
    return _cached(
        settings.redis_url,
        settings.auth_rate_limit_per_ip,
        settings.auth_rate_limit_per_address,
        settings.auth_rate_limit_window_seconds,
    )
