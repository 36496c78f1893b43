"""The agent page's lead chart: the reference book's equity above its drawdown, shaded under water.

Built on `charts.reference_figure` (the equity line and the version marks), so the agent page and the
backtest panel draw the reference book the same way; the drawdown panel is drawn as the backtest's is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.monitor.equity import EquityCurve
from maxxit_ui.components.charts import DRAWDOWN_FILLS, GRID, drawdown_axis, reference_figure


def track_figure(
    curve: EquityCurve,
    drawdown: Sequence[Decimal],
    versions: list[tuple[int, datetime]],
    *,
    height: int = 360,
) -> go.Figure:
    """Equity (with each later version marked) over the fall from its running peak at each point."""
    equity = reference_figure(curve, versions)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06)
    for trace in equity.data:
        figure.add_trace(trace, row=1, col=1)
    figure.add_trace(
        go.Scatter(
            x=[p.at for p in curve.points],
            y=[float(fall) for fall in drawdown],
            name="Drawdown",
            mode="lines",
            fill="tozeroy",
            fillcolor=DRAWDOWN_FILLS[0],
            line={"color": DRAWDOWN_FILLS[0], "width": 1, "shape": "hv"},
            hovertemplate="%{x|%Y-%m-%d %H:%M} · drawdown %{y:.1%}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    # The frame, the version marks and their labels are the equity chart's own.
    figure.update_layout(
        equity.layout, height=height, showlegend=False, xaxis2={"gridcolor": GRID, "type": "date"}
    )
    figure.update_yaxes(tickprefix="$", tickformat=",.0f", row=1, col=1)
    drawdown_axis(figure, tickformat=".0%")
    return figure
