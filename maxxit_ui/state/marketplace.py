"""Marketplace: public agents with sort, venue filter, search and pages; every control re-queries."""

from __future__ import annotations

import logging
import math

import reflex as rx
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from backend.agents.schemas import AgentPage, AgentQuery, AgentSort
from backend.agents.service import list_agents
from backend.models.enums import Venue
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import clip, shown
from maxxit_ui.state.rows import AgentRow, agent_row

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
ALL_VENUES = "ALL"
SEARCH_MAX_LENGTH = 64

SORT_LABELS: dict[str, str] = {
    AgentSort.APR_30D: "APR 30d",
    AgentSort.APR_90D: "APR 90d",
    AgentSort.SHARPE: "Sharpe",
    AgentSort.WIN_RATE: "Win rate",
    AgentSort.TRADES: "Trades",
    AgentSort.PNL: "Total PnL",
    AgentSort.NEWEST: "Newest",
    AgentSort.NAME: "Name",
}
VENUE_LABELS: dict[str, str] = {
    ALL_VENUES: "All venues",
    Venue.SPOT: "Spot",
    Venue.GMX: "GMX",
    Venue.HYPERLIQUID: "Hyperliquid",
    Venue.OSTIUM: "Ostium",
    Venue.MULTI: "Multi-venue",
}


class MarketplaceState(rx.State):
    """Controls are plain vars; the page of rows is replaced on every query."""

    sort: str = AgentSort.APR_30D.value
    venue: str = ALL_VENUES
    search: str = ""
    page: int = 1
    total: int = 0
    rows: list[AgentRow] = []
    loaded: bool = False
    error: str = ""
    search_error: str = ""

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count}"

    @rx.var
    def total_label(self) -> str:
        return f"{self.total:,} agent" + ("" if self.total == 1 else "s")

    @rx.var
    def has_prev(self) -> bool:
        return self.page > 1

    @rx.var
    def has_next(self) -> bool:
        return self.page < self.page_count

    @rx.event
    async def load(self) -> None:
        """on_load: keep the visitor's controls, refresh the rows."""
        await self._query()

    @rx.event
    async def set_sort(self, value: str) -> None:
        if value not in SORT_LABELS:
            self.error = f"Unknown sort {shown(value)}."
            return
        self.sort = value
        self.page = 1
        await self._query()

    @rx.event
    async def set_venue(self, value: str) -> None:
        if value not in VENUE_LABELS:
            self.error = f"Unknown venue {shown(value)}."
            return
        self.venue = value
        self.page = 1
        await self._query()

    @rx.event
    async def set_search(self, value: str) -> None:
        # One over the limit: stored bounded, and the query still answers "Search is limited to …".
        self.search = clip(value, SEARCH_MAX_LENGTH + 1)
        self.page = 1
        await self._query()

    @rx.event
    async def clear_filters(self) -> None:
        self.search, self.venue, self.page = "", ALL_VENUES, 1
        await self._query()

    @rx.event
    async def next_page(self) -> None:
        if self.has_next:
            self.page += 1
            await self._query()

    @rx.event
    async def prev_page(self) -> None:
        if self.has_prev:
            self.page -= 1
            await self._query()

    def _agent_query(self) -> AgentQuery:
        return AgentQuery(
            venue=None if self.venue == ALL_VENUES else Venue(self.venue),
            q=self.search,
            sort=AgentSort(self.sort),
            limit=PAGE_SIZE,
            offset=(self.page - 1) * PAGE_SIZE,
        )

    async def _query(self) -> None:
        try:
            query = self._agent_query()
        except ValidationError:
            # Only the free-text search can be invalid (too long); sort and venue are checked above.
            self.search_error = f"Search is limited to {SEARCH_MAX_LENGTH} characters."
            return
        self.search_error = ""
        try:
            result: AgentPage = await read(lambda session: list_agents(session, query))
        except SQLAlchemyError:
            logger.exception("marketplace query failed: %s", query)
            self.error = DB_ERROR
            self.loaded = True
            return
        if not result.items and result.total and self.page > 1:
            # The list shrank since the visitor paged: show the last page that has rows.
            self.page = max(1, math.ceil(result.total / PAGE_SIZE))
            await self._query()
            return
        self.error = ""
        self.total = result.total
        self.rows = [agent_row(agent) for agent in result.items]
        self.loaded = True
