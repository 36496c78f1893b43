"""My agents `/my-agents`: the signed-in trader's agents, private and archived ones included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec

from backend.agents.editing import archive_agent, list_my_agents
from backend.agents.schemas import MyAgentRow
from backend.agents.service import AgentNotFound
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.models.enums import AgentStatus, Visibility
from maxxit_ui.components import format as fmt
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, LoadMixin
from maxxit_ui.state.rows import agent_href


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


NOT_YOURS = "You can only archive your own agents."
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


class MyAgentsState(LoadMixin, ConfirmMixin, rx.State):
    rows: list[MyAgentDisplay] = []
    archiving: bool = False

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status = "loading"
        self._clear_confirm()
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        await self._refresh(user)

    async def _refresh(self, user: CurrentUser) -> None:
        agents = await self._fetch(lambda session: list_my_agents(session, user), "my agents")
        if agents is not UNAVAILABLE:
            self.rows = [_row(a) for a in agents]
            self._show_ready()

    @rx.event
    async def archive(self) -> AsyncIterator[EventSpec | None]:
        """Archive the agent the dialog asked about; only its owner (or an admin) gets past the service."""
        name = self.confirm_label
        agent_id = self._take_confirmed("archive")
        if self.archiving or not agent_id.isdigit():
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.archiving = True
        yield
        try:
            done = await self._attempt(
                lambda session: archive_agent(session, user, int(agent_id), ip=ip),
                f"archiving agent {agent_id}",
                {Forbidden: NOT_YOURS, AgentNotFound: NOT_YOURS},
            )
        finally:
            self.archiving = False
        if not done.ok:
            yield done.toast
            return
        await self._refresh(user)
        yield rx.toast.success(f"Archived “{name}”. It has left the marketplace.")
