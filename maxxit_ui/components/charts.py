"""Plotly figure builders. Floats appear only here, at the chart (money stays Decimal elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import plotly.graph_objects as go

from backend.models.agents import WEIGHT_NAMES
from backend.monitor.charts import PositionChart
from backend.monitor.equity import EquityCurve

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
    """Price since entry, the entry line, the stop as a step line, the trailing high, and the exit if any.

    The stop and the trailing high change only when a new best price is seen, so both are drawn as steps
    ("hv"): flat until the tick that moved them.
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
    return _dark_layout(figure, height=240, revision=f"position-{chart.position_id}")


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
