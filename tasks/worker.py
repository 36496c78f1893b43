"""The consumer's target: `huey_consumer tasks.worker.huey`. Importing every task module registers it."""

from tasks import (  # noqa: F401
    auth,
    backtests,
    billing,
    candles,
    email,
    execution,
    metrics,
    monitor,
    notify,
    payments,
    signals,
    spot,
    telegram,
    venues,
)
from tasks.app import huey

__all__ = ["huey"]
