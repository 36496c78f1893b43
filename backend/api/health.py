"""Liveness and readiness: load balancers and operators learn which dependency is down, not a stack trace."""

from __future__ import annotations

import importlib.metadata
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Literal

import redis
import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.api.deps import EngineDep, SettingsDep
from backend.config import Settings

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["health"])

Status = Literal["ok", "fail"]


class CheckResult(BaseModel):
    status: Status
    detail: str


class ReadyOut(BaseModel):
    status: Status
    checks: dict[str, CheckResult]


class HealthOut(ReadyOut):
    version: str


class LiveOut(BaseModel):
    status: Status


@lru_cache(maxsize=1)
def app_version() -> str:
    try:
        return importlib.metadata.version("maxxit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def check_database(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).scalar_one()
    return f"{engine.dialect.name} reachable"


def check_redis(url: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return "redis PING ok"


def check_huey_sqlite(path: Path, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Read-only, so a missing queue file is reported rather than silently created empty."""
    if not path.is_file():
        raise FileNotFoundError(f"huey sqlite file not found: {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        conn.close()
    return "huey sqlite readable"


def readiness_checks(engine: sa.Engine, settings: Settings) -> dict[str, Callable[[], str]]:
    """What the app needs to do useful work: its database and the queue its workers read."""
    queue = (
        partial(check_redis, settings.redis_url)
        if settings.redis_url
        else partial(check_huey_sqlite, settings.huey_sqlite_path)
    )
    return {"database": partial(check_database, engine), "queue": queue}


def run_checks(
    checks: dict[str, Callable[[], str]], timeout: float = CHECK_TIMEOUT_SECONDS
) -> dict[str, CheckResult]:
    """Run checks side by side in daemon threads, so a hung connect costs the probe `timeout`, not minutes."""
    outcomes: dict[str, dict[str, object]] = {name: {} for name in checks}
    threads = [
        threading.Thread(target=_capture, args=(fn, outcomes[name]), name=f"health-{name}", daemon=True)
        for name, fn in checks.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout  # one deadline for all: the probe waits `timeout` at most
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: _result(name, outcome, timeout) for name, outcome in outcomes.items()}


def _capture(fn: Callable[[], str], outcome: dict[str, object]) -> None:
    try:
        outcome["ok"] = fn()
    except Exception as e:  # a health check reports any failure instead of raising it
        outcome["error"] = e


def _result(name: str, outcome: dict[str, object], timeout: float) -> CheckResult:
    if "ok" in outcome:
        return CheckResult(status="ok", detail=str(outcome["ok"]))
    error = outcome.get("error")
    if error is None:
        logger.warning("health check %s timed out after %ss", name, timeout)
        return CheckResult(status="fail", detail=f"timed out after {timeout:g}s")
    logger.warning("health check %s failed: %s", name, error)
    return CheckResult(status="fail", detail=_describe(error))


def _describe(error: object) -> str:
    # The driver's own first line ("connection refused", "database x does not exist"), without SQL or links.
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0][:200] if lines else 'failed'}"


def _overall(checks: dict[str, CheckResult]) -> tuple[Status, int]:
    ok = all(c.status == "ok" for c in checks.values())
    return ("ok", 200) if ok else ("fail", 503)


@router.get("/health/live", summary="Liveness: the process serves requests")
def live() -> LiveOut:
    """Touches no dependency, so a database outage never gets the process restarted."""
    return LiveOut(status="ok")


@router.get(
    "/health/ready",
    summary="Readiness: database and queue reachable",
    responses={
        200: {"model": ReadyOut},
        503: {"model": ReadyOut, "description": "A dependency is down; `checks` says which"},
    },
)
def ready(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """200 when every dependency answers, 503 naming the one that does not."""
    checks = run_checks(readiness_checks(engine, settings))
    status, code = _overall(checks)
    return JSONResponse(ReadyOut(status=status, checks=checks).model_dump(), status_code=code)


@router.get(
    "/health",
    summary="Status, version and every check",
    responses={200: {"model": HealthOut}, 503: {"model": HealthOut, "description": "A dependency is down"}},
)
def health(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """The readiness checks plus the running version, for people and uptime monitors."""
    checks = run_checks(readiness_checks(engine, settings))
    status, code = _overall(checks)
    body = HealthOut(status=status, version=app_version(), checks=checks)
    return JSONResponse(body.model_dump(), status_code=code)
