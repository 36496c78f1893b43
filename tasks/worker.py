"""The consumer's target: `huey_consumer tasks.worker.huey`. Importing every task module registers it."""

import tasks.payments  # noqa: F401
from tasks import auth, backtests, candles, execution, metrics, monitor, signals, venues  # noqa: F401
from tasks.app import huey

__all__ = ["huey"]
