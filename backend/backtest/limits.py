"""Per-user quotas on backtests and sweeps, counted like sign-in attempts (Redis when REDIS_URL is set).

A backtest costs up to half a second of a worker thread and a sweep a hundred of them: the API and the
pages count both per user, so one trader cannot occupy the platform.
"""

from __future__ import annotations

from backend.auth.ratelimit import Counter, check_quota
from backend.config import Settings

MINUTE = 60
HOUR = 3600


def count_backtest(counter: Counter, settings: Settings, user_id: int) -> None:
    """One backtest asked; RateLimited (429, Retry-After) over BACKTESTS_PER_MINUTE."""
    check_quota(
        counter,
        f"backtest:{user_id}",
        limit=settings.backtests_per_minute,
        window_seconds=MINUTE,
        message=f"at most {settings.backtests_per_minute} backtests a minute",
    )


def count_sweep(counter: Counter, settings: Settings, user_id: int) -> None:
    """One sweep started; RateLimited (429, Retry-After) over SWEEPS_PER_HOUR."""
    check_quota(
        counter,
        f"sweep:{user_id}",
        limit=settings.sweeps_per_hour,
        window_seconds=HOUR,
        message=f"at most {settings.sweeps_per_hour} sweeps an hour",
    )
