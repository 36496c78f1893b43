"""`maxxit backtest` in-process with typer's runner: a table by default, the result's JSON with --json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from backend.backtest.schemas import BacktestResult
from backend.cli import app
from backend.config import get_settings
from backend.db import get_engine
from tests.backtest_data import History, backtest_history


@pytest.fixture
def runner(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command's settings name the test's database."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "160")
    _forget()
    yield CliRunner()
    get_engine().dispose()  # the command's engine on the test database
    monkeypatch.undo()
    _forget()


def _forget() -> None:
    """Settings and the default engine are read once per process: make them read the environment again."""
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def history(factory) -> History:
    return backtest_history(factory)


def test_json_prints_the_result_only(runner, history):
    result = runner.invoke(
        app, ["backtest", str(history.agent.id), "--days", "30", "--capital", "2500", "--json"]
    )
    assert result.exit_code == 0, result.output
    parsed = BacktestResult.model_validate(json.loads(result.stdout))
    assert (parsed.agent_id, parsed.capital) == (history.agent.id, Decimal(2500))
    assert parsed.summary.starting_balance == Decimal(2500)
    assert parsed.summary.signals > 0


def test_the_report_is_a_summary_then_exit_reasons_then_tokens(runner, history):
    result = runner.invoke(app, ["backtest", str(history.agent.id), "--days", "30"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert history.agent.name in out
    for heading in ("Total profit", "Max drawdown", "Win rate", "By exit reason", "By token", "Past results"):
        assert heading in out, heading
    assert out.index("Total profit") < out.index("By exit reason") < out.index("By token")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "12"], "Invalid period.days"),
        (["--capital", "5"], "Invalid capital"),
    ],
)
def test_bad_options_exit_2_naming_the_value(runner, history, args, message):
    result = runner.invoke(app, ["backtest", str(history.agent.id), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unknown_or_unlisted_agent_exits_1(runner, factory):
    private = backtest_history(factory, posts=1, visibility="private")
    for agent_id in ("999999", str(private.agent.id)):
        result = runner.invoke(app, ["backtest", agent_id, "--json"])
        assert result.exit_code == 1
        assert result.stdout == ""
        assert f"agent {agent_id} not found" in result.stderr


@pytest.mark.parametrize("agent_id", [str(2**31), str(2**70)])
def test_an_agent_id_past_the_databases_range_exits_2_without_a_traceback(runner, agent_id):
    result = runner.invoke(app, ["backtest", agent_id, "--json"])
    assert result.exit_code == 2, result.output
    assert "Invalid agent_id" in result.stderr and "2147483647" in result.stderr
    # typer.Exit(2) is a clean exit: no exception escaped the command.
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_progress_advances_call_by_call_and_ends_at_the_total(session, history):
    """The command's progress bar follows the real work: one step per post scored, one per market read,
    one for the replay; it never goes back and finishes full."""
    from backend.backtest.schemas import BacktestRequest
    from backend.backtest.service import run_backtest
    from backend.backtest.sources import build_sources

    heard: list[tuple[str, int, int]] = []
    request = BacktestRequest.model_validate({"agent_id": history.agent.id, "period": {"days": 30}})
    result = run_backtest(
        session,
        request,
        viewer=None,
        system=True,
        sources=build_sources(get_settings()),
        progress=lambda stage, done, total: heard.append((stage, done, total)),
    )
    assert result.summary.signals > 0
    totals = {total for _, _, total in heard}
    assert len(totals) == 1
    total = totals.pop()
    done = [d for _, d, _ in heard]
    assert done == sorted(done)
    assert heard[-1] == ("done", total, total)
    scored = [d for stage, d, _ in heard if stage == "scoring posts"]
    assert len(set(scored)) > 20  # the month's 24 posts, one step each
    assert {stage for stage, _, _ in heard} >= {"scoring posts", "reading prices", "replaying", "done"}
