"""Backtests and parameter sweeps over REST: thin over `backend.backtest.service` and `.sweep`.

Signed-in users only (401 first, before any body is judged). A backtest answers at once: 201 when it was
computed, 200 when an equal question was answered before (`cached`). A sweep is queued for the workers
(202) and polled at `GET /backtests/sweep/{id}` until `status` is done; its grid comes with it then.
Runs and sweeps are their owner's: anyone else's id is the same 404 as an unknown one. Per-user quotas
(BACKTESTS_PER_MINUTE, SWEEPS_PER_HOUR) answer 429 with Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError

from backend.agents.editing import AgentEditError
from backend.agents.service import AgentNotFound
from backend.api.agents import MAX_ID
from backend.api.auth import TOO_MANY, UNAUTHORIZED
from backend.api.deps import CurrentUserDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE
from backend.api.routing import AuthenticateFirstRoute
from backend.auth.ratelimit import Counter, shared_counter
from backend.backtest import service, sweep
from backend.backtest.limits import count_backtest, count_sweep
from backend.backtest.schemas import BacktestRequest, BacktestResult
from backend.backtest.sources import build_sources
from backend.backtest.sweep import SweepAccepted, SweepOut, SweepQueue, SweepRequest
from backend.models.common import utcnow

logger = logging.getLogger(__name__)

RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
OWNED: dict[int | str, dict[str, Any]] = {**NOT_FOUND}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/backtests",
    tags=["backtests"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)


def _counter(request: Request, settings: SettingsDep) -> Counter:
    """The app's own counter when it was built with settings (tests), else the process-wide one."""
    return request.app.state.counter or shared_counter(settings.redis_url)


CounterDep = Annotated[Counter, Depends(_counter)]


def _now() -> datetime:
    """When the question is asked: a request's window ends at the last bar closed by then."""
    return utcnow()


NowDep = Annotated[datetime, Depends(_now)]


@router.post(
    "",
    summary="Backtest an agent or a configuration",
    status_code=201,
    responses={200: {"description": "Answered from an equal earlier run"}, **TOO_MANY},
)
def create_backtest(
    body: BacktestRequest,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    counter: CounterDep,
    now: NowDep,
    response: Response,
) -> BacktestResult:
    """Replays the stored posts and prices of the period through the live engine: the summary (Freqtrade's
    names), the daily equity curve with its drawdown, the trades with the posts that made them, and
    breakdowns by exit reason and token. An agent you cannot see is 422 on `agent_id`; an unknown CT
    account on `config.ct_account_ids`; dates before 2000-01-01 or after today on `period.start` or
    `period.end`. With `reclassify`, more than RECLASSIFY_MAX_POSTS posts the classifier has not read yet
    is 422 on `reclassify`. A `days` period ends at the last closed 15-minute bar, so the same question
    asked again within that bar is answered from the first run."""
    count_backtest(counter, settings, user.id)  # once the body is judged: a typo costs no quota
    sources = build_sources(settings, reclassify=body.reclassify)
    with _subject_fields():
        result = service.run_backtest(
            session,
            body,
            viewer=user,
            sources=sources,
            now=now,
            reclassify_max_posts=settings.reclassify_max_posts,
        )
    if result.cached:
        response.status_code = 200
    if result.id is not None:
        response.headers["Location"] = f"/api/v1/backtests/{result.id}"
    return result


@router.post(
    "/sweep",
    summary="Start a parameter sweep",
    status_code=202,
    responses=TOO_MANY,
)
def create_sweep(
    body: SweepRequest,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    counter: CounterDep,
    now: NowDep,
    request: Request,
    response: Response,
) -> SweepAccepted:
    """Backtests the configuration once per point of a grid over one or two weights (0-100) or the signal
    threshold (0-1), each axis as `values` or `start`/`stop`/`step`; at most SWEEP_MAX_CELLS points (422 on
    `axes` beyond). Runs on the workers: poll `GET /backtests/sweep/{id}`. The same request again while the
    first is live answers that one. The period, subject and `reclassify` are judged as for a backtest
    (with `reclassify`, every post of the period counts: the worker reads them)."""
    sweep.check_size(body, settings.sweep_max_cells)
    count_sweep(counter, settings, user.id)  # once the body is judged: a typo costs no quota
    with _subject_fields():
        run, created = sweep.create_sweep(
            session,
            body,
            viewer=user,
            max_cells=settings.sweep_max_cells,
            now=now,
            reclassify_max_posts=settings.reclassify_max_posts,
        )
    assert run.id is not None
    if created:
        _queue(request.app.state.sweeps, run.id)
    response.headers["Location"] = f"/api/v1/backtests/sweep/{run.id}"
    return sweep.accepted(run)


@router.get("/sweep/{run_id}", summary="A sweep's progress and grid", responses=OWNED)
def get_sweep(run_id: RunId, user: CurrentUserDep, session: SessionDep) -> SweepOut:
    """`status` (queued, running, done, failed) and `progress_done` of `progress_total`; once done the
    axes and every cell: its axis values (`x`, `y`), the chosen figure (`value`) and its whole summary."""
    return sweep.get_sweep(session, run_id, viewer=user)


@router.get("/{run_id}", summary="One of my backtests", responses=OWNED)
def get_backtest(run_id: RunId, user: CurrentUserDep, session: SessionDep) -> BacktestResult:
    """A stored backtest as it was answered."""
    return service.get_backtest(session, run_id, viewer=user)


def _queue(sweeps: SweepQueue, run_id: int) -> None:
    """The sweep is stored whatever happens here: a queue that is down only delays it (a worker picks up
    sweeps left queued)."""
    try:
        sweeps.sweep_created(run_id)
    except Exception:
        logger.exception("sweep %s stored but not queued; a worker will pick it up", run_id)


@contextmanager
def _subject_fields() -> Iterator[None]:
    """An agent the caller cannot see is a bad `agent_id` (as when deploying); an unknown account in a
    configuration a bad `config.ct_account_ids`."""
    try:
        yield
    except AgentNotFound as e:
        error = {"loc": ("body", "agent_id"), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e
    except AgentEditError as e:
        error = {"loc": ("body", "config", e.field), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e
