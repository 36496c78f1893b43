"""The composition root: what a process builds once from its settings and the API, the UI states and the
tasks all ask for.

It holds the pipeline's event sink, how stored posts reach the workers. The sink is named in the settings
(`PIPELINE_EVENTS`, "module:attribute"; the task package's Huey queue by default) and resolved on first
use, so neither the backend nor the UI imports the task package, and importing the app loads no task code.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache

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
