"""The sweep page `/backtests/sweep`: pick an agent, one or two axes and a figure; start; watch; read.

The sweep runs on the workers (`backend.backtest.sweep`); the page's timer polls its row while it runs and
draws the heatmap once it is done. Hovering a cell shows its figures; clicking pins them below the chart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

import plotly.graph_objects as go
import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlmodel import Session

from backend.agents.editing import list_my_agents
from backend.agents.service import AgentNotFound, can_view
from backend.auth.errors import RateLimited
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import shared_counter
from backend.backtest import sweep
from backend.backtest.limits import count_sweep
from backend.backtest.sweep import AXIS_NAMES, SweepCell, SweepOut, SweepRequest
from backend.config import get_settings
from backend.models import Agent
from backend.runtime import configured_sweeps
from backend.signals.errors import InputRejected
from maxxit_ui.state.mixins import UNAVAILABLE, PollingMixin, Query

logger = logging.getLogger(__name__)

AXIS_LABELS = {
    "tweet": "Tweet weight",
    "rsi": "RSI weight",
    "macd": "MACD weight",
    "bollinger": "Bollinger weight",
    "volume": "Volume weight",
    "moving_average": "Moving average weight",
    "momentum": "Momentum weight",
    "volatility": "Volatility weight",
    "signal_threshold": "Signal threshold",
}
METRIC_LABELS = {
    "profit_total": "Total profit",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "calmar": "Calmar",
    "max_drawdown": "Max drawdown",
    "winrate": "Win rate",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy (USD)",
}
PERCENT_METRICS = {"profit_total", "max_drawdown", "winrate"}
NO_AXIS = "none"
# Which page field a request error belongs beside.
# (A list-wide complaint on `axes` is two axes naming the same setting: the second one's.)
FIELD_OF = {"axes.0": "x_values", "axes.1": "y_values", "axes": "y_axis", "agent_id": "agent"}


class AgentOption(TypedDict):
    id: str
    name: str


class CellFigure(TypedDict):
    label: str
    value: str


# -- pure helpers (unit tested) ----------------------------------------------------------------------------


def axis_spec(name: str, text: str) -> dict[str, Any]:
    """`"0, 25, 50"` as values, `"0:100:10"` as start:stop:step; the request model judges the numbers."""
    text = text.strip()
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) != 3:
            return {"name": name, "values": ["start:stop:step"]}  # refused by the model, beside the field
        return {"name": name, "start": parts[0], "stop": parts[1], "step": parts[2]}
    return {"name": name, "values": [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]}


def request_body(
    *,
    agent: str,
    x_axis: str,
    x_values: str,
    y_axis: str,
    y_values: str,
    metric: str,
    days: str,
    capital: str,
) -> dict[str, Any]:
    axes = [axis_spec(x_axis, x_values)]
    if y_axis and y_axis != NO_AXIS:
        axes.append(axis_spec(y_axis, y_values))
    return {
        "agent_id": agent or None,
        "period": {"days": int(days) if days.isdigit() else days},
        "capital": capital,
        "axes": axes,
        "metric": metric,
    }


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message per page field; values the page does not show go under "form"."""
    out: dict[str, str] = {}
    for problem in error.errors():
        loc = [str(part) for part in problem["loc"]]
        dotted = ".".join(loc[:2]) if loc[:1] == ["axes"] and len(loc) > 1 else ".".join(loc[:1])
        field = FIELD_OF.get(dotted, {"period": "days", "capital": "capital"}.get(dotted, "form"))
        out.setdefault(field, problem["msg"])
    return out


def metric_text(metric: str, value: Decimal | None) -> str:
    if value is None:
        return "-"
    if metric in PERCENT_METRICS:
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}"


def cell_figures(cell: SweepCell) -> list[CellFigure]:
    s = cell.summary
    figures = [
        ("Total profit", f"{metric_text('profit_total', s.profit_total)} ({s.profit_total_abs:,.2f} USD)"),
        ("Trades", str(s.trades)),
        ("Win rate", metric_text("winrate", s.winrate)),
        ("Max drawdown", metric_text("max_drawdown", s.max_drawdown)),
        ("Sharpe", metric_text("sharpe", s.sharpe)),
        ("Sortino", metric_text("sortino", s.sortino)),
        ("Calmar", metric_text("calmar", s.calmar)),
        ("Profit factor", metric_text("profit_factor", s.profit_factor)),
        ("Expectancy (USD)", metric_text("expectancy", s.expectancy)),
        ("Fees paid (USD)", f"{s.fees_paid:,.2f}"),
    ]
    return [CellFigure(label=label, value=value) for label, value in figures]


def _key(value: Any) -> str:
    try:
        return str(Decimal(str(value)).normalize() + 0)
    except (InvalidOperation, ValueError):
        return str(value)


def heatmap(out: SweepOut) -> go.Figure:
    """The chosen figure over the grid: x the first axis, y the second (one row for a single axis)."""
    xs = [_key(v) for v in out.axes[0].values]
    ys = [_key(v) for v in out.axes[1].values] if len(out.axes) > 1 else [METRIC_LABELS[out.metric]]
    by_point = {(_key(c.x), _key(c.y) if c.y is not None else ys[0]): c for c in out.cells or []}
    scale = Decimal(100) if out.metric in PERCENT_METRICS else Decimal(1)
    z: list[list[float | None]] = []
    hover: list[list[str]] = []
    for y in ys:
        row_z: list[float | None] = []
        row_hover: list[str] = []
        for x in xs:
            cell = by_point.get((x, y))
            value = cell.value if cell is not None else None
            row_z.append(None if value is None else float(value * scale))
            row_hover.append(
                "<br>".join(f"{f['label']}: {f['value']}" for f in cell_figures(cell)) if cell else ""
            )
        z.append(row_z)
        hover.append(row_hover)
    figure = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=z,
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale="RdYlGn_r" if out.metric == "max_drawdown" else "RdYlGn",
            colorbar={"title": {"text": "%" if scale == 100 else ""}, "thickness": 10},
            hoverongaps=False,
        )
    )
    figure.update_layout(
        height=380,
        margin={"l": 56, "r": 8, "t": 16, "b": 48},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#b0b4ba", "size": 11},
        xaxis={"type": "category", "title": {"text": AXIS_LABELS[out.axes[0].name]}},
        yaxis={
            "type": "category",
            "title": {"text": AXIS_LABELS[out.axes[1].name] if len(out.axes) > 1 else ""},
        },
    )
    return figure


def pick_cell(out: SweepOut, x: Any, y: Any) -> SweepCell | None:
    for cell in out.cells or []:
        if _key(cell.x) == _key(x) and (cell.y is None or _key(cell.y) == _key(y)):
            return cell
    return None


# -- backend calls ---------------------------------------------------------------------------------------


def _agents(session: Session, user: CurrentUser, wanted: int | None) -> list[AgentOption]:
    """The user's own agents, plus the one the URL names when the user may see it (a public agent)."""
    options = [AgentOption(id=str(a.id), name=a.name) for a in list_my_agents(session, user)]
    if wanted is not None and all(o["id"] != str(wanted) for o in options):
        agent = session.get(Agent, wanted)
        if agent is not None and can_view(agent, user):
            options.insert(0, AgentOption(id=str(agent.id), name=agent.name))
    return options


def _start(session: Session, user: CurrentUser, request: SweepRequest) -> int:
    settings = get_settings()
    sweep.check_size(request, settings.sweep_max_cells)
    count_sweep(shared_counter(settings.redis_url), settings, user.id)
    run, created = sweep.create_sweep(session, request, viewer=user, max_cells=settings.sweep_max_cells)
    assert run.id is not None
    if created:
        try:
            configured_sweeps.sweep_created(run.id)
        except Exception:
            logger.exception("sweep %s stored but not queued; a worker will pick it up", run.id)
    return run.id


def _sweep_or_none(session: Session, run_id: int, user: CurrentUser) -> SweepOut | None:
    """The sweep's row; None when it is gone (the next tick asks again, as after a failed read)."""
    try:
        return sweep.get_sweep(session, run_id, viewer=user)
    except sweep.SweepNotFound:
        logger.warning("sweep page: sweep %s not found", run_id)
        return None


class BacktestSweepState(PollingMixin, rx.State):
    """The page's timer polls the sweep's row while it runs (`can_poll`) and draws the grid once done."""

    agents: list[AgentOption] = []
    agent: str = ""
    x_axis: str = "tweet"
    x_values: str = "0:100:25"
    y_axis: str = "signal_threshold"
    y_values: str = "0.3, 0.4, 0.5, 0.6"
    metric: str = "profit_total"
    days: str = "30"
    capital: str = "10000"
    errors: dict[str, str] = {}
    starting: bool = False
    sweep_id: str = ""
    sweep_status: str = ""
    progress_done: int = 0
    progress_total: int = 0
    figure: go.Figure = go.Figure()
    picked_title: str = ""
    picked: list[CellFigure] = []
    _out: SweepOut | None = None

    @rx.var
    def running(self) -> bool:
        return self.sweep_status in ("queued", "running")

    @rx.var
    def progress_pct(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.errors = "loading", "", {}
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        raw = self.router.url.query_parameters.get("agent", "")
        wanted = int(raw) if raw.isdigit() and len(raw) < 10 else None
        agents = await self._fetch(lambda session: _agents(session, user, wanted), "sweep page: agents")
        if agents is UNAVAILABLE:
            return
        self.agents, ids = agents, [a["id"] for a in agents]
        self.agent = str(wanted) if wanted is not None and str(wanted) in ids else (ids[0] if ids else "")
        self._show_ready()

    @rx.event
    def set_field(self, name: str, value: str) -> None:
        if name in ("agent", "x_axis", "x_values", "y_axis", "y_values", "metric", "days", "capital"):
            setattr(self, name, value)
            self.errors = {k: v for k, v in self.errors.items() if k != name}

    @rx.event
    async def start(self) -> AsyncIterator[EventSpec | None]:
        if self.starting or self.running:
            return
        body = request_body(
            agent=self.agent,
            x_axis=self.x_axis if self.x_axis in AXIS_NAMES else "",
            x_values=self.x_values,
            y_axis=self.y_axis,
            y_values=self.y_values,
            metric=self.metric,
            days=self.days,
            capital=self.capital,
        )
        try:
            request = SweepRequest.model_validate(body)
        except ValidationError as e:
            self.errors = field_errors(e)
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        self.starting, self.errors, self.error = True, {}, ""
        yield
        try:
            done = await self._attempt(lambda session: _start(session, user, request), "starting a sweep")
        except InputRejected as e:  # too many cells: the grid as a whole
            self.errors = {"form": str(e)}
            return
        except AgentNotFound as e:
            self.errors = {"agent": str(e)}
            return
        except RateLimited as e:
            self.error = str(e)
            return
        finally:
            self.starting = False
        if not done.ok:
            self.error = done.message
            return
        self.sweep_id, self.sweep_status = str(done.value), "queued"
        self.progress_done, self.progress_total = 0, request.cell_count()
        self.figure, self.picked, self.picked_title, self._out = go.Figure(), [], "", None

    def _can_poll(self) -> bool:
        return self.status == "ready" and self.running and self.sweep_id != ""

    def _poll_query(self, user: CurrentUser) -> Query[SweepOut | None]:
        run_id = int(self.sweep_id)
        return lambda session: _sweep_or_none(session, run_id, user)

    def _poll_apply(self, out: SweepOut | None) -> None:
        if out is not None and str(out.id) == self.sweep_id:
            self._show(out)

    def _show(self, out: SweepOut) -> None:
        self.sweep_status = out.status
        self.progress_done, self.progress_total = out.progress_done, out.progress_total
        if out.status == "failed":
            self.error = out.error or "The sweep failed."
        if out.status == "done":
            self._out = out
            self.figure = heatmap(out)

    @rx.event
    def pick(self, points: list[dict[str, Any]]) -> None:
        """A clicked cell: its figures below the chart."""
        if self._out is None or not points:
            return
        point = points[0]
        cell = pick_cell(self._out, point.get("x"), point.get("y"))
        if cell is None:
            return
        names = [AXIS_LABELS[a.name] for a in self._out.axes]
        title = f"{names[0]} {_key(cell.x)}"
        if cell.y is not None:
            title += f", {names[1]} {_key(cell.y)}"
        self.picked_title, self.picked = title, cell_figures(cell)
