"""Admin: venues `/admin/venues`: every venue market in the token registry, and "Refresh venues" with what
the refresh changed (added, rules old -> new, delisted, relisted, unreachable venues). Admins only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.markets.listings import MarketOut, VenuesPage, list_venues
from backend.markets.refresh import RefreshReport, VenueChanges, refresh_venues
from backend.models.common import utcnow
from backend.runtime import venue_registry
from maxxit_ui.components import format as fmt
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin

ALL = "all"
SHOWN_NAMES = 8  # symbols named in a report line before "and N more"


class MarketRow(TypedDict):
    id: str
    venue: str
    symbol: str
    name: str
    venue_market: str
    size_step: str
    tick: str
    min_size: str
    max_leverage: str
    active: bool


class ReportLine(TypedDict):
    id: str
    venue: str
    summary: str
    details: str
    failed: bool


def _number(value) -> str:
    return f"{value.normalize():,f}" if abs(value) >= 1 else f"{value.normalize():f}"


def market_row(venue: str, m: MarketOut) -> MarketRow:
    return MarketRow(
        id=f"{venue}-{m.symbol}",
        venue=fmt.venue_label(venue),
        symbol=m.symbol,
        name=m.name,
        venue_market=m.venue_market if m.units == 1 else f"{m.venue_market} ({m.units:,} {m.symbol})",
        size_step=_number(m.size_step),
        tick=_number(m.tick_size),
        min_size=_number(m.min_size),
        max_leverage=f"{_number(m.max_leverage)}x",
        active=m.is_active,
    )


def _names(symbols: list[str]) -> str:
    shown = ", ".join(symbols[:SHOWN_NAMES])
    more = len(symbols) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def report_line(v: VenueChanges) -> ReportLine:
    """One venue's part of a refresh, in words."""
    if v.error:
        return ReportLine(
            id=v.venue, venue=fmt.venue_label(v.venue), details=v.error, failed=True,
            summary="Unreachable: its markets are kept as they were.",
        )  # fmt: skip
    counts = [f"{v.listed:,} listed, {v.active:,} active"]
    parts = []
    for label, symbols in (("added", v.added), ("delisted", v.delisted), ("relisted", v.relisted)):
        if symbols:
            counts.append(f"{len(symbols)} {label}")
            parts.append(f"{label.capitalize()}: {_names(symbols)}.")
    if v.changed:
        counts.append(f"{len(v.changed)} with new rules")
        changes = "; ".join(
            f"{c.symbol} " + ", ".join(f"{k} {old} → {new}" for k, (old, new) in c.changes.items())
            for c in v.changed[:SHOWN_NAMES]
        )
        parts.append(f"Rules: {changes}.")
    if not v.has_changes:
        parts.append("No changes.")
    return ReportLine(
        id=v.venue,
        venue=fmt.venue_label(v.venue),
        summary=" · ".join(counts),
        details=" ".join(parts),
        failed=False,
    )


class AdminVenuesState(AdminMixin, rx.State):
    rows: list[MarketRow] = []
    venue_filter: str = ALL
    query: str = ""
    refreshing: bool = False
    report: list[ReportLine] = []
    report_at: str = ""
    venue_options: list[str] = [ALL]

    _all: list[MarketRow] = []

    @rx.var
    def counts(self) -> str:
        active = sum(r["active"] for r in self.rows)
        return f"{len(self.rows):,} markets shown, {active:,} active"

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        page = await self._fetch(list_venues, "admin: venue markets")
        if page is not UNAVAILABLE:
            self._show(page)
            self._show_ready()

    @rx.event
    def set_venue_filter(self, value: str) -> None:
        self.venue_filter = value
        self._filter()

    @rx.event
    def set_query(self, value: str) -> None:
        self.query = value[:32]
        self._filter()

    @rx.event(background=True)
    async def refresh(self) -> AsyncIterator[EventSpec | None]:
        """Ask every venue for its listings now (an unreachable one costs its timeout), then show the
        changes and the table as written."""
        async with self:
            if self.refreshing or self.status != "ready":
                return
            user, redirect = await self._viewer()
            if user is not None:
                self.refreshing, self.error = True, ""
            ip = self.router.session.client_ip or None
        if user is None:
            if redirect is not None:
                yield redirect
            return
        registry = venue_registry()
        adapters = [registry.get(name) for name in registry.names]

        def refreshed(session: Session) -> tuple[RefreshReport, VenuesPage]:
            return refresh_venues(session, adapters, utcnow(), actor=user, ip=ip), list_venues(session)

        done = await self._attempt(refreshed, "admin: refreshing venues")
        async with self:
            self.refreshing, self.error = False, done.message
            if done.ok:
                result, page = done.value
                self.report = [report_line(v) for v in result.venues]
                self.report_at = result.refreshed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                self._show(page)
        if not done.ok:
            return  # the page says why, beside the table
        if result.errors:
            yield rx.toast.warning(f"Refreshed; unreachable: {', '.join(result.errors)}.")
        else:
            yield rx.toast.success("Venues refreshed.")

    def _show(self, page: VenuesPage) -> None:
        self._all = [market_row(v.venue.value, m) for v in page.venues for m in v.markets]
        self.venue_options = [ALL, *sorted({r["venue"] for r in self._all})]
        self._filter()

    def _filter(self) -> None:
        query = self.query.strip().upper()
        self.rows = [
            r
            for r in self._all
            if (self.venue_filter == ALL or r["venue"] == self.venue_filter)
            and (
                not query
                or query in r["symbol"]
                or query in r["name"].upper()
                or query in r["venue_market"].upper()
            )
        ]
