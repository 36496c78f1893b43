"""How stored posts reach the workers without the backend importing the task package.

The app that owns a queue (the Reflex app, the workers) passes an implementation in; without one
nothing is enqueued and the periodic sweep picks the posts up a little later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PipelineEvents(Protocol):
    def posts_stored(self, post_ids: Sequence[int]) -> None: ...


class NoEvents:
    """Enqueue nothing; the sweep finishes the work."""

    def posts_stored(self, post_ids: Sequence[int]) -> None:
        return None
