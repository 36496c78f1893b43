"""Marketplace: public agents with sort, venue filter, search and pages, all held in the URL.

`/marketplace?venue=GMX&sort=pnl&q=swing&page=2` is the page's whole state: a control changes the URL and the
page's on_load reads it back and queries, so a reload, a shared link and back/forward all show the same list.
Invalid values in the URL read as the defaults; the defaults are left out of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from backend.agents.schemas import AgentQuery, AgentSort
from backend.agents.service import list_agents
from backend.models.enums import Venue
from backend.venues.catalog import venue_label
from maxxit_ui.state.inputs import clip
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin, PagerMixin
from maxxit_ui.state.rows import AgentRow, agent_row

ROUTE = "/marketplace"
PAGE_SIZE = 20
MAX_PAGE = 50_000  # AgentQuery's largest offset over PAGE_SIZE
ALL_VENUES = "ALL"
SEARCH_MAX_LENGTH = 64
SEARCH_TOO_LONG = f"Search is limited to {SEARCH_MAX_LENGTH} characters."

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
VENUE_LABELS: dict[str, str] = {ALL_VENUES: "All venues", **{v.value: venue_label(v) for v in Venue}}


@dataclass(frozen=True)
class Filters:
    """What the list shows, as the URL says it."""

    venue: str = ALL_VENUES
    sort: str = AgentSort.APR_30D.value
    search: str = ""
    page: int = 1


DEFAULTS = Filters()


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The filters in a URL's query; each missing or invalid one is its default."""
    venue = params.get("venue", "").upper()
    sort = params.get("sort", "").lower()
    page = params.get("page", "")
    return Filters(
        venue=venue if venue in VENUE_LABELS else DEFAULTS.venue,
        sort=sort if sort in SORT_LABELS else DEFAULTS.sort,
        search=clip(params.get("q", ""), SEARCH_MAX_LENGTH),
        page=min(int(page), MAX_PAGE) if page.isdigit() and int(page) >= 1 else DEFAULTS.page,
    )


def filters_url(filters: Filters) -> str:
    """The marketplace URL that shows `filters`; defaults are left out (`/marketplace` shows them all)."""
    params = {
        "venue": filters.venue if filters.venue != DEFAULTS.venue else None,
        "sort": filters.sort if filters.sort != DEFAULTS.sort else None,
        "q": filters.search or None,
        "page": str(filters.page) if filters.page != DEFAULTS.page else None,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{ROUTE}?{query}" if query else ROUTE


class MarketplaceState(LoadMixin, PagerMixin, rx.State):
    """The controls mirror the URL; the page of rows is replaced on every load."""

    sort: str = DEFAULTS.sort
    venue: str = DEFAULTS.venue
    search: str = ""
    page_size: int = PAGE_SIZE
    rows: list[AgentRow] = []
    search_error: str = ""

    @rx.var
    def total_label(self) -> str:
        return f"{self.total:,} agent" + ("" if self.total == 1 else "s")

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load (also after every control, and on back/forward): show what the URL asks for."""
        self._show_filters(parse_filters(self.router.url.query_parameters))
        query = AgentQuery(
            venue=None if self.venue == ALL_VENUES else Venue(self.venue),
            q=self.search,
            sort=AgentSort(self.sort),
            limit=PAGE_SIZE,
            offset=(self.page - 1) * PAGE_SIZE,
        )
        result = await self._fetch(lambda session: list_agents(session, query), "marketplace")
        if result is UNAVAILABLE:
            return None
        if self._set_total(result.total):
            # The list shrank since this page was linked: show the last page that has rows.
            return self._go(replace_url=True)
        self.rows = [agent_row(agent) for agent in result.items]
        self._show_ready()
        return None

    @rx.event
    def set_sort(self, value: str) -> EventSpec | None:
        return self._change(sort=value) if value in SORT_LABELS else None

    @rx.event
    def set_venue(self, value: str) -> EventSpec | None:
        return self._change(venue=value) if value in VENUE_LABELS else None

    @rx.event
    def set_search(self, value: str) -> EventSpec | None:
        if len(value) > SEARCH_MAX_LENGTH:
            self.search_error = SEARCH_TOO_LONG
            return None
        self.search_error = ""
        # Typing replaces the URL rather than adding a history entry per pause.
        return self._change(replace_url=True, search=value)

    @rx.event
    def clear_filters(self) -> EventSpec:
        return self._change(search="", venue=ALL_VENUES)

    async def _reload_page(self) -> EventSpec:
        return self._go()

    def _filters(self) -> Filters:
        return Filters(venue=self.venue, sort=self.sort, search=self.search, page=self.page)

    def _show_filters(self, filters: Filters) -> None:
        # Only what differs: re-sending the search box its own value could drop what was typed meanwhile.
        for name, value in vars(filters).items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _change(self, *, replace_url: bool = False, **changes: str) -> EventSpec:
        """Show the new controls at once and go to their URL, from the first page; its on_load queries."""
        self._show_filters(replace(self._filters(), page=1, **changes))
        return self._go(replace_url=replace_url)

    def _go(self, *, replace_url: bool = False) -> EventSpec:
        return rx.redirect(filters_url(self._filters()), replace=replace_url)
