"""Agent page: one public agent's track record (the reference book's equity and drawdown), its figures, its
strategy, follows, signals, and the viewer's own positions on it. What others' deployments did shows only
as counts in each signal's outcome."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TypedDict

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.agents.schemas import (
    AgentDetail,
    AgentQuery,
    AgentSort,
    CtAccountOut,
    PositionOut,
    SignalOut,
    VersionOut,
)
from backend.agents.service import AgentNotFound, get_agent, list_agents
from backend.auth.identity import CurrentUser
from backend.metrics.track import TrackRecord, track_record
from backend.models.common import utcnow
from backend.models.enums import AgentStatus
from backend.signals.outcomes import outcome_of
from backend.venues.catalog import PAPER_ONLY_NOTE, trades_live, venue_label
from maxxit_ui.components import format as fmt
from maxxit_ui.components.charts import weights_chart
from maxxit_ui.components.track_chart import track_figure
from maxxit_ui.state.auth import current_user
from maxxit_ui.state.backtest import BacktestMixin, Subject
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin
from maxxit_ui.state.paths import signin_url
from maxxit_ui.state.rows import agent_href, drawdown_tone

logger = logging.getLogger(__name__)

WEIGHTS_HEIGHT = 200  # the strategy's weights sit below the record, smaller than the equity chart


class FigureTile(TypedDict):
    id: str
    label: str
    value: str
    tone: str


class Setting(TypedDict):
    label: str
    value: str


class AccountRow(TypedDict):
    handle: str
    display_name: str
    followers: str
    impact: str
    impact_tone: str
    calls: str


class SignalRow(TypedDict):
    token: str
    side: str
    side_tone: str
    score: str
    status: str
    outcome_kind: str
    post: str
    handle: str
    time: str


class VersionRow(TypedDict):
    number: str
    date: str
    note: str
    settings: str  # the key settings in one line: threshold, sizing, leverage, exits, follows


class PositionRow(TypedDict):
    market: str
    side: str
    side_tone: str
    size: str
    entry: str
    exit: str
    pnl: str
    pnl_tone: str
    status: str
    close_reason: str
    opened: str
    closed: str


# Why an agent that is not active offers no Deploy button.
NOT_DEPLOYABLE = {
    AgentStatus.ARCHIVED: "Archived: this agent can no longer be deployed.",
    AgentStatus.PAUSED: "Paused by its creator: it can be deployed again once it is active.",
    AgentStatus.DRAFT: "A draft: it can be deployed once its creator activates it.",
}


def _side_tone(side: str) -> str:
    return "positive" if side.lower() == "long" else "negative"


def _figures(agent: AgentDetail, track: TrackRecord) -> list[FigureTile]:
    """Result and risk first (what a phone shows before scrolling), then the trades, then the ratios."""

    def tile(key: str, label: str, value: str, tone: str = "neutral") -> FigureTile:
        return FigureTile(id=f"figure-{key}", label=label, value=value, tone=tone)

    def known(value: object) -> str:
        return "muted" if value is None else "neutral"

    return [
        tile("pnl", "Total PnL", fmt.money(agent.total_pnl), fmt.tone(agent.total_pnl)),
        tile("drawdown", "Max drawdown", fmt.drawdown(agent.max_drawdown), drawdown_tone(agent.max_drawdown)),
        tile("apr-30d", "APR 30d", fmt.apr(agent.apr_30d), fmt.tone(agent.apr_30d)),
        tile("win-rate", "Win rate", fmt.percent(agent.win_rate, fraction=True), known(agent.win_rate)),
        tile(
            "profit-factor",
            "Profit factor",
            fmt.profit_factor(agent.profit_factor, agent.trades_count),
            known(agent.profit_factor),
        ),
        tile("avg-win", "Average win", fmt.money(track.average_win), fmt.tone(track.average_win)),
        tile("avg-loss", "Average loss", fmt.money(track.average_loss), fmt.tone(track.average_loss)),
        tile("trades", "Trades", fmt.count(agent.trades_count)),
        tile("sharpe", "Sharpe 30d", fmt.ratio(agent.sharpe_30d), fmt.tone(agent.sharpe_30d)),
        tile("sortino", "Sortino 30d", fmt.ratio(agent.sortino_30d), fmt.tone(agent.sortino_30d)),
        tile("apr-90d", "APR 90d", fmt.apr(agent.apr_90d), fmt.tone(agent.apr_90d)),
        tile("apr-si", "APR since inception", fmt.apr(agent.apr_si), fmt.tone(agent.apr_si)),
        tile("volume", "Volume", fmt.money(agent.volume_usd, signed=False, places=0)),
    ]


def _risk(agent: AgentDetail) -> list[Setting]:
    risk = agent.risk
    return [
        Setting(label="Stop loss", value=fmt.percent(risk.stoploss, fraction=True)),
        Setting(
            label="Take profit",
            value="off" if risk.take_profit is None else fmt.percent(risk.take_profit, fraction=True),
        ),
        Setting(
            label="Trailing stop arms at",
            value=fmt.percent(risk.trailing_stop_positive_offset, fraction=True, signed=True),
        ),
        Setting(label="Trailing distance", value=fmt.percent(risk.trailing_stop_positive, fraction=True)),
        Setting(label="Sizing profile", value=fmt.label(risk.sizing_profile)),
        Setting(label="Signal threshold", value=fmt.ratio(risk.signal_threshold)),
        Setting(label="Leverage", value=fmt.leverage(risk.leverage)),
    ]


def paper_only_note(venue: str) -> str:
    """What the agent page says of an agent whose venue has no live adapter yet."""
    return (
        f"{PAPER_ONLY_NOTE}: {venue_label(venue)} orders are not sent to a venue yet, so deployments of this"
        " agent trade on paper."
    )


def _version(version: VersionOut) -> VersionRow:
    take = "off" if version.take_profit is None else fmt.percent(version.take_profit, fraction=True)
    settings = (
        f"threshold {fmt.ratio(version.signal_threshold)} · {fmt.label(version.sizing_profile)} · "
        f"{fmt.leverage(version.leverage)} · stop {fmt.percent(version.stoploss, fraction=True)} · "
        f"take profit {take} · {version.ct_accounts} account{'' if version.ct_accounts == 1 else 's'}"
    )
    return VersionRow(
        number=f"v{version.number}",
        date=fmt.timestamp(version.created_at),
        note=version.note or "—",
        settings=settings,
    )


def _account(account: CtAccountOut) -> AccountRow:
    return AccountRow(
        handle=f"@{account.handle}",
        display_name=account.display_name or "—",
        followers=fmt.count(account.followers_count),
        impact=fmt.ratio(account.impact_factor) if account.impact_calls else "—",
        impact_tone=fmt.tone(account.impact_factor) if account.impact_calls else "muted",
        calls=fmt.count(account.impact_calls),
    )


def _signal(signal: SignalOut) -> SignalRow:
    outcome = outcome_of(signal)  # the signals page's words and kind: counts and reason categories only
    return SignalRow(
        token=signal.token,
        side=signal.side.upper(),
        side_tone=_side_tone(signal.side),
        score=fmt.ratio(signal.score),
        status=outcome.sentence,
        outcome_kind=outcome.kind.value,
        post=signal.post_text or "—",
        handle=f"@{signal.post_handle}" if signal.post_handle else "",
        time=fmt.timestamp(signal.created_at),
    )


def _position(position: PositionOut) -> PositionRow:
    return PositionRow(
        market=position.market,
        side=position.side.upper(),
        side_tone=_side_tone(position.side),
        size=fmt.quantity(position.size),
        entry=fmt.quantity(position.entry_price),
        exit=fmt.quantity(position.exit_price),
        pnl="open" if position.realized_pnl is None else fmt.money(position.figures.net_pnl),
        pnl_tone=fmt.tone(None if position.realized_pnl is None else position.figures.net_pnl),
        status=fmt.label(position.status),
        close_reason=fmt.label(position.close_reason),
        opened=fmt.timestamp(position.opened_at),
        closed=fmt.timestamp(position.closed_at),
    )


class RivalOption(TypedDict):
    id: str
    name: str


RIVALS = AgentQuery(sort=AgentSort.NAME, limit=100)


def _agent_and_track(
    session: Session, agent_id: int, viewer: CurrentUser | None
) -> tuple[AgentDetail, TrackRecord]:
    return get_agent(session, agent_id, viewer), track_record(session, agent_id, now=utcnow())


class AgentState(LoadMixin, BacktestMixin, rx.State):
    """Everything the agent page shows, formatted; `status` (loading, ready, not_found, error) picks which of
    the page's states renders.

    "Backtest this agent" opens the Backtest panel (BacktestMixin) on the agent's newest version, its
    reference book drawn beside the run where both exist."""

    name: str = ""
    description: str = ""
    venue: str = ""
    venue_color: str = "gray"
    paper_note: str = ""  # said beside Deploy when the agent's venue does not trade live yet
    creator: str = ""
    creator_address: str = ""
    active_deployments: str = ""
    followers_summary: str = ""  # followers' own results, apart from the reference book's figures
    followers_pnl: str = ""
    followers_pnl_tone: str = "neutral"
    metrics_updated: str = ""
    figures: list[FigureTile] = []
    weights_figure: go.Figure = go.Figure()
    equity_figure: go.Figure = go.Figure()
    has_equity: bool = False
    leverage: str = ""
    version: str = ""
    versions: list[VersionRow] = []
    risk: list[Setting] = []
    accounts: list[AccountRow] = []
    signals: list[SignalRow] = []
    positions: list[PositionRow] = []
    deploy_href: str = ""
    signin_deploy_href: str = ""
    deploy_block: str = ""  # why this agent cannot be deployed; empty when it can
    edit_href: str = ""  # the builder, for its creator (and admins); empty for everyone else
    signin_backtest_href: str = ""
    sweep_href: str = ""
    # Compare here: another listed agent's backtest (A) beside this one's (B), same window and capital.
    bt_rival: str = ""
    bt_rivals: list[RivalOption] = []

    _shown_id: int = 0  # the agent on screen, whose backtest the panel runs

    @rx.var
    def page_title(self) -> str:
        if self.status == "not_found":
            return "Agent not found · Maxxit"
        return f"{self.name} · Maxxit" if self.status == "ready" else "Agent · Maxxit"

    @rx.event
    async def load(self) -> AsyncIterator[None]:
        """on_load for /agents/[agent_id]; unknown, private or malformed ids show "Agent not found"."""
        self.status = "loading"
        self._bt_reset()
        self.bt_rival, self.bt_rivals = "", []  # the list leaves out the agent shown
        yield  # clear the previous agent before the query, so a stale page never shows under a new URL
        raw_id: str = self.agent_id  # the dynamic route arg Reflex adds to the root state
        if not raw_id.isdigit():
            self.status = "not_found"
            return
        agent_id = int(raw_id)
        viewer = await current_user(self)  # a private agent's page is its creator's (and admins')
        try:
            found = await self._fetch(lambda session: _agent_and_track(session, agent_id, viewer), "agent")
        except AgentNotFound:
            self.status = "not_found"
            return
        if found is UNAVAILABLE:
            return
        agent, track = found
        self._show(agent)
        self._show_track(agent, track)
        self._bt_reference = track.curve
        self._show_ready()

    # -- the Backtest panel (BacktestMixin) --------------------------------------------------------------

    def _bt_ready(self) -> bool:
        return self.status == "ready" and self._shown_id > 0

    def _bt_subject(self) -> tuple[Subject | None, str]:
        return {"agent_id": self._shown_id}, ""

    def _bt_base_subject(self) -> tuple[Subject | None, str]:
        rival = next((r for r in self.bt_rivals if r["id"] == self.bt_rival), None)
        if rival is None:
            return None, ""
        return {"agent_id": int(rival["id"])}, f"A · {rival['name']}"

    def _bt_subject_label(self) -> str:
        return f"B · {self.name}"

    @rx.event
    async def bt_toggle_rivals(self, on: bool) -> AsyncIterator[EventSpec | None]:
        """Compare switched on: list the agents it can be compared with (listed ones, by name)."""
        if not self._bt_ready() or not isinstance(on, bool):
            return
        if on and not self.bt_rivals:
            shown = self._shown_id
            try:
                page = await read(lambda session: list_agents(session, RIVALS))
            except SQLAlchemyError:
                logger.exception("agents to compare with could not be read")
                self.bt_errors["form"] = DB_ERROR
                return
            self.bt_rivals = [RivalOption(id=str(a.id), name=a.name) for a in page.items if a.id != shown]
        if not on:
            self.bt_rival = ""
        yield type(self).bt_toggle_compare(on)

    @rx.event
    def bt_pick_rival(self, value: str) -> EventSpec | None:
        """The agent to compare with; anything not on the list is ignored."""
        if not any(r["id"] == value for r in self.bt_rivals):
            return None
        self.bt_rival = value
        return self._bt_touch()

    def _show_track(self, agent: AgentDetail, track: TrackRecord) -> None:
        """The reference book's equity over its drawdown, each later version marked where it began; the
        figures, with the average win and loss of its closes."""
        self.has_equity = track.has_curve
        marks = [(v.number, v.created_at) for v in agent.versions]
        curve = track.curve
        self.equity_figure = (
            track_figure(curve, track.drawdown, marks) if curve and self.has_equity else go.Figure()
        )
        self.figures = _figures(agent, track)

    def _show(self, agent: AgentDetail) -> None:
        self.name = agent.name
        self.description = agent.description
        self.venue = fmt.venue_label(agent.venue)
        self.venue_color = fmt.venue_color(agent.venue)
        self.paper_note = "" if trades_live(agent.venue) else paper_only_note(agent.venue)
        self.creator = fmt.creator(agent.creator_name, agent.creator_address)
        self.creator_address = agent.creator_address
        n = agent.active_deployments
        self.active_deployments = f"{fmt.count(n)} active deployment{'' if n == 1 else 's'}"
        f = agent.follower_deployments
        self.followers_summary = f"Followers: {fmt.count(f)} deployment{'' if f == 1 else 's'}, realised PnL"
        self.followers_pnl = fmt.money(agent.follower_realized_pnl)
        self.followers_pnl_tone = fmt.tone(agent.follower_realized_pnl)
        self.metrics_updated = fmt.timestamp(agent.metrics_updated_at) if agent.metrics_updated_at else ""
        self.weights_figure = weights_chart(agent.weights)
        # Unset (Plotly's "auto"): labels turn when a phone's width cannot hold them side by side.
        self.weights_figure.update_layout(
            height=WEIGHTS_HEIGHT, xaxis={"tickangle": None, "automargin": True}
        )
        self.risk = _risk(agent)
        self.leverage = fmt.leverage(agent.leverage)
        self.version = f"v{agent.version}"
        self.versions = [_version(v) for v in agent.versions]
        self.accounts = [_account(a) for a in agent.accounts]
        self.signals = [_signal(s) for s in agent.recent_signals]
        self.positions = [_position(p) for p in agent.my_positions]  # the viewer's own; none for visitors
        self.deploy_href = f"/agents/{agent.id}/deploy"
        self.signin_deploy_href = signin_url(self.deploy_href)
        self.deploy_block = NOT_DEPLOYABLE.get(AgentStatus(agent.status), "")
        self.edit_href = f"/agents/{agent.id}/edit" if agent.editable else ""
        self._shown_id = agent.id
        self.signin_backtest_href = signin_url(agent_href(agent.id))
        self.sweep_href = f"/backtests/sweep?agent={agent.id}"
