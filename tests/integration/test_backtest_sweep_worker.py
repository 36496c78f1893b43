"""Sweeps on the real Huey consumer (Redis + PostgreSQL, and SQLite files): queued, filled cell by cell, and
resumed after a crash from what the row holds, never as a second row or a cell written twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.backtest.sweep import SweepRequest, create_sweep, run_sweep
from backend.db import make_engine
from backend.models import BacktestRun
from backend.models.enums import Role
from tasks.app import build_huey
from tasks.backtests import run_sweep_task
from tests.backtest_data import backtest_history
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for

GRID = [{"name": "tweet", "values": [40, 80]}, {"name": "signal_threshold", "values": ["0.3", "0.6"]}]


def _sweep(session: Session, *, metric: str = "profit_total") -> int:
    history = backtest_history(Factory(session))
    viewer = CurrentUser(id=history.creator.id, address=history.creator.address, role=Role.TRADER)
    request = SweepRequest.model_validate(
        {"agent_id": history.agent.id, "period": {"days": 30}, "axes": GRID, "metric": metric}
    )
    run, created = create_sweep(session, request, viewer=viewer, max_cells=121)
    assert created and run.id is not None
    return run.id


def _row(engine, run_id: int) -> BacktestRun:
    with Session(engine) as session:
        return session.get(BacktestRun, run_id)


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_the_consumer_runs_a_sweep_to_the_end(consumer_env, consumer):
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        run_id = _sweep(session)

    producer = build_huey(settings)
    producer._registry.register(run_sweep_task.task_class)
    # The consumer's start-up pick-up may have queued it too: whichever worker stores a cell first goes on,
    # the other stops ("running": left to the first).
    assert producer.enqueue(run_sweep_task.s(run_id)).get(blocking=True, timeout=120) in ("done", "running")
    wait_for(engine, lambda s: s.get(BacktestRun, run_id).status == "done", "the sweep done", 120)
    cells = _row(engine, run_id).result["cells"]
    # Run again (a retry, a duplicate message): nothing changes.
    assert producer.enqueue(run_sweep_task.s(run_id)).get(blocking=True, timeout=120) == "done"

    row = _row(engine, run_id)
    assert row.result["cells"] == cells
    assert (row.status, row.progress_done, row.progress_total, row.error) == ("done", 4, 4, None)
    assert [c["point"] for c in row.result["cells"]] == [
        ["40", "0.3"],
        ["40", "0.6"],
        ["80", "0.3"],
        ["80", "0.6"],
    ]
    assert row.finished_at is not None
    engine.dispose()
    assert consumer.poll() is None, "the consumer died"


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_a_starting_consumer_resumes_a_sweep_a_crash_left_half_done(consumer_env, tmp_path: Path):
    """The row as a dead worker leaves it: running, two cells stored. A starting consumer queues it again and
    computes only the missing cells; the stored ones stay as they were, and the whole equals a clean run."""
    settings, env = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        clean_id = _sweep(session)
        clean = run_sweep(session, clean_id)
        assert clean.status == "done"
        crashed = BacktestRun(
            user_id=clean.user_id,
            kind="sweep",
            status="running",
            key="crashed-" + clean.key[:40],
            agent_id=clean.agent_id,
            request=clean.request,
            result={"cells": clean.result["cells"][:2]},
            progress_done=2,
            progress_total=4,
        )
        session.add(crashed)
        session.commit()
        crashed_id = crashed.id

    process = start_consumer(env, tmp_path / "consumer.log")
    try:
        wait_for(engine, lambda s: s.get(BacktestRun, crashed_id).status == "done", "the sweep resumed", 120)
    finally:
        stop_consumer(process)

    resumed = _row(engine, crashed_id)
    assert resumed.progress_done == 4
    assert resumed.result["cells"] == clean.result["cells"]  # deterministic, and the first two untouched
    with Session(engine) as session:
        ids = session.exec(
            select(BacktestRun.id).where(col(BacktestRun.kind) == "sweep").order_by(col(BacktestRun.id))
        )
        assert list(ids) == [clean_id, crashed_id]  # no row was added by the resume
    engine.dispose()
