"""Browser-test fixtures: a seeded SQLite database, the real Reflex app on it, and the system Chromium.

The app is started with reflex.testing.AppHarnessProd: the frontend is exported (as `reflex run --env prod`
does) and served statically, so no Vite dev server re-optimises and reloads pages mid-test. The export is
shared: a start whose compiled frontend matches one already built this session serves that build
(tests/e2e/builds.py, harness.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session

from backend.config import get_settings
from backend.db import get_engine, make_engine
from backend.demo.seed import seed_demo
from backend.models.enums import Venue
from backend.toolchain import reflex_environment
from tests.e2e.builds import SessionBuilds, summarise_starts
from tests.e2e.frames import Frames
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory
from tests.migrated import database_copy, migrated_pg_database, migrated_sqlite

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGE = "maxxit_ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
E2E_SECRET_KEY = "e2e-only-secret-key-0123456789abcdef"  # >= 32 characters, like production's
E2E_SIGN_INS_PER_IP = 10_000
# The first page of a freshly exported app loads its JS bundles; later steps are much faster.
expect.set_options(timeout=20_000)


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What the tests look for: two public agents on two venues, one with a closed trade."""

    url: str
    hyper_id: int
    hyper_name: str
    gmx_id: int
    gmx_name: str
    handle: str


def _reflex_environment(mp: pytest.MonkeyPatch) -> None:
    """What the Makefile exports, so `pytest tests/e2e` also works when run without make."""
    for name, value in reflex_environment().items():
        if os.environ.get(name) != value:
            mp.setenv(name, value)
    if shutil.which("bun") is None:
        pytest.fail("bun is not on PATH: run `make bootstrap` (npm install --prefix tools bun@1.4.4)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")


def _forget_app_modules() -> None:
    """Let every harness import the whole app afresh.

    AppHarness re-imports only the app module and registers states in a fresh registration context, so
    states defined in other modules (maxxit_ui.state.*) that an earlier harness or test already imported
    would be missing from the second app in this process. Dropping the package's modules and their
    states makes the next import define and register all of them again.
    """
    from reflex.state import reload_state_module

    for name in [m for m in sys.modules if m == APP_PACKAGE or m.startswith(f"{APP_PACKAGE}.")]:
        reload_state_module(module=name)
        del sys.modules[name]


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()


@contextlib.contextmanager
def _database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the backend's kind migrated to head (a copy of the session's template, see
    tests/migrated.py), for this module's app alone."""
    if backend == "postgres":
        with migrated_pg_database("maxxit_e2e") as url:
            yield url
    else:
        yield migrated_sqlite(tmp_path_factory.mktemp("e2e") / "maxxit.db")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The app's database, seeded; every browser test runs once on SQLite and once on PostgreSQL."""
    with _database(request.param, tmp_path_factory) as url:
        yield _seed(url)


def _seed(url: str) -> Seeded:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        f = Factory(session)
        caller = f.ct_account(handle="e2e_caller", display_name="E2E Caller", followers_count=12_000)
        hyper = f.agent(
            name="Hyper Momentum",
            venue=Venue.HYPERLIQUID,
            follows=[caller],
            description="Follows momentum calls on Hyperliquid perps.",
            weight_tweet=70,
            weight_momentum=55,
            weight_volatility=10,
            trades_count=1,
            win_rate=Decimal("1"),
            apr_30d=Decimal("0.245"),  # a fraction: "+24.5%" on screen
            sharpe_30d=Decimal("1.9"),
            total_pnl=Decimal("42.00"),
        )
        gmx = f.agent(name="GMX Swing", venue=Venue.GMX, follows=[caller], weight_rsi=80, weight_macd=40)
        f.closed_position(f.deployment(hyper), Decimal("42.00"), market="ETH", entry_price=Decimal("3000"))
        seeded = Seeded(url, hyper.id, hyper.name, gmx.id, gmx.name, caller.handle)
    engine.dispose()
    return seeded


class DemoDatabases:
    """Per backend, a database with `_seed`'s rows and the whole demo seeded, made once this session; each
    module that needs the demo gets a copy (the 90-day seed takes tens of seconds, a copy about one)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, stack: contextlib.ExitStack) -> None:
        self._tmp, self._stack = tmp_path_factory, stack
        self._made: dict[str, tuple[str, Seeded]] = {}

    @contextlib.contextmanager
    def copy(self, backend: str) -> Iterator[Seeded]:
        if backend not in self._made:
            url = self._stack.enter_context(_database(backend, self._tmp))
            seeded = _seed(url)
            engine = make_engine(url)
            with Session(engine, expire_on_commit=False) as session:
                seed_demo(session)
            engine.dispose()  # a PostgreSQL template must have no connection
            self._made[backend] = (url, seeded)
        url, seeded = self._made[backend]
        with database_copy(url, self._tmp.mktemp("e2e-demo")) as copy:
            yield dataclasses.replace(seeded, url=copy)


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDatabases]:
    with contextlib.ExitStack() as stack:
        yield DemoDatabases(tmp_path_factory, stack)


_BUILDS = pytest.StashKey[SessionBuilds]()


@pytest.fixture(scope="session")
def app_builds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SessionBuilds:
    """The session's app ports and frontend builds: a start exports the frontend only when no earlier start
    in this session built the same compiled sources (see tests/e2e/builds.py)."""
    builds = SessionBuilds(tmp_path_factory.mktemp("e2e-builds"))
    request.config.stash[_BUILDS] = builds
    return builds


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """How many app starts exported the frontend, and how long starts took either way (for bench/README)."""
    builds = config.stash.get(_BUILDS, None)
    if builds is not None and builds.starts:
        terminalreporter.write_line(summarise_starts(builds.starts))


@pytest.fixture(scope="module")
def app_url(seeded: Seeded, app_builds: SessionBuilds) -> Iterator[str]:
    """Start the real app (UI, websocket and API) from the repo root against the seeded database."""
    sockets = app_builds.bind()  # first: PUBLIC_URL names the frontend's port
    url = app_builds.url
    with pytest.MonkeyPatch.context() as mp:
        _reflex_environment(mp)
        mp.setenv("DATABASE_URL", seeded.url)
        mp.setenv("MAXXIT_SECRET_KEY", E2E_SECRET_KEY)
        # Every browser test signs in from 127.0.0.1, dozens of times a minute: one network's budget would
        # refuse the suite itself. The limits are tested in tests/integration (test_api_auth, ratelimit).
        mp.setenv("AUTH_RATE_LIMIT_PER_IP", str(E2E_SIGN_INS_PER_IP))
        # Sign-in messages, CORS and the event socket's allowed origins name the host the browser shows,
        # exactly as PUBLIC_URL says in production. The session keeps one such URL unless its port is taken.
        mp.setenv("PUBLIC_URL", url)
        mp.delenv("SIWE_DOMAIN", raising=False)
        _clear_caches()  # rxconfig.py and backend.db read settings once; make them see DATABASE_URL
        _forget_app_modules()
        from tests.e2e.harness import Harness  # imports Reflex's test harness: browser tests only

        try:
            with Harness.on(app_builds, sockets, root=REPO_ROOT, app_name=APP_PACKAGE) as harness:
                assert harness.frontend_url is not None
                assert harness.frontend_url.rstrip("/") == url
                yield url
        finally:
            for sock in sockets:
                sock.close()
            get_engine().dispose()
            _clear_caches()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's browser, but the system Chromium (never `playwright install` here)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    """Opens pages, each in its own context: with an injected `wallet` or none, its websocket frames watched
    when `frames` is given; every context is closed after the test."""
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet | None = None, frames: Frames | None = None) -> Page:
        if wallet is None:
            context = browser.new_context(**browser_context_args)
        else:
            context = context_with_wallet(browser, wallet, **browser_context_args)
        opened.append(context)
        page = context.new_page()
        if frames is not None:
            frames.watch(page)
        return page

    yield open_page
    for context in opened:
        context.close()


@pytest.fixture
def inline_tasks(app_url: str) -> Iterator[None]:
    """Huey runs tasks where they are queued (no consumer runs beside the harness), for this test only."""
    from tasks.app import huey
    from tasks.execution import _executor

    _executor.cache_clear()  # the venues of this module's app, on its database and settings
    before = huey.immediate
    huey.immediate = True
    yield
    huey.immediate = before
