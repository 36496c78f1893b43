"""Plotly figure builders. Floats appear only here, at the chart (money stays Decimal elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from backend.models.agents import WEIGHT_NAMES

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
