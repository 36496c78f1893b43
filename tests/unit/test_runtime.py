"""The composition root: one runtime per process (venues, cipher, price feed) built once from the settings,
an API with settings of its own gets its own, and the pipeline's event sink is resolved once, when first
used. Also the layering it exists for: the UI never imports the tasks, the backend neither."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from backend import runtime
from backend.api import create_api
from backend.api.deps import app_cipher, app_runtime, app_venues
from backend.config import Settings, get_settings
from backend.models.enums import ExecutionVenue
from backend.signals.dispatch import NoEvents
from tests.wallets import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


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


# One runtime per process, and one per API built with settings of its own.


def _settings(**overrides: object) -> Settings:
    return Settings(database_url="sqlite://", maxxit_secret_key=TEST_SECRET_KEY, **overrides)


@pytest.fixture
def fresh_runtime() -> Iterator[None]:
    runtime.forget()
    yield
    runtime.forget()


def test_the_process_runtime_builds_each_part_once(fresh_runtime: None) -> None:
    first = runtime.runtime()

    assert runtime.runtime() is first and first.settings is get_settings()
    assert runtime.venue_registry() is first.venues is runtime.venue_registry()
    assert runtime.wallet_cipher() is first.cipher is runtime.wallet_cipher()
    assert runtime.price_feed() is first.price_feed
    assert first.venues.get(ExecutionVenue.PAPER)._feed is first.price_feed, "paper quotes the one feed"


def test_threads_asking_at_once_share_one_build() -> None:
    parts = runtime.Runtime(_settings(), sa.create_engine("sqlite://"))
    start = threading.Barrier(4)
    built: list[object] = []

    def ask() -> None:
        start.wait()
        built.append(parts.venues)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == 4 and all(venues is built[0] for venues in built)


def test_new_settings_or_forget_build_a_new_runtime(
    fresh_runtime: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = runtime.runtime()
    runtime.forget()
    assert runtime.runtime() is not before

    kept = runtime.runtime()
    monkeypatch.setenv("PRICE_FEED_SEED", "11")
    get_settings.cache_clear()
    try:
        fresh = runtime.runtime()
        assert fresh is not kept and fresh.price_feed.seed == 11  # type: ignore[attr-defined]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_other_settings_get_a_runtime_of_their_own(fresh_runtime: None) -> None:
    assert runtime.runtime_for(get_settings()) is runtime.runtime()
    other = _settings(price_feed_seed=3)
    assert (
        runtime.runtime_for(other).settings is other and runtime.runtime_for(other) is not runtime.runtime()
    )


def test_apps_with_their_own_settings_build_their_own_parts(fresh_runtime: None) -> None:
    engine = sa.create_engine("sqlite://")
    one = create_api(engine=engine, settings=_settings(price_feed_seed=1))
    two = create_api(engine=engine, settings=_settings(price_feed_seed=2))
    default = create_api()

    assert app_runtime(one) is app_runtime(one) and app_venues(one) is app_venues(one)
    assert app_runtime(one).price_feed.seed == 1 and app_runtime(two).price_feed.seed == 2  # type: ignore[attr-defined]
    assert app_venues(one) is not app_venues(two) and app_cipher(one) is not app_cipher(two)
    assert app_runtime(one).engine is engine
    assert app_runtime(default) is runtime.runtime(), "the app's default API shares the UI's and tasks' parts"


# The layering the composition root exists for.


def _imported(package: str) -> dict[str, set[str]]:
    """Each module of `package` -> the modules it imports, late imports inside functions included."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[path.relative_to(ROOT).as_posix()] = names
    return found


def _importing(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} imports {name}"
        for module, names in _imported(package).items()
        for name in sorted(names)
        if name.split(".")[0] in forbidden
    ]


def test_the_ui_never_imports_the_tasks() -> None:
    assert _importing("maxxit_ui", ("tasks",)) == []


def test_the_backend_imports_neither_the_ui_nor_the_tasks() -> None:
    assert _importing("backend", ("maxxit_ui", "tasks")) == []
