"""My deployments `/deployments`: the user's deployments with pause, resume and cancel, and their positions.

While the page is open it re-reads positions every few seconds (the page's timer calls `poll`), so a
position opened for a new signal shows up within seconds. Deployments carry live venue balances, which cost
a venue request each, so they are re-read only when a position opened, closed or changed state, or every
few ticks. Every figure comes from the backend views; this module only words and formats them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.deployments.errors import DeploymentConflict, DeploymentNotFound, InputRejected
from backend.deployments.schemas import DeploymentView, PositionView
from backend.deployments.service import accept_latest_version, change_status
from backend.deployments.views import list_deployments, list_positions
from backend.models.enums import DeploymentStatus, PositionStatus
from backend.runtime import venue_registry
from backend.venues.capabilities import real_funds
from maxxit_ui.components import format as fmt
from maxxit_ui.components.charts import REASON_LABELS
from maxxit_ui.components.format import venue_label
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.deploy_form import TIMES
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, PollingMixin, Query
from maxxit_ui.state.rows import agent_href

ALL = "all"
# The positions filter: which statuses it shows ("open" takes closing ones too: both still carry risk).
SHOWN = {"open": (PositionStatus.OPEN, PositionStatus.CLOSING), "closed": PositionStatus.CLOSED, ALL: None}
DEPLOYMENTS_EVERY = 5  # ticks between balance re-reads when no position changed
STATUS_COLORS = {
    DeploymentStatus.ACTIVE: "green",
    DeploymentStatus.PAUSED: "amber",
    DeploymentStatus.PENDING_APPROVAL: "blue",
    DeploymentStatus.CANCELLED: "gray",
}
POSITION_COLORS = {
    PositionStatus.OPEN: "green",
    PositionStatus.CLOSING: "amber",
    PositionStatus.CLOSED: "gray",
}
ACTION_DONE = {
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
    "accept": "now trades the newest version",
}
REFUSALS: dict[type[Exception], str | None] = {
    DeploymentConflict: None,
    InputRejected: None,
    DeploymentNotFound: "That deployment no longer exists.",
}


def _apply(session: Session, user: CurrentUser, deployment_id: int, action: str, ip: str | None) -> object:
    """One owner's action on a deployment: a status change, or accepting the agent's newest version."""
    if action == "accept":
        return accept_latest_version(session, user, deployment_id, ip=ip)
    return change_status(session, user, deployment_id, action, ip=ip)


class DeploymentRow(TypedDict):
    id: str
    agent_name: str
    agent_href: str
    venues: str
    account: str
    account_title: str
    status: str
    status_color: str
    equity: str  # paper: capital + closes + open PnL; a trader's own account: the venue's balance
    equity_tone: str
    returns: str  # "+1.2% time-weighted", or "PnL since deployment" where the capital is not ours to know
    returns_tone: str
    available: str
    open_positions: str
    pnl: str
    pnl_tone: str
    unrealized: str  # "+$3.10 open" while positions are open, else ""
    fees: str
    created: str
    can_pause: bool
    can_resume: bool
    can_cancel: bool
    version: str  # "v2": the agent version it trades
    new_version: str  # "v3" when a newer version waits for the owner's accept, else ""
    paper_only: bool  # trades on paper alone: free, no fees, no subscription


class PositionRow(TypedDict):
    id: str
    deployment: str
    agent_name: str
    venue: str
    market: str
    side: str
    side_tone: str
    size: str  # with its unit: "0.52 ETH"
    notional: str
    margin: str
    entry: str
    leverage: str
    is_open: bool  # open or closing: mark and lines; else exit and reason
    mark: str  # the last tick while open; the exit price once closed
    mark_label: str  # "mark" or "exit"
    stop: str
    take_profit: str
    liquidation: str
    reason: str  # why it closed, in words ("" while open)
    has_signal: bool
    score: str
    post: str
    signals_href: str
    fees: str
    fee_detail: str
    status: str
    status_color: str
    notice: str  # a close the venue refused, retried: "" otherwise
    pnl: str  # unrealised (at the mark, net of the fees so far) while open, realised net once closed
    pnl_tone: str
    pnl_note: str  # "+2.10% on margin" while open, "realised, after all fees" once closed
    opened: str


class FilterOption(TypedDict):
    value: str
    label: str


def _venues(view: DeploymentView) -> str:
    venues = view.venue_preferences or [view.venue]
    return " → ".join(venue_label(v) for v in venues)


def _balance(value: Decimal | None) -> str:
    return "unavailable" if value is None else fmt.money(value, signed=False)


def _returns(view: DeploymentView) -> tuple[str, str]:
    if view.return_pct is not None:
        return (
            f"{fmt.percent(view.return_pct, fraction=True, signed=True, places=2)} time-weighted",
            fmt.tone(view.return_pct),
        )
    return "PnL since deployment", "muted"


def deployment_row(view: DeploymentView) -> DeploymentRow:
    status = DeploymentStatus(view.status)
    returns, returns_tone = _returns(view)
    open_pnl = view.unrealized_pnl if view.open_positions else None
    return DeploymentRow(
        id=str(view.id),
        agent_name=view.agent_name,
        agent_href=agent_href(view.agent_id),
        venues=_venues(view),
        account=fmt.short_address(view.user_wallet) if view.user_wallet else "virtual balance",
        account_title=view.user_wallet or "",
        status=fmt.label(status).replace("Pending approval", "Awaiting approval"),
        status_color=STATUS_COLORS.get(status, "gray"),
        equity=_balance(view.equity_usd),
        equity_tone="muted" if view.equity_usd is None else "neutral",
        returns=returns,
        returns_tone=returns_tone,
        available=_balance(view.available_usd),
        open_positions=fmt.count(view.open_positions),
        pnl=fmt.money(view.figures.net_pnl),
        pnl_tone=fmt.tone(view.figures.net_pnl),
        unrealized="" if open_pnl is None else f"{fmt.money(open_pnl)} open",
        fees=fmt.money(view.figures.total_fees, signed=False),
        created=fmt.timestamp(view.created_at),
        can_pause=status == DeploymentStatus.ACTIVE,
        can_resume=status == DeploymentStatus.PAUSED,
        can_cancel=status != DeploymentStatus.CANCELLED,
        version=f"v{view.version}" if view.version is not None else "",
        paper_only=not any(real_funds(v) for v in view.venue_preferences or [view.venue]),
        new_version=f"v{view.latest_version}"
        if view.new_version_available and status != DeploymentStatus.CANCELLED
        else "",
    )


def position_row(view: PositionView) -> PositionRow:
    status = PositionStatus(view.status)
    is_open = status != PositionStatus.CLOSED
    refused = status == PositionStatus.CLOSING and bool(view.close_error)
    parts, tick = view.figures, view.tick_size
    known = not is_open or view.mark_price is not None  # an open one without a tick yet has no PnL
    if is_open:
        ratio = view.return_on_margin
        note = (
            "" if ratio is None else f"{fmt.percent(ratio, fraction=True, signed=True, places=2)} on margin"
        )
    else:
        note = "realised, after all fees"
    return PositionRow(
        id=str(view.id),
        deployment=str(view.deployment_id),
        agent_name=view.agent_name,
        venue=venue_label(view.venue),
        market=view.market,
        side=view.side.upper(),
        side_tone="positive" if view.side.lower() == "long" else "negative",
        size=fmt.size(view.size, view.market),
        notional=fmt.money(view.notional_usd, signed=False),
        margin=fmt.money(view.margin_usd, signed=False),
        entry=fmt.price(view.entry_price, tick),
        leverage=f"{fmt.quantity(view.leverage)}{TIMES}",
        is_open=is_open,
        mark=fmt.price(view.mark_price if is_open else view.exit_price, tick),
        mark_label="mark" if is_open else "exit",
        stop=fmt.price(view.stop_price, tick),
        take_profit="none" if view.take_profit_price is None else fmt.price(view.take_profit_price, tick),
        liquidation=fmt.price(view.liquidation_price, tick),
        reason="" if is_open else REASON_LABELS.get(str(view.close_reason), fmt.label(view.close_reason)),
        has_signal=view.signal_id is not None,
        score="—" if view.signal_score is None else fmt.ratio(view.signal_score),
        post=view.post_excerpt or "",
        signals_href=f"{agent_href(view.agent_id)}/signals",
        fees=fmt.money(parts.total_fees, signed=False),
        fee_detail=fmt.fee_detail(parts.venue_fees, parts.platform_fee, parts.profit_share)
        if is_open
        else fmt.fee_breakdown(view.entry_fee, view.exit_fee, parts.platform_fee, parts.profit_share),
        status="Close refused" if refused else fmt.label(status),
        status_color="red" if refused else POSITION_COLORS.get(status, "gray"),
        notice=fmt.close_refused(view.close_error if refused else None),
        pnl=fmt.money(parts.net_pnl) if known else "—",
        pnl_tone=fmt.tone(parts.net_pnl) if known else "muted",
        pnl_note=note if known else "no price yet",
        opened=fmt.timestamp(view.opened_at),
    )


def read_positions(session: Session, user: CurrentUser, deployment: str, which: str) -> list[PositionView]:
    """Positions for the filters, newest first."""
    deployment_id = int(deployment) if deployment.isdigit() else None
    return list_positions(session, user, deployment_id=deployment_id, status=SHOWN.get(which))


def signature(views: list[PositionView]) -> str:
    """Changes when a position appears, disappears, changes state or realises PnL: balances are stale then.
    An open position's moving mark does not count: it would re-ask the venues every tick."""
    return ";".join(f"{v.id}:{v.status}:{v.realized_pnl}" for v in views)


@dataclass(frozen=True)
class _Snapshot:
    filters: tuple[str, str]  # what the positions were read for: a change since then discards them
    positions: list[PositionView]
    signature: str
    deployments: list[DeploymentView] | None  # None: not re-read this time


def read_page(
    session: Session, user: CurrentUser, filters: tuple[str, str], stale: Callable[[str], bool]
) -> _Snapshot:
    """Positions for the filters, and the deployments too when `stale(signature)` says balances moved."""
    positions = read_positions(session, user, *filters)
    mark = signature(positions)
    views = list_deployments(session, user, venues=venue_registry()) if stale(mark) else None
    return _Snapshot(filters, positions, mark, views)


class DeploymentsState(PollingMixin, ConfirmMixin, rx.State):
    rows: list[DeploymentRow] = []
    positions: list[PositionRow] = []
    deployment_filter: str = ALL
    position_filter: str = "open"
    options: list[FilterOption] = []
    acting: str = ""  # the deployment whose status is being changed

    _ticks: int = 0
    _signature: str = ""

    @rx.var
    def has_paper(self) -> bool:
        """Any deployment on paper alone: the page says paper is free."""
        return any(row["paper_only"] for row in self.rows)

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.acting = "loading", "", ""
        self._clear_confirm()
        self.deployment_filter, self.position_filter = ALL, "open"
        yield
        yield await self._requery()

    async def _requery(self) -> EventSpec | None:
        """Deployments and positions afresh; a database failure replaces the page with the reason."""
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        filters = (self.deployment_filter, self.position_filter)
        snapshot = await self._fetch(lambda s: read_page(s, user, filters, lambda _: True), "deployments")
        if snapshot is not UNAVAILABLE:
            self._poll_apply(snapshot)
            self._mark_refreshed()
            self._show_ready()
        return None

    def _can_poll(self) -> bool:
        return self.status == "ready" and not self.acting

    def _poll_query(self, user: CurrentUser) -> Query[Any]:
        self._ticks += 1
        filters, before = (self.deployment_filter, self.position_filter), self._signature
        every = self._ticks % DEPLOYMENTS_EVERY == 0
        return lambda s: read_page(s, user, filters, lambda now: every or now != before)

    def _poll_apply(self, result: _Snapshot) -> None:
        if result.filters != (self.deployment_filter, self.position_filter):
            return  # the trader changed the filters while this was read
        self.positions = [position_row(p) for p in result.positions]
        self._signature = result.signature
        if result.deployments is not None:
            self._show_deployments(result.deployments)

    def _show_deployments(self, views: list[DeploymentView]) -> None:
        self.rows = [deployment_row(v) for v in views]
        self.options = [FilterOption(value=ALL, label="All deployments")] + [
            FilterOption(value=r["id"], label=f"#{r['id']} · {r['agent_name']} · {r['venues']}")
            for r in self.rows
        ]
        if self.deployment_filter not in {o["value"] for o in self.options}:
            self.deployment_filter = ALL

    @rx.event
    async def set_deployment_filter(self, value: str) -> EventSpec | None:
        value = clip(value, ID_TEXT_MAX)
        self.deployment_filter = value if value == ALL or (value.isascii() and value.isdigit()) else ALL
        return await self._requery()

    @rx.event
    async def set_position_filter(self, value: str | list[str]) -> EventSpec | None:
        chosen = value[0] if isinstance(value, list) and value else value
        self.position_filter = chosen if isinstance(chosen, str) and chosen in SHOWN else "open"
        return await self._requery()

    # -- pause, resume, cancel, accept -------------------------------------------------------------------

    @rx.event
    async def confirm_cancel(self) -> AsyncIterator[EventSpec | None]:
        async for event in self._change(self._take_confirmed("cancel"), "cancel"):
            yield event

    @rx.event
    async def pause(self, deployment_id: str) -> AsyncIterator[EventSpec | None]:
        async for event in self._change(deployment_id, "pause"):
            yield event

    @rx.event
    async def resume(self, deployment_id: str) -> AsyncIterator[EventSpec | None]:
        async for event in self._change(deployment_id, "resume"):
            yield event

    @rx.event
    async def accept_version(self, deployment_id: str) -> AsyncIterator[EventSpec | None]:
        """One click: the deployment trades the agent's newest version from its next signal on."""
        async for event in self._change(deployment_id, "accept"):
            yield event

    async def _change(self, deployment_id: str, action: str) -> AsyncIterator[EventSpec | None]:
        if self.acting or not deployment_id.isdigit():
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        ip = self.router.session.client_ip or None
        self.acting = deployment_id
        yield
        try:
            done = await self._attempt(
                lambda s: _apply(s, user, int(deployment_id), action, ip), f"deployment {action}", REFUSALS
            )
        finally:
            self.acting = ""
        yield done.toast or rx.toast.success(f"Deployment #{deployment_id} {ACTION_DONE[action]}.")
        yield await self._requery()
