"""Named crash points, so the exactly-once tests can kill a worker at the worst moment.

`MAXXIT_CRASH_AT=after_fill` with `MAXXIT_CRASH_MARKER=<path>` makes the process exit abruptly the first
time it reaches that point (the marker file records that it did). The points: `after_submit` (the venue has
the order, its `venue_orders` row does not know yet; execution.orders) and `after_fill` (the order filled,
its position is not recorded yet; execution.service and the paper batch). Unset, as everywhere but
those tests, nothing happens.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

CRASH_EXIT_CODE = 86


def no_fault(point: str) -> None:
    """The production behaviour: no crash points."""


def fault_from_env() -> Callable[[str], None]:
    point, marker = os.environ.get("MAXXIT_CRASH_AT"), os.environ.get("MAXXIT_CRASH_MARKER")
    if not point or not marker:
        return no_fault
    marker_path = Path(marker)

    def crash(reached: str) -> None:
        if reached != point or marker_path.exists():
            return
        marker_path.write_text(reached)
        logger.warning("crash point %s reached: exiting without cleanup", reached)
        os._exit(CRASH_EXIT_CODE)

    return crash
