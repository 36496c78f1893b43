"""My deployments `/deployments`: the user's deployments with pause, resume and cancel, and their positions.

While the page is open it re-reads positions every few seconds (the page's timer calls `poll`), so a
position opened for a new signal shows up within seconds. Deployments carry live venue balances, which cost
a venue request each, so they are re-read only when the positions changed or every few ticks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Literal, TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.deployments.errors import DeploymentConflict, DeploymentNotFound, InputRejected
from backend.deployments.schemas import DeploymentView, PositionView
from backend.deployments.service import accept_latest_version, change_status
from backend.deployments.views import list_deployments, list_positions
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, ExecutionVenue, PositionStatus
from backend.runtime import venue_registry
from maxxit_ui.components import format as fmt
from maxxit_ui.components.format import venue_label
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.deploy_form import TIMES
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.rows import agent_href

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "error"]
ALL = "all"
POSITION_FILTERS = ("open", "closed", ALL)
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
    balance: str
    balance_tone: str
    available: str
    open_positions: str
    pnl: str
    pnl_tone: str
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
    size: str
    entry: str
    leverage: str
    has_signal: bool
    score: str
    post: str
    signals_href: str
    fees: str
    fee_detail: str
    status: str
    status_color: str
    notice: str  # a close the venue refused, retried: "" otherwise
    pnl: str
    pnl_tone: str
    opened: str


class FilterOption(TypedDict):
    value: str
    label: str


def _venues(view: DeploymentView) -> str:
    venues = view.venue_preferences or [view.venue]
    return " → ".join(venue_label(v) for v in venues)


def _balance(value: Decimal | None) -> str:
    return "unavailable" if value is None else fmt.money(value, signed=False)


def deployment_row(view: DeploymentView) -> DeploymentRow:
    status = DeploymentStatus(view.status)
    return DeploymentRow(
        id=str(view.id),
        agent_name=view.agent_name,
        agent_href=agent_href(view.agent_id),
        venues=_venues(view),
        account=fmt.short_address(view.user_wallet) if view.user_wallet else "virtual balance",
        account_title=view.user_wallet or "",
        status=fmt.label(status).replace("Pending approval", "Awaiting approval"),
        status_color=STATUS_COLORS.get(status, "gray"),
        balance=_balance(view.balance_usd),
        balance_tone="muted" if view.balance_usd is None else "neutral",
        available=_balance(view.available_usd),
        open_positions=fmt.count(view.open_positions),
        pnl=fmt.money(view.figures.net_pnl),
        pnl_tone=fmt.tone(view.figures.net_pnl),
        fees=fmt.money(view.figures.total_fees, signed=False),
        created=fmt.timestamp(view.created_at),
        can_pause=status == DeploymentStatus.ACTIVE,
        can_resume=status == DeploymentStatus.PAUSED,
        can_cancel=status != DeploymentStatus.CANCELLED,
        version=f"v{view.version}" if view.version is not None else "",
        paper_only=(view.venue_preferences or [view.venue]) == [ExecutionVenue.PAPER],
        new_version=f"v{view.latest_version}"
        if view.new_version_available and status != DeploymentStatus.CANCELLED
        else "",
    )


def position_row(view: PositionView) -> PositionRow:
    status = PositionStatus(view.status)
    refused = status == PositionStatus.CLOSING and bool(view.close_error)
    parts = view.figures
    pnl = parts.net_pnl if status == PositionStatus.CLOSED else None
    return PositionRow(
        id=str(view.id),
        deployment=str(view.deployment_id),
        agent_name=view.agent_name,
        venue=venue_label(view.venue),
        market=view.market,
        side=view.side.upper(),
        side_tone="positive" if view.side.lower() == "long" else "negative",
        size=fmt.quantity(view.size),
        entry=fmt.quantity(view.entry_price),
        leverage=f"{fmt.quantity(view.leverage)}{TIMES}",
        has_signal=view.signal_id is not None,
        score="—" if view.signal_score is None else fmt.ratio(view.signal_score),
        post=view.post_excerpt or "",
        signals_href=f"{agent_href(view.agent_id)}/signals",
        fees=fmt.money(parts.total_fees, signed=False),
        fee_detail=fmt.fee_detail(parts.venue_fees, parts.platform_fee, parts.profit_share),
        status="Close refused" if refused else fmt.label(status),
        status_color="red" if refused else POSITION_COLORS.get(status, "gray"),
        notice=fmt.close_refused(view.close_error if refused else None),
        pnl="open" if pnl is None else fmt.money(pnl),
        pnl_tone="muted" if pnl is None else fmt.tone(pnl),
        opened=fmt.timestamp(view.opened_at),
    )


def read_positions(session: Session, user: CurrentUser, deployment: str, which: str) -> list[PositionView]:
    """Positions for the filters: "open" means open or closing (both still carry risk), newest first."""
    deployment_id = int(deployment) if deployment.isdigit() else None
    if which == "closed":
        return list_positions(session, user, deployment_id=deployment_id, status=PositionStatus.CLOSED)
    if which != "open":
        return list_positions(session, user, deployment_id=deployment_id)
    rows = [
        *list_positions(session, user, deployment_id=deployment_id, status=PositionStatus.OPEN),
        *list_positions(session, user, deployment_id=deployment_id, status=PositionStatus.CLOSING),
    ]
    return sorted(rows, key=lambda p: (p.opened_at, p.id), reverse=True)


def _signature(rows: list[PositionRow]) -> str:
    """Changes whenever a position appears, disappears or changes state: then balances are stale too."""
    return ";".join(f"{r['id']}:{r['status']}:{r['pnl']}" for r in rows)


class DeploymentsState(rx.State):
    status: Status = "loading"
    error: str = ""
    rows: list[DeploymentRow] = []
    positions: list[PositionRow] = []
    deployment_filter: str = ALL
    position_filter: str = "open"
    options: list[FilterOption] = []
    refreshed_at: str = ""
    confirm_id: str = ""
    confirm_name: str = ""
    acting: str = ""  # the deployment whose status is being changed

    _ticks: int = 0
    _polling: bool = False

    @rx.var
    def has_paper(self) -> bool:
        """Any deployment on paper alone: the page says paper is free."""
        return any(row["paper_only"] for row in self.rows)

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.confirm_id, self.acting = "loading", "", "", ""
        self.deployment_filter, self.position_filter = ALL, "open"
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        await self._refresh(user)

    async def _refresh(self, user: CurrentUser) -> None:
        """Deployments and positions afresh; a database failure replaces the page with the reason."""
        deployment, which = self.deployment_filter, self.position_filter
        try:
            views = await read(lambda session: list_deployments(session, user, venues=venue_registry()))
            positions = await read(lambda session: read_positions(session, user, deployment, which))
        except SQLAlchemyError:
            logger.exception("deployments could not be read")
            self.error, self.status = DB_ERROR, "error"
            return
        self._show_deployments(views)
        self.positions = [position_row(p) for p in positions]
        self.refreshed_at = utcnow().strftime("%H:%M:%S UTC")
        self.error, self.status = "", "ready"

    def _show_deployments(self, views: list[DeploymentView]) -> None:
        self.rows = [deployment_row(v) for v in views]
        self.options = [FilterOption(value=ALL, label="All deployments")] + [
            FilterOption(value=r["id"], label=f"#{r['id']} · {r['agent_name']} · {r['venues']}")
            for r in self.rows
        ]
        if self.deployment_filter not in {o["value"] for o in self.options}:
            self.deployment_filter = ALL

    @rx.event(background=True)
    async def poll(self, _now: str = "") -> AsyncIterator[EventSpec | None]:
        """The page's timer: re-read positions quietly; balances only when something changed."""
        async with self:
            if self.status != "ready" or self._polling or self.acting:
                return
            user = await current_user(self)
            if user is not None:
                self._polling, self._ticks = True, self._ticks + 1
            deployment, which, tick = self.deployment_filter, self.position_filter, self._ticks
            before = _signature(self.positions)
        if user is None:
            yield to_signin(self)
            return
        rows: list[PositionRow] | None = None
        views: list[DeploymentView] | None = None
        try:
            positions = await read(lambda session: read_positions(session, user, deployment, which))
            rows = [position_row(p) for p in positions]
            if _signature(rows) != before or tick % DEPLOYMENTS_EVERY == 0:
                views = await read(lambda session: list_deployments(session, user, venues=venue_registry()))
        except SQLAlchemyError:
            logger.exception("deployments: refresh failed")  # the last rows stay; the next tick tries again
        finally:
            async with self:
                self._polling = False
                if rows is not None and (deployment, which) == (self.deployment_filter, self.position_filter):
                    self.positions = rows
                    if views is not None:
                        self._show_deployments(views)
                    self.refreshed_at = utcnow().strftime("%H:%M:%S UTC")

    async def _requery(self) -> EventSpec | None:
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        await self._refresh(user)
        return None

    @rx.event
    async def set_deployment_filter(self, value: str) -> EventSpec | None:
        value = clip(value, ID_TEXT_MAX)
        self.deployment_filter = value if value == ALL or (value.isascii() and value.isdigit()) else ALL
        return await self._requery()

    @rx.event
    async def set_position_filter(self, value: str | list[str]) -> EventSpec | None:
        chosen = value[0] if isinstance(value, list) and value else value
        self.position_filter = chosen if isinstance(chosen, str) and chosen in POSITION_FILTERS else "open"
        return await self._requery()

    # -- pause, resume, cancel ---------------------------------------------------------------------------

    @rx.event
    def ask_cancel(self, deployment_id: str, name: str) -> None:
        self.confirm_id, self.confirm_name = deployment_id, name

    @rx.event
    def dialog_open_change(self, is_open: bool) -> None:
        if not is_open:
            self.confirm_id = self.confirm_name = ""

    @rx.event
    async def confirm_cancel(self) -> AsyncIterator[EventSpec | None]:
        deployment_id = self.confirm_id
        self.confirm_id = self.confirm_name = ""
        async for event in self._change(deployment_id, "cancel"):
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
            await read(lambda session: _apply(session, user, int(deployment_id), action, ip))
        except (DeploymentConflict, InputRejected) as e:
            yield rx.toast.error(str(e)[:1].upper() + str(e)[1:] + ".")
        except DeploymentNotFound:
            yield rx.toast.error("That deployment no longer exists.")
        except SQLAlchemyError:
            logger.exception("deployment %s could not be changed (%s)", deployment_id, action)
            yield rx.toast.error(DB_ERROR)
        else:
            yield rx.toast.success(f"Deployment #{deployment_id} {ACTION_DONE[action]}.")
        finally:
            self.acting = ""
        await self._refresh(user)
