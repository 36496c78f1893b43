"""Signal history page `/agents/[agent_id]/signals`: every signal, filterable by token, and why each scored.

Rows arrive formatted from `backend.signals.history`; clicking one explains its score with a chart of the
eight feature values beside each one's weighted contribution (the contributions add up to the score).
Private agents are readable by their creator and admins only; everyone else sees "Agent not found".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import TypedDict

import plotly.graph_objects as go
import reflex as rx

from backend.agents.service import AgentNotFound
from backend.models.agents import WEIGHT_NAMES
from backend.signals.history import MAX_TOKEN_LENGTH, SignalPage, SignalView, list_signals
from backend.signals.outcomes import outcome_of
from maxxit_ui.components import format as fmt
from maxxit_ui.components.charts import ACCENT, GRID, INDICATOR_LABELS, TEXT
from maxxit_ui.state.auth import current_user
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin, PagerMixin
from maxxit_ui.state.rows import agent_href

PAGE_SIZE = 25
POST_PREVIEW = 90
FEATURE_COLOR = "#5b6570"  # a neutral grey beside the accent-coloured contributions
NO_SIGNALS = (
    "No signals yet — this agent trades when accounts it follows post a call that scores above its threshold."
)


class SignalHistoryRow(TypedDict):
    id: str
    time: str
    token: str
    side: str
    side_color: str
    score: str
    score_tone: str
    handle: str
    post: str
    post_full: str
    outcome: str
    outcome_kind: str


class FeatureRow(TypedDict):
    label: str
    value: str
    weight: str
    contribution: str


def truncate(text: str, limit: int = POST_PREVIEW) -> str:
    """One line of at most `limit` characters, cut with an ellipsis; the full text goes in a tooltip."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def score_label(score: Decimal, threshold: Decimal) -> str:
    """ "0.65 ≥ 0.55": the score beside the bar it had to clear."""
    return f"{fmt.ratio(score)} {'≥' if score >= threshold else '<'} {fmt.ratio(threshold)}"


def signal_row(view: SignalView) -> SignalHistoryRow:
    post, outcome = view.post_text or "", outcome_of(view)
    return SignalHistoryRow(
        id=str(view.id),
        time=fmt.timestamp(view.created_at),
        token=view.token,
        side=view.side.upper(),
        side_color="green" if view.side == "long" else "red",
        score=score_label(view.score, view.threshold),
        score_tone="positive" if view.score >= view.threshold else "muted",
        handle=f"@{view.post_handle}" if view.post_handle else "—",
        post=truncate(post) if post else "No post recorded",
        post_full=post,
        outcome=outcome.sentence,
        outcome_kind=outcome.kind.value,
    )


def feature_rows(view: SignalView) -> list[FeatureRow]:
    """One line per feature in WEIGHT_NAMES order; a feature the signal did not record reads "—"."""
    rows = []
    for name in WEIGHT_NAMES:
        value, share = view.features.get(name), view.contributions.get(name)
        rows.append(
            FeatureRow(
                label=INDICATOR_LABELS.get(name, name),
                value="—" if value is None else fmt.ratio(value, places=3),
                weight=str(view.weights.get(name, 0)),
                contribution="—" if share is None else fmt.ratio(share, places=3),
            )
        )
    return rows


def own_lines(view: SignalView) -> list[str]:
    """The viewer's own deployments' outcomes, reasons in full: "Deployment #12: skipped, insufficient …"."""
    lines = []
    for execution in view.mine:
        line = f"Deployment #{execution.deployment_id}: {fmt.label(execution.status).lower()}"
        lines.append(f"{line}, {execution.reason}" if execution.reason else line)
    return lines


def signal_meta(view: SignalView) -> str:
    """Who posted and how sure the classifier was: "@handle · gpt-4o-mini, 88% confident"."""
    parts = [f"@{view.post_handle}"] if view.post_handle else []
    if view.post_classifier:
        confidence = view.post_confidence
        sure = "" if confidence is None else f", {fmt.percent(confidence, fraction=True, places=0)} confident"
        parts.append(f"classified by {view.post_classifier}{sure}")
    return " · ".join(parts) or "No post recorded"


def explanation_chart(features: Mapping[str, Decimal], contributions: Mapping[str, Decimal]) -> go.Figure:
    """Feature values (0-1) beside their weighted contributions, in WEIGHT_NAMES order. Floats start here."""
    names = [INDICATOR_LABELS.get(name, name) for name in WEIGHT_NAMES]

    def series(values: Mapping[str, Decimal]) -> list[float | None]:
        return [float(values[n]) if n in values else None for n in WEIGHT_NAMES]

    def bars(label: str, values: list[float | None], color: str) -> go.Bar:
        return go.Bar(
            name=label,
            x=names,
            y=values,
            marker={"color": color, "line": {"width": 0}},
            text=[f"{v:.2f}" if v is not None else "" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}} {label.lower()}: %{{y:.3f}}<extra></extra>",
        )

    figure = go.Figure(
        [
            bars("Feature value", series(features), FEATURE_COLOR),
            bars("Weighted contribution", series(contributions), ACCENT),
        ]
    )
    figure.update_layout(
        height=320,
        barmode="group",
        margin={"l": 40, "r": 16, "t": 40, "b": 48},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 12},
        legend={"orientation": "h", "x": 0, "y": 1.15},
        bargap=0.3,
        xaxis={"showgrid": False, "tickangle": 0, "fixedrange": True},
        yaxis={"range": [0, 1.1], "gridcolor": GRID, "zeroline": False, "fixedrange": True, "dtick": 0.25},
    )
    return figure


class AgentSignalsState(PagerMixin, LoadMixin, rx.State):
    """The page's rows and the clicked signal's explanation; `status` picks which page state renders
    (loading, ready, not_found or error)."""

    agent_name: str = ""
    agent_link: str = ""
    threshold: str = ""
    token: str = ""
    page_size: int = PAGE_SIZE
    empty_text: str = NO_SIGNALS
    rows: list[SignalHistoryRow] = []
    selected_id: str = ""
    selected_title: str = ""
    selected_post: str = ""
    selected_meta: str = ""
    selected_outcome: str = ""
    selected_kind: str = ""
    selected_score: str = ""
    selected_mine: list[str] = []
    features: list[FeatureRow] = []
    features_figure: go.Figure = go.Figure()

    _agent_id: int = 0
    _views: dict[str, SignalView] = {}

    @rx.var
    def count_label(self) -> str:
        return f"{self.total} signal{'' if self.total == 1 else 's'}"

    @rx.var
    def page_title(self) -> str:
        if self.status == "not_found":
            return "Agent not found · Maxxit"
        return f"Signals: {self.agent_name} · Maxxit" if self.status == "ready" else "Signals · Maxxit"

    @rx.event
    async def load(self) -> AsyncIterator[None]:
        """on_load: a fresh page for the agent in the URL; malformed ids are "Agent not found" too."""
        self.status, self.error, self.token, self.page, self.rows = "loading", "", "", 1, []
        self._clear_selection()
        yield  # never show the previous agent's signals under a new URL
        raw_id: str = self.agent_id  # the dynamic route arg Reflex adds to the root state
        if not raw_id.isdigit() or int(raw_id) < 1:
            self.status = "not_found"
            return
        self._agent_id = int(raw_id)
        await self._reload_page()

    async def _reload_page(self) -> None:
        agent_id, token, offset = self._agent_id, self.token, (self.page - 1) * PAGE_SIZE
        viewer = await current_user(self)
        result = await self._fetch(
            lambda session: list_signals(
                session, agent_id=agent_id, viewer=viewer, limit=PAGE_SIZE, offset=offset, token=token
            ),
            f"signals of agent {agent_id}",
            {AgentNotFound: "not_found"},
        )
        if result is UNAVAILABLE:
            return
        if self._set_total(result.total):  # the filter shrank the list under us: read the last page
            await self._reload_page()
        else:
            self._show(result)

    def _show(self, result: SignalPage) -> None:
        self.agent_name = result.agent_name
        self.agent_link = agent_href(result.agent_id)
        self.threshold = fmt.ratio(result.threshold)
        self._views = {str(view.id): view for view in result.items}
        self.rows = [signal_row(view) for view in result.items]
        token = self.token.strip().upper()
        self.empty_text = f"No {token} signals yet." if token else NO_SIGNALS
        if self.selected_id not in self._views:
            self._clear_selection()
        self._show_ready()

    def _clear_selection(self) -> None:
        self.selected_id = self.selected_title = self.selected_post = ""
        self.selected_meta = self.selected_outcome = self.selected_kind = self.selected_score = ""
        self.selected_mine = []
        self.features = []
        self.features_figure = go.Figure()

    @rx.event
    async def set_token(self, value: str) -> None:
        self.token = value[:MAX_TOKEN_LENGTH]
        self._first_page()
        await self._reload_page()

    @rx.event
    async def clear_token(self) -> None:
        self.token = ""
        self._first_page()
        await self._reload_page()

    @rx.event
    def select(self, signal_id: str) -> None:
        """Explain the clicked signal under its row; clicking it again closes the explanation."""
        view = self._views.get(signal_id)
        if view is None or signal_id == self.selected_id:
            self._clear_selection()
            return
        outcome = outcome_of(view)
        self.selected_id = signal_id
        self.selected_title = f"{view.token} {view.side.upper()} · {fmt.timestamp(view.created_at)}"
        self.selected_post = view.post_text or "No post recorded"
        self.selected_meta = signal_meta(view)
        self.selected_outcome, self.selected_kind = outcome.sentence, outcome.kind.value
        self.selected_mine = own_lines(view)
        self.selected_score = (
            f"Score {fmt.ratio(view.score, places=3)} against a threshold of {fmt.ratio(view.threshold)}: "
            "the sum of the weighted contributions."
        )
        self.features = feature_rows(view)
        self.features_figure = explanation_chart(view.features, view.contributions)
