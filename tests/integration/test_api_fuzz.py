"""Schemathesis against the API's own OpenAPI document: every operation (but logout), as an admin and as a
trader, with generated paths, queries and bodies; no answer may be a 5xx.

In process (the app `create_api` builds, on a migrated SQLite database with a few rows), with a fixed seed
and a bounded number of examples per operation, so a run is repeatable and takes about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import schemathesis
from huey import SqliteHuey
from hypothesis import HealthCheck, given, seed, settings
from sqlmodel import Session

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.db import make_engine
from backend.models.enums import Role, Venue
from tests.factories import Factory
from tests.migrated import migrated_sqlite
from tests.wallets import TEST_SECRET_KEY

EXAMPLES_PER_OPERATION = 15
FUZZ_SEED = 20261206


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, str]]]:
    """The app on a small seeded database, and a Bearer header for an admin and for a trader."""
    path: Path = tmp_path_factory.mktemp("fuzz")
    url = migrated_sqlite(path / "maxxit.db")
    SqliteHuey(filename=str(path / "huey.db"))  # the queue file the readiness probe looks for
    engine = make_engine(url)
    app_settings = Settings(
        database_url=url,
        huey_sqlite_path=path / "huey.db",
        maxxit_secret_key=TEST_SECRET_KEY,
        public_url="http://testserver",
        auth_rate_limit_per_ip=100_000,
        auth_rate_limit_per_address=100_000,
    )
    with Session(engine, expire_on_commit=False) as session:
        f = Factory(session)
        admin, trader = f.user(role=Role.ADMIN), f.user()
        caller = f.ct_account(handle="fuzz_caller")
        agent = f.agent(creator=trader, follows=[caller], venue=Venue.HYPERLIQUID)
        f.agent(creator=admin, venue=Venue.GMX)
        deployment = f.paper_deployment(agent, trader)
        f.closed_position(deployment, Decimal("12.50"))
        f.signal(agent, f.post(caller))
        tokens = {
            "admin": create_session(session, admin.id, settings=app_settings).token,
            "trader": create_session(session, trader.id, settings=app_settings).token,
        }
    yield create_api(engine=engine, settings=app_settings), tokens
    engine.dispose()


# The operations come from the document of an app built without a database (building one touches none);
# each case is then sent to the fixture's app, which has the seeded database behind it.
SCHEMA = schemathesis.openapi.from_asgi("/api/openapi.json", create_api())
OPERATIONS = [
    result.ok() for result in SCHEMA.get_all_operations() if not result.ok().path.endswith("/auth/logout")
]


@pytest.mark.parametrize("role", ["admin", "trader"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_operation_answers_5xx(operation, role: str, fuzzed) -> None:
    app, tokens = fuzzed
    headers = {"Authorization": f"Bearer {tokens[role]}"}

    @seed(FUZZ_SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case) -> None:
        response = case.call(app=app, headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}\n"
            f"{case.as_curl_command()}"
        )

    call()
