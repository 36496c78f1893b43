"""My agents `/my-agents`: the signed-in trader's agents, private and archived ones included."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal, TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from backend.agents.editing import archive_agent, list_my_agents
from backend.agents.schemas import MyAgentRow
from backend.agents.service import AgentNotFound
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.models.enums import AgentStatus, Visibility
from maxxit_ui.components import format as fmt
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.rows import agent_href

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "error"]


class MyAgentDisplay(TypedDict):
    id: str
    name: str
    href: str
    venue: str
    venue_color: str
    visibility: str
    status: str
    status_color: str
    archived: bool
    listed: bool
    trades: str
    apr_30d: str
    apr_30d_tone: str
    created: str


STATUS_COLORS = {AgentStatus.ACTIVE: "green", AgentStatus.PAUSED: "amber", AgentStatus.DRAFT: "gray"}


def _row(agent: MyAgentRow) -> MyAgentDisplay:
    archived = agent.status == AgentStatus.ARCHIVED
    return MyAgentDisplay(
        id=str(agent.id),
        name=agent.name,
        href=agent_href(agent.id),
        venue=fmt.venue_label(agent.venue),
        venue_color=fmt.venue_color(agent.venue),
        visibility=fmt.label(agent.visibility),
        status=fmt.label(agent.status),
        status_color=STATUS_COLORS.get(agent.status, "gray"),
        archived=archived,
        listed=agent.visibility == Visibility.PUBLIC and not archived,
        trades=fmt.count(agent.trades_count),
        apr_30d=fmt.apr(agent.apr_30d),
        apr_30d_tone=fmt.tone(agent.apr_30d),
        created=fmt.timestamp(agent.created_at),
    )


class MyAgentsState(rx.State):
    status: Status = "loading"
    error: str = ""
    rows: list[MyAgentDisplay] = []
    confirm_id: str = ""
    confirm_name: str = ""
    archiving: bool = False

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.confirm_id = "loading", ""
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        await self._refresh(user)

    async def _refresh(self, user: CurrentUser) -> None:
        try:
            agents = await read(lambda session: list_my_agents(session, user))
        except SQLAlchemyError:
            logger.exception("my agents could not be read")
            self.error, self.status = DB_ERROR, "error"
            return
        self.error = ""
        self.rows = [_row(a) for a in agents]
        self.status = "ready"

    @rx.event
    def ask_archive(self, agent_id: str, name: str) -> None:
        self.confirm_id, self.confirm_name = agent_id, name

    @rx.event
    def dialog_open_change(self, is_open: bool) -> None:
        if not is_open:
            self.confirm_id = self.confirm_name = ""

    @rx.event
    async def archive(self) -> AsyncIterator[EventSpec | None]:
        """Archive the agent the dialog asked about; only its owner (or an admin) gets past the service."""
        if self.archiving or not self.confirm_id.isdigit():
            return
        agent_id, name = int(self.confirm_id), self.confirm_name
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        ip = self.router.session.client_ip or None
        self.archiving = True
        yield
        try:
            await read(lambda session: archive_agent(session, user, agent_id, ip=ip))
        except (Forbidden, AgentNotFound):
            yield rx.toast.error("You can only archive your own agents.")
            return
        except SQLAlchemyError:
            logger.exception("archiving agent %s failed", agent_id)
            yield rx.toast.error(DB_ERROR)
            return
        finally:
            self.archiving = False
            self.confirm_id = self.confirm_name = ""
        await self._refresh(user)
        yield rx.toast.success(f"Archived “{name}”. It has left the marketplace.")
