"""The trader's dashboard `/dashboard`: open positions as live charts with a Close button, closes, equity.

While the page is open its timer calls `poll` every few seconds: charts, closes and equity are read again
from what the monitor recorded (ticks, trailing highs, closes), so a stop that moves or a position that
closes shows up without a reload. A closed position keeps its card for an hour, with its exit on the chart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import plotly.graph_objects as go
import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.deployments.service import close_own_position
from backend.models.common import utcnow
from backend.models.enums import PositionStatus, Side
from backend.monitor.charts import ClosedPosition, PositionChart, dashboard_charts, recent_closes
from backend.monitor.close import PositionNotFound, PositionNotOpen
from backend.monitor.equity import EquityCurve, EquityCurves, equity_curves
from backend.trading.book import Breakdown
from maxxit_ui.components import format as fmt
from maxxit_ui.components.charts import REASON_LABELS, equity_figure, position_figure
from maxxit_ui.components.format import venue_label
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.deploy_form import TIMES
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, PollingMixin, Query

CARD_KEEP = timedelta(hours=1)  # how long a closed position keeps its card
CLOSED_ROWS = 20
CLOSE_REFUSALS: dict[type[Exception], str | None] = {
    PositionNotOpen: "That position is already closing or closed.",
    PositionNotFound: "That position no longer exists.",
}


class PositionCard(TypedDict):
    id: str
    market: str
    agent: str
    venue: str
    side: str
    side_tone: str
    size: str  # with its unit: "0.52 ETH"
    notional: str
    margin: str
    leverage: str
    entry: str
    last: str
    stop: str
    take_profit: str  # "none" when the rules set no take-profit
    liquidation: str
    stop_kind: str  # "trailing" or "hard stop"
    best: str
    best_label: str
    pnl: str
    pnl_tone: str
    pnl_ratio: str
    status: str  # open | closing | closed
    status_label: str
    status_color: str
    notice: str  # a close the venue refused, retried: "" otherwise
    exit: str
    realized: str
    realized_tone: str
    fees: str
    fee_detail: str
    opened: str
    points: str
    figure: go.Figure


class ClosedRow(TypedDict):
    id: str
    closed: str
    agent: str
    market: str
    venue: str
    side: str
    side_tone: str
    entry: str
    exit: str
    pnl: str
    pnl_tone: str
    fees: str
    fee_detail: str
    reason: str


class EquityCard(TypedDict):
    id: str
    label: str
    venue: str
    value: str
    value_label: str
    pnl: str
    pnl_tone: str
    note: str
    has_points: bool  # False: no deployment yet, the page says so instead of drawing an empty axis
    figure: go.Figure


@dataclass(frozen=True)
class _Snapshot:
    charts: list[PositionChart]
    closes: list[ClosedPosition]
    curves: EquityCurves


def _status(chart: PositionChart) -> tuple[str, str, str]:
    if chart.status == PositionStatus.CLOSING and chart.close_error:
        return "closing", "Close refused", "red"
    if chart.status == PositionStatus.CLOSING:
        return "closing", "Closing…", "amber"
    if chart.status == PositionStatus.CLOSED:
        reason = REASON_LABELS.get(str(chart.close_reason), "Closed")
        return "closed", f"Closed · {reason}", "gray"
    return "open", "Open", "green"


def _fee_detail(parts: Breakdown, *, closed: bool) -> str:
    """Open: what was paid so far; closed: every fee by name, as /deployments shows it."""
    if closed:
        return fmt.fee_breakdown(parts.entry_fee, parts.exit_fee, parts.platform_fee, parts.profit_share)
    return fmt.fee_detail(parts.venue_fees, parts.platform_fee, parts.profit_share)


def position_card(chart: PositionChart) -> PositionCard:
    status, status_label, color = _status(chart)
    long = chart.side == Side.LONG
    ratio, tick = chart.unrealized_return, chart.tick_size
    return PositionCard(
        id=str(chart.position_id),
        market=chart.market,
        agent=f"#{chart.deployment_id} · {chart.agent_name}",
        venue=venue_label(chart.venue),
        side=chart.side.upper(),
        side_tone="positive" if long else "negative",
        size=fmt.size(chart.size, chart.market),
        notional=fmt.money(chart.notional_usd, signed=False),
        margin=fmt.money(chart.margin_usd, signed=False),
        leverage=f"{fmt.quantity(chart.leverage)}{TIMES}",
        entry=fmt.price(chart.entry_price, tick),
        last=fmt.price(chart.last_price, tick),
        stop=fmt.price(chart.stop_price, tick),
        take_profit="none" if chart.take_profit_price is None else fmt.price(chart.take_profit_price, tick),
        liquidation=fmt.price(chart.liquidation_price, tick),
        stop_kind="trailing" if chart.trailing_armed else "hard stop",
        best=fmt.price(chart.best_price, tick),
        best_label="Trailing high" if long else "Trailing low",
        pnl="—" if chart.unrealized_pnl is None else fmt.money(chart.unrealized_pnl),
        pnl_tone="muted" if chart.unrealized_pnl is None else fmt.tone(chart.unrealized_pnl),
        pnl_ratio=""
        if ratio is None
        else f"{fmt.percent(ratio, fraction=True, signed=True, places=2)} on margin",
        status=status,
        status_label=status_label,
        status_color=color,
        notice=fmt.close_refused(chart.close_error),
        exit=fmt.price(chart.exit_price, tick),
        realized="—" if chart.realized_pnl is None else fmt.money(chart.figures.net_pnl),
        realized_tone=fmt.tone(None if chart.realized_pnl is None else chart.figures.net_pnl),
        fees=fmt.money(chart.figures.total_fees, signed=False),
        fee_detail=_fee_detail(chart.figures, closed=status == "closed"),
        opened=fmt.timestamp(chart.opened_at),
        points=str(len(chart.points)),
        figure=position_figure(chart),
    )


def closed_row(close: ClosedPosition) -> ClosedRow:
    parts = close.figures
    return ClosedRow(
        id=str(close.position_id),
        closed=fmt.timestamp(close.closed_at),
        agent=f"#{close.deployment_id} · {close.agent_name}",
        market=close.market,
        venue=venue_label(close.venue),
        side=close.side.upper(),
        side_tone="positive" if close.side == Side.LONG else "negative",
        entry=fmt.price(close.entry_price, None),
        exit=fmt.price(close.exit_price, None),
        pnl="—" if close.realized_pnl is None else fmt.money(parts.net_pnl),
        pnl_tone=fmt.tone(None if close.realized_pnl is None else parts.net_pnl),
        fees=fmt.money(parts.total_fees, signed=False),
        fee_detail=_fee_detail(parts, closed=True),
        reason=REASON_LABELS.get(str(close.close_reason), fmt.label(close.close_reason)),
    )


def equity_card(curve: EquityCurve) -> EquityCard:
    """Equity where the capital is ours to know (paper); PnL since deployment for a trader's own account."""
    pnl = curve.realized_pnl + curve.unrealized_pnl
    open_note = f"{curve.open_positions} open · " if curve.open_positions else ""
    capital = fmt.money(curve.capital, signed=False)
    if curve.deployment_id is not None and not curve.capital_known:
        value, value_label = fmt.money(pnl), "PnL"
        note = f"{open_note}PnL since deployment; your Hyperliquid balance is not counted"
    else:
        value, value_label = fmt.money(curve.equity, signed=False), "equity"
        note = (
            f"{open_note}from {capital}"
            if curve.capital_known
            else f"{open_note}{capital} paper capital + PnL"
        )
    if curve.deployment_id is None:
        # The chart is net PnL: new deployments' capital is money put in, not growth.
        twr = (
            ""
            if curve.twr is None
            else f" · time-weighted {fmt.percent(curve.twr, fraction=True, signed=True)}"
        )
        note = f"{note}{twr} · chart: net PnL, deposits are not growth"
    return EquityCard(
        id="account" if curve.deployment_id is None else str(curve.deployment_id),
        label=curve.label,
        venue="" if curve.venue is None else venue_label(curve.venue),
        value=value,
        value_label=value_label,
        pnl=fmt.money(pnl),
        pnl_tone=fmt.tone(pnl),
        note=note,
        has_points=bool(curve.points),
        figure=equity_figure(curve, height=260 if curve.deployment_id is None else 200),
    )


def read_dashboard(session: Session, user: CurrentUser, now: datetime) -> _Snapshot:
    """Everything the page shows, from one session: the page's timer pays for one thread hop, not three."""
    return _Snapshot(
        charts=dashboard_charts(session, user, now=now, closed_since=now - CARD_KEEP),
        closes=recent_closes(session, user, limit=CLOSED_ROWS),
        curves=equity_curves(session, user, now=now),
    )


class DashboardState(PollingMixin, ConfirmMixin, rx.State):
    cards: list[PositionCard] = []
    closed: list[ClosedRow] = []
    equity: list[EquityCard] = []
    account_value: str = ""
    account_value_label: str = ""
    account_pnl: str = ""
    account_pnl_tone: str = "neutral"
    account_note: str = ""
    account_has_points: bool = False
    account_figure: go.Figure = go.Figure()
    open_count: str = "0"
    closing: str = ""  # the position whose close is being requested

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.closing = "loading", "", ""
        self._clear_confirm()
        yield
        yield await self._reread()

    async def _reread(self) -> EventSpec | None:
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        snapshot = await self._fetch(lambda s: read_dashboard(s, user, utcnow()), "dashboard")
        if snapshot is not UNAVAILABLE:
            self._poll_apply(snapshot)
            self._mark_refreshed()
            self._show_ready()
        return None

    def _poll_query(self, user: CurrentUser) -> Query[Any]:
        return lambda s: read_dashboard(s, user, utcnow())

    def _poll_apply(self, result: _Snapshot) -> None:
        self.cards = [position_card(c) for c in result.charts]
        self.open_count = str(sum(1 for c in result.charts if c.status != PositionStatus.CLOSED))
        self.closed = [closed_row(c) for c in result.closes]
        self.equity = [equity_card(c) for c in result.curves.deployments]
        account = equity_card(result.curves.account)
        self.account_value, self.account_value_label = account["value"], account["value_label"]
        self.account_pnl, self.account_pnl_tone = account["pnl"], account["pnl_tone"]
        self.account_note, self.account_figure = account["note"], account["figure"]
        self.account_has_points = account["has_points"]

    # -- closing by hand ---------------------------------------------------------------------------------

    @rx.event
    async def confirm_close(self) -> AsyncIterator[EventSpec | None]:
        """Move the position to CLOSING; the next monitor cycle sends the reduce-only order and records it."""
        position_id = self._take_confirmed("close")
        if self.closing or not position_id.isdigit():
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        ip = self.router.session.client_ip or None
        self.closing = position_id
        yield
        try:
            done = await self._attempt(
                lambda s: close_own_position(s, user, int(position_id), ip=ip),
                "close request",
                CLOSE_REFUSALS,
            )
        finally:
            self.closing = ""
        yield done.toast or rx.toast.success("Closing: the monitor sends the order within seconds.")
        yield await self._reread()
