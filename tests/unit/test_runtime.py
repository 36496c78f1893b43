"""The runtime resolves the pipeline's event sink from the settings, once, and only when first used."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence

import pytest
from pydantic import ValidationError

from backend import runtime
from backend.config import Settings, get_settings
from backend.signals.dispatch import NoEvents


class Recorder:
    def __init__(self) -> None:
        self.stored: list[int] = []

    def posts_stored(self, post_ids: Sequence[int]) -> None:
        self.stored.extend(post_ids)


RECORDER = Recorder()
NOT_A_SINK = object()


@pytest.fixture
def sink_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    runtime.pipeline_events.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    runtime.pipeline_events.cache_clear()


def test_the_configured_sink_gets_the_stored_posts(sink_setting: pytest.MonkeyPatch) -> None:
    sink_setting.setenv("PIPELINE_EVENTS", f"{__name__}:RECORDER")

    runtime.configured_events.posts_stored([7, 8])

    assert RECORDER.stored[-2:] == [7, 8]
    assert runtime.pipeline_events() is RECORDER


def test_no_sink_configured_queues_nothing(sink_setting: pytest.MonkeyPatch) -> None:
    sink_setting.setenv("PIPELINE_EVENTS", "")

    assert isinstance(runtime.pipeline_events(), NoEvents)


def test_a_sink_without_posts_stored_is_refused_by_name(sink_setting: pytest.MonkeyPatch) -> None:
    sink_setting.setenv("PIPELINE_EVENTS", f"{__name__}:NOT_A_SINK")

    with pytest.raises(TypeError, match="NOT_A_SINK"):
        runtime.pipeline_events()


@pytest.mark.parametrize("value", ["tasks.signals", "tasks signals:x", ":attr", "os:system()"])
def test_a_malformed_sink_path_is_a_settings_error(value: str) -> None:
    with pytest.raises(ValidationError, match="pipeline_events"):
        Settings(pipeline_events=value)


def test_the_default_is_the_worker_queue_and_importing_the_app_side_loads_no_task_code() -> None:
    assert Settings().pipeline_events == "tasks.signals:pipeline_events"
    probe = (
        "import sys, backend.runtime, backend.api; "
        "print(sorted(m for m in sys.modules if m.startswith('tasks')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
