"""Plotly figure builders. Floats appear only here, at the chart (money stays Decimal elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.backtest.schemas import EquityOut
from backend.models.agents import WEIGHT_NAMES
from backend.monitor.charts import PositionChart
from backend.monitor.equity import EquityCurve
from backend.trading.returns import rebase
from maxxit_ui.components import format as fmt

ACCENT = "#29a383"  # Radix jade 9, the theme's accent
GRID = "rgba(255,255,255,0.08)"
TEXT = "#b0b4ba"
INDICATOR_LABELS: dict[str, str] = {
    "tweet": "Tweet",
    "rsi": "RSI",
    "macd": "MACD",
    "bollinger": "Bollinger",
    "volume": "Volume",
    "moving_average": "Moving avg",
    "momentum": "Momentum",
    "volatility": "Volatility",
}


def weights_chart(weights: Mapping[str, int]) -> go.Figure:
    """Bar chart of the 8 strategy weights (0-100) in WEIGHT_NAMES order, so agents compare at a glance."""
    names = [INDICATOR_LABELS.get(name, name) for name in WEIGHT_NAMES]
    values = [int(weights.get(name, 0)) for name in WEIGHT_NAMES]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker={"color": ACCENT, "line": {"width": 0}},
            text=values,
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    figure.update_layout(
        height=300,
        margin={"l": 40, "r": 16, "t": 24, "b": 48},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 12},
        showlegend=False,
        bargap=0.35,
        xaxis={"showgrid": False, "tickangle": 0, "fixedrange": True},
        yaxis={"range": [0, 110], "gridcolor": GRID, "zeroline": False, "fixedrange": True, "dtick": 25},
    )
    return figure


# -- the trader's dashboard ---------------------------------------------------------------------------------

PRICE = "#70b8ff"  # Radix blue 11: the mids
ENTRY = "#b0b4ba"
STOP = "#ff6369"  # Radix red 10
BEST = "#3dd68c"  # Radix green 10
EXIT = "#ffc53d"  # Radix amber 9
TAKE = "#3dd68c"  # Radix green 10: the take-profit
LIQUIDATION = "#ff977d"  # Radix tomato 11: where the venue takes the margin
NEAR = 1.0  # a line within this many price-path spans of the path is drawn in place; further ones at the edge
MIN_SPAN = 0.005  # of the price: a quiet path still gets a window of half a percent
REASON_LABELS: dict[str, str] = {
    "STOP_LOSS": "Stop loss",
    "TAKE_PROFIT": "Take profit",
    "TRAILING_STOP": "Trailing stop",
    "TIME_LIMIT": "Time limit",
    "MANUAL": "Closed by you",
    "EXTERNAL": "Closed outside",
}


def _dark_layout(figure: go.Figure, *, height: int, revision: str) -> go.Figure:
    """The dashboard's chart frame; `uirevision` keeps a trader's zoom across the live updates."""
    figure.update_layout(
        height=height,
        margin={"l": 52, "r": 12, "t": 28, "b": 32},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 11},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 11}},
        hovermode="x unified",
        uirevision=revision,
        xaxis={"gridcolor": GRID, "zeroline": False, "type": "date"},
        yaxis={"gridcolor": GRID, "zeroline": False, "tickformat": ",.6~g"},
    )
    return figure


def position_figure(chart: PositionChart) -> go.Figure:
    """Price since entry, the entry line, the stop as a step line, the trailing high, the take-profit and
    liquidation lines, and the exit if any.

    The stop and the trailing high change only when a new best price is seen, so both are drawn as steps
    ("hv"): flat until the tick that moved them. The y-axis frames the price path (see `price_window`).
    """
    times = [p.at for p in chart.points]
    end = chart.exit_at or (times[-1] if times else chart.opened_at)
    start = chart.opened_at
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[start, end],
            y=[float(chart.entry_price)] * 2,
            name="Entry",
            mode="lines",
            line={"color": ENTRY, "dash": "dash", "width": 1},
            hovertemplate="entry %{y:,.6~g}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[start, *times, end] if times else [start, end],
            y=[float(v) for v in _stops(chart)],
            name="Stop",
            mode="lines",
            line={"color": STOP, "shape": "hv", "width": 1.5},
            hovertemplate="stop %{y:,.6~g}<extra></extra>",
        )
    )
    if times:
        figure.add_trace(
            go.Scatter(
                x=[start, *times],
                y=[float(chart.entry_price)] + [float(p.best) for p in chart.points],
                name="Trailing high" if chart.side == "long" else "Trailing low",
                mode="lines",
                line={"color": BEST, "shape": "hv", "width": 1, "dash": "dot"},
                hovertemplate="best %{y:,.6~g}<extra></extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=times,
                y=[float(p.price) for p in chart.points],
                name="Price",
                mode="lines",
                line={"color": PRICE, "width": 2},
                hovertemplate="%{y:,.6~g}<extra></extra>",
            )
        )
    if chart.exit_at is not None and chart.exit_price is not None:
        reason = REASON_LABELS.get(str(chart.close_reason), "Exit")
        figure.add_trace(
            go.Scatter(
                x=[chart.exit_at],
                y=[float(chart.exit_price)],
                name=f"Exit · {reason}",
                mode="markers",
                marker={"color": EXIT, "size": 11, "symbol": "x", "line": {"width": 1, "color": EXIT}},
                hovertemplate="exit %{y:,.6~g}<extra></extra>",
            )
        )
    figure = _dark_layout(figure, height=240, revision=f"position-{chart.position_id}")
    low, high, away = price_window(chart)
    figure.update_yaxes(range=[low, high], autorange=False)
    for name, price, color in _levels(chart)[1:]:  # the stop is its own step trace
        if low <= price <= high:
            label = f"{name} {fmt.price(Decimal(str(price)), chart.tick_size)}"
            figure.add_hline(y=price, line={"color": color, "width": 1, "dash": "dot"})
            figure.add_annotation(**_edge_label(label, color, y=price, yref="y", yanchor="bottom"))
    for name, price, color in away:
        top = price > high  # named at the edge it lies beyond, with its price: nothing is hidden
        arrow = "▲" if top else "▼"
        figure.add_annotation(
            **_edge_label(
                f"{arrow} {name} {fmt.price(Decimal(str(price)), chart.tick_size)}",
                color,
                y=1 if top else 0,
                yref="paper",
                yanchor="top" if top else "bottom",
            )
        )
    return figure


def _levels(chart: PositionChart) -> list[tuple[str, float, str]]:
    """The lines a trader measures the price against: the stop now, take-profit, liquidation."""
    lines = [
        ("Stop", chart.stop_price, STOP),
        ("Take profit", chart.take_profit_price, TAKE),
        ("Liquidation", chart.liquidation_price, LIQUIDATION),
    ]
    return [(name, float(price), color) for name, price, color in lines if price is not None]


def _edge_label(text: str, color: str, **where: object) -> dict[str, object]:
    return {
        "text": text,
        "x": 1,
        "xref": "paper",
        "xanchor": "right",
        "showarrow": False,
        "font": {"color": color, "size": 10},
        **where,
    }


def price_window(chart: PositionChart) -> tuple[float, float, list[tuple[str, float, str]]]:
    """The y-range of a position's chart, and the lines left outside it.

    A trader watches the price move against the lines that end it. Spanning entry to a 10% stop (or to a
    liquidation 30% away) flattens a 1% move into a line, so the window frames the price path, the entry
    and the exit, padded; the stop, take-profit and liquidation lines join it when they lie within a
    path's span of it (near enough to matter now: a trailing stop usually is), and the others are named
    at the top or bottom edge with their price, so the trader still reads how far away they are.
    """
    prices = [float(p.price) for p in chart.points] + [float(chart.entry_price)]
    if chart.exit_price is not None:
        prices.append(float(chart.exit_price))
    low, high = min(prices), max(prices)
    span = max(high - low, MIN_SPAN * high)
    near, away = [], []
    for line in _levels(chart):
        (near if low - NEAR * span <= line[1] <= high + NEAR * span else away).append(line)
    low = min([low, *(price for _, price, _ in near)])
    high = max([high, *(price for _, price, _ in near)])
    pad = max(high - low, MIN_SPAN * high) * 0.08
    return low - pad, high + pad, away


def _stops(chart: PositionChart) -> list[Decimal]:
    """The stop from the entry (the hard stop), after every point, and held to the end of the chart."""
    if not chart.points:
        return [chart.hard_stop, chart.stop_price]
    return [chart.hard_stop, *(p.stop for p in chart.points), chart.points[-1].stop]


def equity_figure(curve: EquityCurve, *, height: int = 220) -> go.Figure:
    """A deployment's equity (PnL for a Hyperliquid account) stepping at each close, then today's open PnL.

    The whole account draws its net PnL: deployments' capital are deposits, and a deposit is not growth.
    """
    net = curve.deployment_id is None or not curve.capital_known
    figure = go.Figure(
        go.Scatter(
            x=[p.at for p in curve.points],
            y=[float(p.pnl if curve.deployment_id is None else p.equity) for p in curve.points],
            name="Net PnL" if net else "Equity",
            mode="lines+markers",
            line={"color": ACCENT, "shape": "hv", "width": 2},
            marker={"size": 5},
            hovertemplate="%{x|%Y-%m-%d %H:%M} · $%{y:,.2f}<extra></extra>",
        )
    )
    figure = _dark_layout(figure, height=height, revision=f"equity-{curve.deployment_id or 'account'}")
    figure.update_layout(showlegend=False, yaxis={"tickprefix": "$", "tickformat": ",.2f"})
    if not curve.points:  # an empty date axis reads "Jan-Nov 2000": say there is nothing yet instead
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        figure.add_annotation(
            text="No equity yet", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 13}
        )
    return figure


VERSION = "#9b9ef0"  # Radix iris 10: the agent's version changes


def reference_figure(
    curve: EquityCurve, versions: list[tuple[int, datetime]], *, height: int = 260
) -> go.Figure:
    """The reference book's equity with a dashed line and a "v2" label where each later version began."""
    figure = equity_figure(curve, height=height)
    start = curve.points[0].at if curve.points else None
    for number, at in versions:
        if number == 1 or (start is not None and at < start):
            continue  # version 1 is where the curve starts
        figure.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=at,
            x1=at,
            y0=0,
            y1=1,
            line={"color": VERSION, "width": 1, "dash": "dot"},
        )
        figure.add_annotation(
            x=at,
            y=1,
            xref="x",
            yref="paper",
            text=f"v{number}",
            showarrow=False,
            yanchor="bottom",
            font={"color": VERSION, "size": 11},
        )
    figure.update_layout(uirevision=f"reference-{curve.deployment_id}")
    return figure


# -- backtests -----------------------------------------------------------------------------------------------

RUN_COLORS = (ACCENT, PRICE)  # run A (or the only run), run B
DRAWDOWN_FILLS = ("rgba(255,99,105,0.30)", "rgba(112,184,255,0.25)")  # red for A, blue for B
REFERENCE = "#ffc53d"  # Radix amber 9: the agent's reference book


def backtest_figure(
    runs: Sequence[tuple[str, Sequence[EquityOut]]],
    *,
    reference: EquityCurve | None = None,
    height: int = 340,
) -> go.Figure:
    """Daily equity of one run (or two, overlaid) above its drawdown, shaded under water below.

    The drawdown panel plots each day's fall from the running peak as the result states it (a fraction,
    drawn as a percent by the axis' tick format, downwards). `reference`, when given, is the agent's
    reference book over the part of the first run's window where it existed.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    for i, (label, points) in enumerate(runs[:2]):
        days = [p.at for p in points]
        figure.add_trace(
            go.Scatter(
                x=days,
                y=[float(p.equity) for p in points],
                name=label,
                mode="lines",
                line={"color": RUN_COLORS[i], "width": 2},
                hovertemplate=f"{label} · %{{x|%Y-%m-%d}} · $%{{y:,.2f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=days,
                y=[float(p.drawdown) for p in points],
                name=f"{label} drawdown",
                mode="lines",
                fill="tozeroy",
                fillcolor=DRAWDOWN_FILLS[i],
                line={"color": DRAWDOWN_FILLS[i], "width": 1},
                showlegend=False,
                hovertemplate=f"{label} drawdown · %{{y:.1%}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    if reference is not None and runs and runs[0][1]:
        first = runs[0][1]
        points = reference_window(reference, first[0].at, first[-1].at)
        # From the backtest's own equity where the window starts: the two lines compare growth, not size.
        rebased = rebase([equity for _, equity in points], first[0].equity)
        if rebased:
            figure.add_trace(
                go.Scatter(
                    x=[at for at, _ in points],
                    y=[float(equity) for equity in rebased],
                    name="Reference book (same start)",
                    mode="lines",
                    line={"color": REFERENCE, "width": 1.5, "dash": "dot", "shape": "hv"},
                    hovertemplate="reference book, from the same start · $%{y:,.2f}<extra></extra>",
                ),
                row=1,
                col=1,
            )
    figure.update_layout(
        height=height,
        margin={"l": 56, "r": 12, "t": 28, "b": 28},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 11},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 11}},
        hovermode="x unified",
        showlegend=len(runs) > 1 or reference is not None,
    )
    figure.update_xaxes(gridcolor=GRID, zeroline=False, type="date")
    figure.update_yaxes(gridcolor=GRID, zeroline=False, tickprefix="$", tickformat=",.0f", row=1, col=1)
    drawdown_axis(figure, tickformat=".1~%")
    return figure


def drawdown_axis(figure: go.Figure, *, tickformat: str) -> None:
    """The lower panel's axis: the fall from the peak (a fraction, shown as a percent) growing downwards."""
    figure.update_yaxes(
        gridcolor=GRID,
        zeroline=False,
        tickformat=tickformat,
        autorange="reversed",
        rangemode="tozero",
        row=2,
        col=1,
    )


def reference_window(curve: EquityCurve, start: datetime, end: datetime) -> list[tuple[datetime, Decimal]]:
    """The reference book's equity from `start` (or its first point, if later) to `end`: the value it held
    at `start`, each step inside the window, and the last value held on to `end`. Empty without overlap."""
    before = [p for p in curve.points if p.at <= start]
    points = [(p.at, p.equity) for p in curve.points if start < p.at <= end]
    if before:
        points.insert(0, (start, before[-1].equity))
    if points and points[-1][0] < end:
        points.append((end, points[-1][1]))  # a step chart holds its last value
    return points
