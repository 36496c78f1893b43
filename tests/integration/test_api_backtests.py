"""Backtests and sweeps over HTTP, on SQLite and PostgreSQL: auth first, bad input on its field, quotas,
ownership, and a backtest and a sweep of a small stored history."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from backend.api import backtests as backtests_api
from backend.api import create_api
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import MemoryCounter
from backend.auth.sessions import create_session
from backend.backtest import inputs
from backend.backtest.candles import BAR, floor_to
from backend.backtest.inputs import ReadingCache
from backend.backtest.schemas import STORED
from backend.backtest.sweep import SweepRequest, create_sweep, run_sweep
from backend.config import Settings
from backend.models import BacktestRun, User
from backend.models.common import utcnow
from backend.models.enums import Role
from tests.backtest_data import History, backtest_history

Headers = dict[str, str]
SWEEP = {
    "axes": [{"name": "tweet", "values": [40, 80]}, {"name": "signal_threshold", "values": ["0.3", "0.6"]}]
}
WEIGHTS = {
    "tweet": 60,
    "rsi": 0,
    "macd": 0,
    "bollinger": 0,
    "volume": 0,
    "moving_average": 0,
    "momentum": 0,
    "volatility": 0,
}


class Recorder:
    """A sweep queue that remembers what it was handed (the workers' side is tested on the real consumer)."""

    def __init__(self) -> None:
        self.created: list[int] = []

    def sweep_created(self, run_id: int) -> None:
        self.created.append(run_id)


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(
        update={
            "backtests_per_minute": 5,
            "sweeps_per_hour": 3,
            "sweep_max_cells": 9,
            "reclassify_max_posts": 10,
        }
    )


@pytest.fixture
def queue() -> Recorder:
    return Recorder()


@pytest.fixture
def app(engine: sa.Engine, settings: Settings, queue: Recorder) -> FastAPI:
    app = create_api(engine=engine, settings=settings, sweeps=queue)
    # Quotas count in fixed windows: a stopped clock keeps the whole test inside one of them.
    app.state.counter = MemoryCounter(clock=lambda: 1_800_000_030.0)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def signed_in(session: Session, settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        issued = create_session(session, user.id, settings=settings)
        return {"Authorization": f"Bearer {issued.token}"}

    return headers


@pytest.fixture
def history(factory) -> History:
    return backtest_history(factory)


@pytest.fixture
def trader(factory) -> User:
    return factory.user()


@pytest.fixture
def as_trader(signed_in, trader) -> Headers:
    return signed_in(trader)


def _runs(session: Session) -> int:
    return session.exec(select(func.count()).select_from(BacktestRun)).one()


def _fields(reply) -> list[str]:
    assert reply.status_code == 422, reply.text
    return [e["field"] for e in reply.json()["detail"]]


# -- auth, input, quotas, ownership ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/backtests", {"agent_id": 1}),
        ("post", "/api/v1/backtests", {"period": {"days": 12}}),  # a bad body is still 401 first
        ("get", "/api/v1/backtests/1", None),
        ("post", "/api/v1/backtests/sweep", {"agent_id": 1, **SWEEP}),
        ("post", "/api/v1/backtests/sweep", {"axes": "all of them"}),
        ("get", "/api/v1/backtests/sweep/1", None),
    ],
)
def test_signed_out_callers_get_401_before_anything_else(client, session, method, path, body):
    reply = client.request(method, path, json=body)
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"] == "Bearer"
    assert _runs(session) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": {"days": 12}}, "period.days"),
        ({"capital": "5"}, "capital"),
        ({"capital": "abc"}, "capital"),
        ({"period": {"start": "2026-05-02", "end": "2026-05-01"}}, "period"),
        ({"reclassify": "maybe"}, "reclassify"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_backtest_request_is_422_on_its_field(client, as_trader, history, session, body, field):
    reply = client.post("/api/v1/backtests", json={"agent_id": history.agent.id, **body}, headers=as_trader)
    assert field in _fields(reply)
    assert _runs(session) == 0


def _days_from_today(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def _config(account_id: int, **changes: object) -> dict[str, object]:
    return {"venue": "HYPERLIQUID", "weights": WEIGHTS, "ct_account_ids": [account_id], **changes}


# Each builds a bad body from the agent's id and its followed account's; the field the 422 must name.
BAD_BODIES = [
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "2099-01-01", "end": "2099-01-05"}},
        "period.start",
        id="dates in 2099",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": _days_from_today(2), "end": _days_from_today(3)}},
        "period.start",
        id="start after today",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "2026-01-01", "end": _days_from_today(2)}},
        "period.end",
        id="end after today",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "0001-01-01", "end": "0001-01-05"}},
        "period.start",
        id="year 1",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "1999-12-31", "end": "2000-01-02"}},
        "period.start",
        id="before 2000",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "2026-01-01", "end": "9999-12-31"}},
        "period.end",
        id="end 9999",
    ),
    pytest.param(lambda a, c: {"agent_id": a, "period": {"start": "2026-01-01"}}, "period", id="no end"),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"days": 7, "start": "2026-01-01"}},
        "period",
        id="days and dates",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": "\x00", "end": "2026-01-01"}},
        "period.start",
        id="NUL date",
    ),
    pytest.param(
        lambda a, c: {"agent_id": a, "period": {"start": 2**70, "end": "2026-01-01"}},
        "period.start",
        id="huge number date",
    ),
    pytest.param(lambda a, c: {"agent_id": 2**31}, "agent_id", id="agent id past int4"),
    pytest.param(lambda a, c: {"agent_id": 2**70}, "agent_id", id="agent id past int64"),
    pytest.param(lambda a, c: {"agent_id": 0}, "agent_id", id="agent id 0"),
    pytest.param(lambda a, c: {"agent_id": "1\x00"}, "agent_id", id="agent id NUL"),
    *[
        pytest.param(lambda a, c, v=v: {"agent_id": a, "capital": v}, "capital", id=f"capital {v!r}")
        for v in (
            "NaN",
            "Infinity",
            "-Infinity",
            "0",
            "-100",
            "1e400",
            "10000000.01",
            "100.001",
            "\x00",
            "1" * 5000,
        )
    ],
    pytest.param(lambda a, c: {"config": _config(c, ct_account_ids=[])}, "config", id="no accounts"),
    pytest.param(
        lambda a, c: {"config": _config(c, ct_account_ids=[2**31])},
        "config.ct_account_ids.0",
        id="account id past int4",
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, ct_account_ids=[c, c])},
        "config.ct_account_ids",
        id="account twice",
    ),
    pytest.param(lambda a, c: {"config": _config(c, venue="NOPE")}, "config.venue", id="unknown venue"),
    pytest.param(
        lambda a, c: {"config": _config(c, venue="HYPER\x00LIQUID")}, "config.venue", id="NUL venue"
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, weights={**WEIGHTS, "rsi": 101})},
        "config.weights.rsi",
        id="weight above 100",
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, weights={**WEIGHTS, "rsi": -1})},
        "config.weights.rsi",
        id="negative weight",
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, weights={**WEIGHTS, "rsi": "NaN"})},
        "config.weights.rsi",
        id="NaN weight",
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, risk={"leverage": "NaN"})},
        "config.risk.leverage",
        id="NaN leverage",
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, risk={"leverage": "50"})}, "config", id="leverage above venue"
    ),
    pytest.param(
        lambda a, c: {"config": _config(c, risk={"stoploss": "Infinity"})},
        "config.risk.stoploss",
        id="infinite stoploss",
    ),
    pytest.param(lambda a, c: {"config": _config(c, surprise=1)}, "config.surprise", id="unknown config key"),
    pytest.param(lambda a, c: {"agent_id": a, "config": _config(c)}, "body", id="both subjects"),
    pytest.param(lambda a, c: {"agent_id": a, "reclassify": "maybe"}, "reclassify", id="reclassify word"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_BODIES)
@pytest.mark.parametrize("path", ["/api/v1/backtests", "/api/v1/backtests/sweep"])
def test_every_bad_payload_is_422_on_its_field_stores_nothing_and_costs_no_quota(
    client, app, as_trader, trader, history, session, queue, path, bad, field
):
    body = bad(history.agent.id, history.account.id)
    if path.endswith("sweep"):
        body = {**body, **SWEEP}
    assert field in _fields(client.post(path, json=body, headers=as_trader))
    assert _runs(session) == 0 and queue.created == []
    counter = app.state.counter
    assert counter.peek(f"backtest:{trader.id}", 60)[0] == counter.peek(f"sweep:{trader.id}", 3600)[0] == 0


def test_a_body_past_the_size_limit_is_413(client, as_trader, history, session):
    for path in ("/api/v1/backtests", "/api/v1/backtests/sweep"):
        body = {"config": _config(history.account.id, venue="x" * 70_000), **SWEEP}
        assert client.post(path, json=body, headers=as_trader).status_code == 413
    assert _runs(session) == 0


def test_unknown_accounts_are_422_on_the_field(client, as_trader, history, session, queue):
    body = {"config": _config(history.account.id, ct_account_ids=[history.account.id, 999_999])}
    for path, extra in (("/api/v1/backtests", {}), ("/api/v1/backtests/sweep", SWEEP)):
        reply = client.post(path, json={**body, **extra}, headers=as_trader)
        assert _fields(reply) == ["config.ct_account_ids"] and "999999" in reply.text
    assert _runs(session) == 0 and queue.created == []


def test_the_edges_of_the_dates_answer(app, client, as_trader, history):
    """The first day allowed, and today alone asked a few minutes after midnight (an empty window)."""
    first = {"agent_id": history.agent.id, "period": {"start": "2000-01-01", "end": "2000-01-07"}}
    reply = client.post("/api/v1/backtests", json=first, headers=as_trader)
    assert reply.status_code == 201, reply.text
    assert reply.json()["summary"]["trades"] == 0  # no posts then
    today = utcnow().date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=utcnow().tzinfo)
    app.dependency_overrides[backtests_api._now] = lambda: midnight + timedelta(minutes=7)
    alone = {"agent_id": history.agent.id, "period": {"start": today.isoformat(), "end": today.isoformat()}}
    reply = client.post("/api/v1/backtests", json=alone, headers=as_trader)
    assert reply.status_code == 201, reply.text
    assert reply.json()["start"] == reply.json()["end"]


def test_a_sweep_stored_before_the_date_rules_still_reads(client, as_trader, trader, history, session):
    """A row asked for 2099 before such dates were refused: its owner still reads it (judged when asked)."""
    viewer = CurrentUser(id=trader.id, address=trader.address, role=Role.TRADER)
    period = {"start": "2099-01-01", "end": "2099-01-05"}
    request = SweepRequest.model_validate(
        {"agent_id": history.agent.id, "period": period, **SWEEP}, context=STORED
    )
    run, _created = create_sweep(session, request, viewer=viewer, max_cells=9)
    reply = client.get(f"/api/v1/backtests/sweep/{run.id}", headers=as_trader)
    assert reply.status_code == 200 and reply.json()["status"] == "queued"


def test_neither_or_both_subjects_and_an_agent_you_cannot_see_are_refused(
    client, as_trader, factory, session
):
    assert _fields(client.post("/api/v1/backtests", json={}, headers=as_trader)) == ["body"]
    hidden = backtest_history(factory, posts=1, visibility="private")
    reply = client.post("/api/v1/backtests", json={"agent_id": hidden.agent.id}, headers=as_trader)
    assert _fields(reply) == ["agent_id"]
    reply = client.post(
        "/api/v1/backtests/sweep", json={"agent_id": hidden.agent.id, **SWEEP}, headers=as_trader
    )
    assert _fields(reply) == ["agent_id"]
    assert _runs(session) == 0


@pytest.mark.parametrize(
    ("axes", "field"),
    [
        ([{"name": "rsi", "start": 0, "stop": 100, "step": 10}], "axes"),  # 11 cells, 9 allowed here
        ([{"name": "rsi", "values": [1, 2, 3]}, {"name": "macd", "values": [1, 2, 3, 4]}], "axes"),
        ([{"name": "rsi", "values": [101]}], "axes.0"),
        ([{"name": "rsi", "values": [1]}, {"name": "signal_threshold", "values": ["1.5"]}], "axes.1"),
        ([{"name": "leverage", "values": [2]}], "axes.0.name"),
        ([], "axes"),
    ],
)
def test_a_sweep_is_bounded_and_its_axes_checked(client, as_trader, history, session, queue, axes, field):
    reply = client.post(
        "/api/v1/backtests/sweep", json={"agent_id": history.agent.id, "axes": axes}, headers=as_trader
    )
    assert field in _fields(reply)
    assert _runs(session) == 0 and queue.created == []


def test_backtests_and_sweeps_are_rate_limited_per_user(client, signed_in, trader, factory, history):
    mine, theirs = signed_in(trader), signed_in(factory.user())
    body = {"agent_id": history.agent.id, "period": {"days": 7}}
    for _ in range(5):
        assert client.post("/api/v1/backtests", json=body, headers=mine).status_code in (200, 201)
    refused = client.post("/api/v1/backtests", json=body, headers=mine)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "31"  # the minute's window ends 30 s after the clock
    assert "backtests a minute" in refused.json()["detail"]
    assert client.post("/api/v1/backtests", json=body, headers=theirs).status_code in (200, 201)

    sweep = {"agent_id": history.agent.id, "axes": [{"name": "rsi", "values": [1]}]}
    too_big = {**sweep, "axes": [{"name": "rsi", "start": 0, "stop": 100, "step": 1}]}
    for _ in range(4):  # refused input costs no quota
        assert client.post("/api/v1/backtests/sweep", json=too_big, headers=mine).status_code == 422
        assert (
            client.post("/api/v1/backtests", json={**body, "capital": "1"}, headers=mine).status_code == 422
        )
    for _ in range(3):
        assert client.post("/api/v1/backtests/sweep", json=sweep, headers=mine).status_code == 202
    refused = client.post("/api/v1/backtests/sweep", json=sweep, headers=mine)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3571"  # the hour, 30 s in


def test_someone_elses_backtest_or_sweep_is_404(client, signed_in, trader, factory, history):
    mine, theirs = signed_in(trader), signed_in(factory.user())
    run = client.post("/api/v1/backtests", json={"agent_id": history.agent.id}, headers=mine).json()
    sweep = client.post("/api/v1/backtests/sweep", json={"agent_id": history.agent.id, **SWEEP}, headers=mine)
    sweep_id = sweep.json()["id"]

    assert client.get(f"/api/v1/backtests/{run['id']}", headers=theirs).status_code == 404
    assert client.get(f"/api/v1/backtests/sweep/{sweep_id}", headers=theirs).status_code == 404
    assert client.get("/api/v1/backtests/999999", headers=mine).status_code == 404
    assert client.get("/api/v1/backtests/sweep/999999", headers=mine).status_code == 404
    # A single run's id is not a sweep's, and the other way round.
    assert client.get(f"/api/v1/backtests/sweep/{run['id']}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/backtests/{sweep_id}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/backtests/{run['id']}", headers=mine).status_code == 200


# -- happy paths -----------------------------------------------------------------------------------------


def test_a_backtest_answers_then_answers_again_from_its_row(client, as_trader, history, session):
    body = {"agent_id": history.agent.id, "period": {"days": 30}, "capital": "10000"}
    first = client.post("/api/v1/backtests", json=body, headers=as_trader)
    assert first.status_code == 201, first.text
    result = first.json()
    assert first.headers["location"] == f"/api/v1/backtests/{result['id']}"
    assert (result["agent_id"], result["agent_name"], result["cached"]) == (
        history.agent.id,
        history.agent.name,
        False,
    )
    summary = result["summary"]
    assert Decimal(summary["starting_balance"]) == Decimal(10000)
    assert summary["signals"] > 0 and summary["trades"] + summary["open_trades"] > 0
    assert all(t["post_author"] == history.account.handle for t in result["trades"])
    assert result["equity"] and result["notice"]

    again = client.post("/api/v1/backtests", json=body, headers=as_trader)
    assert again.status_code == 200
    assert again.json()["cached"] is True
    assert {**again.json(), "cached": False} == result

    stored = client.get(f"/api/v1/backtests/{result['id']}", headers=as_trader)
    assert stored.status_code == 200
    assert stored.json()["summary"] == summary and stored.json()["key"] == result["key"]


def test_questions_within_one_bar_share_an_answer_and_the_next_bar_asks_again(
    app, client, as_trader, history, session, queue
):
    """A `days` window ends at the last closed bar (the replay's), not at the minute."""
    bar = floor_to(utcnow(), BAR) - BAR  # a bar wholly past, so the posts are the same throughout

    def ask(at: datetime, path: str = "/api/v1/backtests", extra: dict | None = None):
        app.dependency_overrides[backtests_api._now] = lambda: at
        body = {"agent_id": history.agent.id, "period": {"days": 7}, **(extra or {})}
        return client.post(path, json=body, headers=as_trader)

    first = ask(bar + timedelta(minutes=1))
    assert first.status_code == 201 and datetime.fromisoformat(first.json()["end"]) == bar
    later = ask(bar + BAR - timedelta(seconds=1))
    assert later.status_code == 200 and later.json()["cached"] is True
    assert later.json()["id"] == first.json()["id"]
    next_bar = ask(bar + BAR)
    assert next_bar.status_code == 201 and next_bar.json()["cached"] is False
    assert next_bar.json()["key"] != first.json()["key"]

    # A sweep asked twice within a bar is one sweep; in the next bar, another.
    sweeps = [
        ask(at, "/api/v1/backtests/sweep", SWEEP).json()["id"]
        for at in (bar + timedelta(minutes=2), bar + timedelta(minutes=14), bar + BAR + timedelta(minutes=1))
    ]
    assert sweeps[0] == sweeps[1] != sweeps[2] and queue.created == [sweeps[0], sweeps[2]]


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> ReadingCache:
    """A reading cache of this test's own: post ids and texts repeat from one test database to the next."""
    fresh = ReadingCache()
    monkeypatch.setattr(inputs, "READINGS", fresh)
    return fresh


def test_reclassifying_more_posts_than_allowed_is_422_and_kept_readings_do_not_count(
    client, as_trader, history, session, queue, readings
):
    """RECLASSIFY_MAX_POSTS is 10 here; the history has 24 posts in 30 days, 5 in the last 7."""
    month = {"agent_id": history.agent.id, "period": {"days": 30}, "reclassify": True}
    refused = client.post("/api/v1/backtests", json=month, headers=as_trader)
    assert _fields(refused) == ["reclassify"]
    assert refused.json()["detail"][0]["message"].startswith("24 posts in the period")
    assert _runs(session) == 0

    week = {**month, "period": {"days": 7}}
    assert client.post("/api/v1/backtests", json=week, headers=as_trader).status_code == 201
    # The week's readings are kept: the month now needs 19 fresh ones, still too many.
    refused = client.post("/api/v1/backtests", json=month, headers=as_trader)
    assert refused.json()["detail"][0]["message"].startswith("19 posts in the period")

    # A sweep runs on a worker with readings of its own: every post of the period counts.
    too_many = client.post("/api/v1/backtests/sweep", json={**month, **SWEEP}, headers=as_trader)
    assert _fields(too_many) == ["reclassify"] and queue.created == []
    accepted = client.post("/api/v1/backtests/sweep", json={**week, **SWEEP}, headers=as_trader)
    assert accepted.status_code == 202 and queue.created == [accepted.json()["id"]]
    assert _runs(session) == 2  # the week's backtest and its sweep


def test_a_sweep_is_queued_once_and_reads_its_grid_when_done(client, as_trader, history, session, queue):
    body = {"agent_id": history.agent.id, "period": {"days": 30}, "metric": "winrate", **SWEEP}
    reply = client.post("/api/v1/backtests/sweep", json=body, headers=as_trader)
    assert reply.status_code == 202, reply.text
    accepted = reply.json()
    assert accepted == {"id": accepted["id"], "status": "queued", "progress_done": 0, "progress_total": 4}
    assert queue.created == [accepted["id"]]
    # The same request again (a double click) is the same sweep, queued once.
    assert client.post("/api/v1/backtests/sweep", json=body, headers=as_trader).json()["id"] == accepted["id"]
    assert queue.created == [accepted["id"]] and _runs(session) == 1

    waiting = client.get(f"/api/v1/backtests/sweep/{accepted['id']}", headers=as_trader).json()
    assert (waiting["status"], waiting["cells"], waiting["metric"]) == ("queued", None, "winrate")
    assert [a["name"] for a in waiting["axes"]] == ["tweet", "signal_threshold"]

    run_sweep(session, accepted["id"])  # what the worker runs (the consumer test drives the real one)

    done = client.get(f"/api/v1/backtests/sweep/{accepted['id']}", headers=as_trader).json()
    assert (done["status"], done["progress_done"], done["progress_total"]) == ("done", 4, 4)
    points = [(c["x"], c["y"]) for c in done["cells"]]
    assert points == [("40", "0.3"), ("40", "0.6"), ("80", "0.3"), ("80", "0.6")]
    assert all(c["value"] == c["summary"]["winrate"] for c in done["cells"])
    # A higher threshold takes no more signals than a lower one, whatever the weights.
    by_point = {(c["x"], c["y"]): c["summary"]["signals"] for c in done["cells"]}
    assert by_point[("80", "0.6")] <= by_point[("80", "0.3")]
    rows = session.exec(
        select(BacktestRun).where(col(BacktestRun.kind) == "sweep").order_by(col(BacktestRun.id))
    )
    assert [r.id for r in rows] == [accepted["id"]]


def test_equal_sweeps_asked_at_once_make_one_row(engine, session, history, trader):
    """Four double clicks landing together: one sweep, and every answer names it."""
    viewer = CurrentUser(id=trader.id, address=trader.address, role=Role.TRADER)
    request = SweepRequest.model_validate({"agent_id": history.agent.id, **SWEEP})
    now = utcnow()
    start = threading.Barrier(4)

    def ask() -> int:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            run, _created = create_sweep(own, request, viewer=viewer, max_cells=9, now=now)
            return run.id

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: ask(), range(4)))
    assert len(set(ids)) == 1
    assert _runs(session) == 1
