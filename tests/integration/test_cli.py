"""The `maxxit` command as a user runs it: migrate and seed a fresh SQLite database, twice."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from backend.config import PROJECT_ROOT
from backend.db import make_engine
from backend.models import Agent, AuditLog, User, VenueStatus
from backend.models.enums import ExecutionVenue


def _maxxit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrate_then_seed_is_idempotent(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "120"}
    assert _maxxit("migrate", env=env).returncode == 0

    first = _maxxit("seed", env=env)
    assert first.returncode == 0, first.stderr
    assert "13 agents created" in first.stdout

    second = _maxxit("seed", env=env)
    assert second.returncode == 0, second.stderr
    assert "0 agents created, 13 already there" in second.stdout

    engine = make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Agent)).one() == 13
    engine.dispose()


def test_unknown_command_fails_clearly(tmp_path: Path):
    result = _maxxit("launch-rockets", env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode != 0
    assert "No such command" in result.stderr


def test_up_refuses_a_busy_port_and_changes_nothing(tmp_path: Path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        db = tmp_path / "untouched.db"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "FRONTEND_PORT": str(port), "COLUMNS": "200"}
        result = _maxxit("up", env=env)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stdout
    assert not db.exists()


def test_production_without_a_secret_key_refuses_to_start_app_and_worker(tmp_path: Path):
    db = tmp_path / "untouched.db"
    env = {**os.environ, "ENV": "prod", "DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}
    env.pop("MAXXIT_SECRET_KEY", None)
    for command in ("up", "worker"):
        result = _maxxit(command, env=env)
        assert result.returncode == 2, command
        assert "MAXXIT_SECRET_KEY is required when ENV=prod" in result.stdout
    assert not db.exists()


def _prod_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A production environment that would start, plus the overrides under test."""
    env = {
        **os.environ,
        "ENV": "prod",
        "MAXXIT_SECRET_KEY": "k" * 40,
        "PUBLIC_URL": "https://maxxit.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'untouched.db'}",
        "COLUMNS": "200",
    }
    for name in ("SEED_DEMO_DATA", "SAMPLE_FEED_ENABLED", "PRICE_FEED"):
        env.pop(name, None)
    return {**env, **overrides}


@pytest.mark.parametrize("value", ["production", "PROD"])
def test_an_unknown_env_refuses_to_start_listing_the_valid_values(tmp_path: Path, value: str):
    env = {**os.environ, "ENV": value, "DATABASE_URL": f"sqlite:///{tmp_path / 'untouched.db'}"}
    env["COLUMNS"] = "200"
    for command in ("up", "worker"):
        result = _maxxit(command, env=env)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Invalid setting ENV" in result.stdout
        assert "'dev', 'test' or 'prod'" in result.stdout
        assert f"got {value!r}" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "untouched.db").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [("SAMPLE_FEED_ENABLED", "true"), ("SEED_DEMO_DATA", "true"), ("PRICE_FEED", "simulated")],
)
def test_production_refuses_demo_data_turned_on_by_name(tmp_path: Path, name: str, value: str):
    env = _prod_env(tmp_path, **{name: value})
    for command in ("up", "worker"):
        result = _maxxit(command, env=env)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Refusing to start" in result.stdout
        assert f"{name}={value}" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "untouched.db").exists()


def test_production_refuses_the_seed_flag_and_a_plain_http_public_url(tmp_path: Path):
    seeded = _maxxit("up", "--seed", env=_prod_env(tmp_path))
    assert seeded.returncode == 2
    assert "--seed loads the demo's made-up data" in seeded.stdout
    by_hand = _maxxit("seed", env=_prod_env(tmp_path))
    assert by_hand.returncode == 2
    assert "Refusing to seed" in by_hand.stdout
    for command in ("up", "worker"):
        result = _maxxit(command, env=_prod_env(tmp_path, PUBLIC_URL="http://maxxit.example.com"))
        assert result.returncode == 2
        assert "PUBLIC_URL must be the https:// URL" in result.stdout
    assert not (tmp_path / "untouched.db").exists()


def test_create_admin_promotes_a_wallet_once_and_refuses_bad_addresses(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}
    address = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B"

    first = _maxxit("create-admin", address, env=env)
    assert first.returncode == 0, first.stderr
    assert f"{address.lower()} is now an admin" in first.stdout
    again = _maxxit("create-admin", address.lower(), env=env)
    assert f"{address.lower()} was already an admin" in again.stdout

    bad = _maxxit("create-admin", "0x1234", env=env)
    assert bad.returncode == 2
    assert "0x-prefixed 20-byte hex" in bad.stdout

    engine = make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(User.address, User.role)).all() == [(address.lower(), "admin")]
        assert session.exec(select(func.count()).select_from(AuditLog)).one() == 2  # created + role change
    engine.dispose()


def test_refresh_venues_fills_the_registry_and_says_so(tmp_path: Path, hl_server):
    url = f"sqlite:///{tmp_path / 'venues.db'}"
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "160", "HYPERLIQUID_API": hl_server.url}
    done = _maxxit("refresh-venues", env=env)
    assert done.returncode == 0, done.stderr
    assert "PAPER:" in done.stdout and "added" in done.stdout
    assert "HYPERLIQUID:" in done.stdout and "0 delisted" in done.stdout

    offline = {**env, "HYPERLIQUID_API": "http://127.0.0.1:9", "HYPERLIQUID_TIMEOUT_SECONDS": "1"}
    again = _maxxit("refresh-venues", env=offline)
    assert again.returncode == 1
    assert "HYPERLIQUID: unreachable" in again.stdout and "its markets are kept" in again.stdout
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(
            select(VenueStatus).where(
                VenueStatus.market == "PEPE", VenueStatus.venue == ExecutionVenue.HYPERLIQUID
            )
        ).all()
        assert [(r.venue, r.venue_market, r.is_active) for r in rows] == [("HYPERLIQUID", "kPEPE", True)]
    engine.dispose()
