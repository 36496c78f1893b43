"""Parameter sweeps: one configuration backtested over a grid of one or two weights or the signal threshold.

A sweep is asked like a backtest (an agent's newest version or a full configuration, a period, a capital)
plus its axes and the figure the heatmap colours. `create_sweep` stores a `backtest_runs` row (kind
"sweep", queued) with everything the worker needs resolved up front: the base strategy and the window, so
a run started later or resumed after a crash computes the same grid. `run_sweep` fills the row's cells one
by one; each cell is written only if the row's progress is still what this worker read, so a retried or
duplicated task resumes where the row stands and never writes a cell twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from itertools import product
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlmodel import Session, col, select

from backend.agents.versions import Strategy
from backend.auth.identity import CurrentUser
from backend.backtest import engine, service
from backend.backtest.engine import calls_for
from backend.backtest.schemas import STORED, BacktestRequest, SummaryOut
from backend.backtest.sources import build_sources
from backend.config import Settings, get_settings
from backend.models import WEIGHT_NAMES, User
from backend.models.backtests import BacktestRun
from backend.models.common import utcnow
from backend.signals.errors import InputRejected

logger = logging.getLogger(__name__)

KIND = "sweep"
THRESHOLD = "signal_threshold"
AXIS_NAMES = (*WEIGHT_NAMES, THRESHOLD)
AxisName = Literal[AXIS_NAMES]  # type: ignore[valid-type]  # the eight weights and the threshold
SweepMetric = Literal[
    "profit_total", "sharpe", "sortino", "calmar", "max_drawdown", "winrate", "profit_factor", "expectancy"
]
# A range is expanded before the cell bound is checked; this keeps a silly step from allocating millions.
MAX_AXIS_VALUES = 1000
THRESHOLD_PLACES = 6
# Temporary failures are left to the task's retries; anything else fails the sweep with its reason.
TEMPORARY = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


class SweepAxis(BaseModel):
    """One axis: a weight (whole numbers 0-100) or the signal threshold (0-1), as values or start/stop/step.

    `stop` is included when the steps land on it. Values are sorted and deduplicated.
    """

    model_config = ConfigDict(extra="forbid")

    name: AxisName
    values: list[Decimal] | None = Field(default=None, min_length=1, max_length=MAX_AXIS_VALUES)
    start: Decimal | None = None
    stop: Decimal | None = None
    step: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_way(self) -> SweepAxis:
        ranged = (self.start, self.stop, self.step)
        if self.values is not None and any(v is not None for v in ranged):
            raise PydanticCustomError("axis", "give either values or start, stop and step, not both")
        if self.values is None and any(v is None for v in ranged):
            raise PydanticCustomError("axis", "give values, or start, stop and step")
        for value in self._expand():
            _check_value(self.name, value)
        return self

    def resolved(self) -> list[Decimal]:
        """The axis's values, ascending, each once."""
        return sorted(set(self._expand()))

    def _expand(self) -> list[Decimal]:
        if self.values is not None:
            return [v.normalize() + 0 for v in self.values]
        assert self.start is not None and self.stop is not None and self.step is not None
        if self.stop < self.start:
            raise PydanticCustomError("axis", "stop must not be below start")
        count = int((self.stop - self.start) / self.step) + 1
        if count > MAX_AXIS_VALUES:
            raise PydanticCustomError("axis", f"an axis holds at most {MAX_AXIS_VALUES} values")
        return [(self.start + i * self.step).normalize() + 0 for i in range(count)]


def _check_value(name: str, value: Decimal) -> None:
    if name == THRESHOLD:
        if not 0 <= value <= 1 or value != round(value, THRESHOLD_PLACES):
            raise PydanticCustomError("axis", "the signal threshold runs from 0 to 1 (at most 6 decimals)")
    elif not 0 <= value <= 100 or value != value.to_integral_value():
        raise PydanticCustomError("axis", "a weight is a whole number from 0 to 100")


class SweepRequest(BacktestRequest):
    """A backtest request and its grid: one or two distinct axes, and the figure the heatmap colours."""

    axes: list[SweepAxis] = Field(min_length=1, max_length=2)
    metric: SweepMetric = "profit_total"

    @field_validator("axes")
    @classmethod
    def _distinct_axes(cls, axes: list[SweepAxis]) -> list[SweepAxis]:
        if len({axis.name for axis in axes}) != len(axes):
            raise PydanticCustomError("axes", "the two axes must name different settings")
        return axes

    def cell_count(self) -> int:
        count = 1
        for axis in self.axes:
            count *= len(axis.resolved())
        return count


# -- the answers ------------------------------------------------------------------------------------------


class SweepAccepted(BaseModel):
    id: int
    status: str  # queued | running | done | failed
    progress_done: int
    progress_total: int


class AxisOut(BaseModel):
    name: str
    values: list[Decimal]


class SweepCell(BaseModel):
    """One configuration of the grid: its axis values, the chosen figure, and its whole summary."""

    x: Decimal
    y: Decimal | None
    value: Decimal | None  # summary[metric]; None where the figure is undefined (no trades, no losses...)
    summary: SummaryOut


class SweepOut(SweepAccepted):
    agent_id: int | None
    metric: SweepMetric
    axes: list[AxisOut]
    start: datetime
    end: datetime
    capital: Decimal
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    cells: list[SweepCell] | None  # when done, x-major (every y of the first x, then the next x)


class SweepQueue(Protocol):
    """How a new sweep reaches the workers (the task package's Huey queue, named in BACKTEST_SWEEPS)."""

    def sweep_created(self, run_id: int) -> None: ...


class NoQueue:
    """Enqueue nothing: a starting worker picks unfinished sweeps up."""

    def sweep_created(self, run_id: int) -> None:
        return None


class SweepNotFound(LookupError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"sweep {run_id} not found")


# -- the grid ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    names: tuple[str, ...]
    values: tuple[tuple[Decimal, ...], ...]

    @classmethod
    def of(cls, request: SweepRequest) -> Grid:
        return cls(tuple(a.name for a in request.axes), tuple(tuple(a.resolved()) for a in request.axes))

    def points(self) -> Iterator[tuple[Decimal, ...]]:
        return product(*self.values)

    def apply(self, base: Strategy, point: tuple[Decimal, ...]) -> Strategy:
        """The base strategy with this point's values on the swept settings."""
        weights = dict(base.weights)
        threshold = base.signal_threshold
        for name, value in zip(self.names, point, strict=True):
            if name == THRESHOLD:
                threshold = value
            else:
                weights[name] = int(value)
        return replace(base, weights=weights, signal_threshold=threshold)


# -- the service ------------------------------------------------------------------------------------------

# Backtests one strategy over the sweep's window and capital; built once per sweep so caches are shared.
CellRunner = Callable[[Strategy], SummaryOut]


def subject(session: Session, request: BacktestRequest, viewer: CurrentUser) -> tuple[Strategy, int | None]:
    """The strategy a request tests, as `run_backtest` resolves it: the newest version of an agent the
    viewer may see (AgentNotFound otherwise), or the full configuration (its accounts must exist)."""
    if request.agent_id is not None:
        strategy, _name = service.agent_strategy(session, request.agent_id, viewer)
        return strategy, request.agent_id
    assert request.config is not None
    return service.strategy_from_config(session, request.config), None


def check_size(request: SweepRequest, max_cells: int) -> int:
    """The grid's cell count; more than `max_cells` is 422 on `axes`."""
    cells = request.cell_count()
    if cells > max_cells:
        message = f"the grid has {cells} configurations; a sweep may have at most {max_cells}"
        raise InputRejected("axes", message)
    return cells


def create_sweep(
    session: Session,
    request: SweepRequest,
    *,
    viewer: CurrentUser,
    max_cells: int,
    now: datetime | None = None,
    reclassify_max_posts: int | None = None,
) -> tuple[BacktestRun, bool]:
    """A queued sweep row for this request, or the viewer's identical one still live (a double click);
    returns (row, created). More cells than `max_cells` is 422 on `axes`; with `reclassify`, more posts in
    the period than `reclassify_max_posts` (RECLASSIFY_MAX_POSTS by default) is 422 on `reclassify` (the
    worker keeps readings of its own, so every post counts)."""
    cells = check_size(request, max_cells)
    base, agent_id = subject(session, request, viewer)
    start, end = request.period.window(now or utcnow())
    if request.reclassify:
        limit = get_settings().reclassify_max_posts if reclassify_max_posts is None else reclassify_max_posts
        service.check_fresh_readings(
            service.fresh_readings(session, base.ct_account_ids, start, end, None), limit
        )
    stored = {
        "request": request.model_dump(mode="json"),
        "base": base.to_json(),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    key = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
    # A no-op write to the viewer's row first: it locks the row (PostgreSQL) or the database (SQLite) until
    # commit, so two equal requests at once find one another instead of making two sweeps.
    session.execute(sa.update(User).where(col(User.id) == viewer.id).values(role=User.role))
    same = session.exec(
        select(BacktestRun)
        .where(
            BacktestRun.user_id == viewer.id,
            BacktestRun.kind == KIND,
            BacktestRun.key == key,
            col(BacktestRun.status).in_(("queued", "running", "done")),
        )
        .order_by(col(BacktestRun.id).desc())
    ).first()
    if same is not None:
        return same, False
    run = BacktestRun(
        user_id=viewer.id,
        kind=KIND,
        status="queued",
        key=key,
        agent_id=agent_id,
        request=stored,
        result={"cells": []},
        progress_total=cells,
    )
    session.add(run)
    session.commit()
    session.refresh(run)
    return run, True


def run_sweep(session: Session, run_id: int, settings: Settings | None = None) -> BacktestRun:
    """Compute the cells the row does not hold yet, storing each as it is done; then mark it done.

    Prices, market rules and costs are those the live workers use (`settings`, the process's by default).

    Safe to run twice at once or after a crash: a cell is stored only while the row's progress is still the
    one this worker read; when another worker got there first this one stops and leaves the row to it.
    """
    run = _sweep_row(session, run_id)
    if run.status in ("done", "failed"):
        return run
    # Only from queued: a worker that finished meanwhile keeps its "done".
    session.execute(
        sa.update(BacktestRun)
        .where(col(BacktestRun.id) == run_id, col(BacktestRun.status) == "queued")
        .values(status="running")
    )
    session.commit()
    try:
        _fill(session, run, _runner(session, run, settings or get_settings()))
    except TEMPORARY:
        raise
    except Exception as e:
        logger.exception("sweep %s failed", run_id)
        session.rollback()
        reason = f"the sweep failed: {type(e).__name__}: {e}"[:500]
        session.execute(
            sa.update(BacktestRun)
            .where(col(BacktestRun.id) == run_id, col(BacktestRun.status).in_(("queued", "running")))
            .values(status="failed", error=reason, finished_at=utcnow())
        )
        session.commit()
    session.refresh(run)
    return run


def _runner(session: Session, run: BacktestRun, settings: Settings) -> CellRunner:
    """The engine on the sweep's stored window and capital. The followed accounts are the same in every
    cell, so their calls are read once; features and candles are cached by the sources, so a cell only
    re-scores and replays."""
    request = SweepRequest.model_validate(run.request["request"], context=STORED)
    base = Strategy.from_json(run.request["base"])
    start, end = datetime.fromisoformat(run.request["start"]), datetime.fromisoformat(run.request["end"])
    sources = build_sources(settings, reclassify=request.reclassify)
    calls = calls_for(session, base, start, end, sources, reclassify=request.reclassify)

    def cell(strategy: Strategy) -> SummaryOut:
        outcome = engine.run(calls, strategy, start=start, end=end, capital=request.capital, sources=sources)
        return SummaryOut.model_validate(outcome.report.summary, from_attributes=True)

    return cell


def _fill(session: Session, run: BacktestRun, runner: CellRunner) -> None:
    request = SweepRequest.model_validate(run.request["request"], context=STORED)
    base = Strategy.from_json(run.request["base"])
    grid = Grid.of(request)
    cells: list[dict[str, Any]] = list((run.result or {}).get("cells", []))
    for index, point in enumerate(grid.points()):
        if index < len(cells):
            continue  # stored before a crash or by another worker
        summary = runner(grid.apply(base, point))
        cell = {"point": [str(v) for v in point], "summary": summary.model_dump(mode="json")}
        claimed = session.execute(
            sa.update(BacktestRun)
            .where(col(BacktestRun.id) == run.id, col(BacktestRun.progress_done) == index)
            .values(result={"cells": [*cells, cell]}, progress_done=index + 1)
        )
        session.commit()
        if claimed.rowcount != 1:
            logger.info("sweep %s: cell %d stored by another worker; leaving it to that one", run.id, index)
            return
        cells.append(cell)
    session.execute(
        sa.update(BacktestRun)
        .where(col(BacktestRun.id) == run.id, col(BacktestRun.status) == "running")
        .values(status="done", finished_at=utcnow())
    )
    session.commit()


def get_sweep(session: Session, run_id: int, *, viewer: CurrentUser) -> SweepOut:
    """The viewer's own sweep (anyone else's is the same not-found as an unknown id); cells once done."""
    run = _sweep_row(session, run_id)
    if run.user_id != viewer.id:
        raise SweepNotFound(run_id)
    return sweep_out(run)


def sweep_out(run: BacktestRun) -> SweepOut:
    assert run.id is not None
    request = SweepRequest.model_validate(run.request["request"], context=STORED)
    grid = Grid.of(request)
    cells = None
    if run.status == "done":
        cells = [_cell(c, request.metric) for c in (run.result or {}).get("cells", [])]
    return SweepOut(
        id=run.id,
        status=run.status,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        agent_id=run.agent_id,
        metric=request.metric,
        axes=[AxisOut(name=n, values=list(v)) for n, v in zip(grid.names, grid.values, strict=True)],
        start=datetime.fromisoformat(run.request["start"]),
        end=datetime.fromisoformat(run.request["end"]),
        capital=request.capital,
        error=run.error,
        created_at=run.created_at,
        finished_at=run.finished_at,
        cells=cells,
    )


def accepted(run: BacktestRun) -> SweepAccepted:
    assert run.id is not None
    return SweepAccepted(
        id=run.id, status=run.status, progress_done=run.progress_done, progress_total=run.progress_total
    )


def unfinished_sweeps(
    session: Session, *, created_before: datetime | None = None, status: str | None = None
) -> list[int]:
    """Ids of sweeps still queued or running (a worker that died left them), oldest first."""
    statuses = (status,) if status else ("queued", "running")
    query = select(BacktestRun.id).where(BacktestRun.kind == KIND, col(BacktestRun.status).in_(statuses))
    if created_before is not None:
        query = query.where(col(BacktestRun.created_at) < created_before)
    return [i for i in session.exec(query.order_by(col(BacktestRun.id))).all() if i is not None]


def _cell(stored: dict[str, Any], metric: str) -> SweepCell:
    point = [Decimal(v) for v in stored["point"]]
    summary = SummaryOut.model_validate(stored["summary"])
    return SweepCell(
        x=point[0], y=point[1] if len(point) > 1 else None, value=getattr(summary, metric), summary=summary
    )


def _sweep_row(session: Session, run_id: int) -> BacktestRun:
    run = session.get(BacktestRun, run_id)
    if run is None or run.kind != KIND:
        raise SweepNotFound(run_id)
    session.refresh(run)  # another worker may have moved it on since this session last read it
    return run
