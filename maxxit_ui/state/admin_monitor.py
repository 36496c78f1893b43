"""Admin: monitor `/admin/monitor`: is the position monitor alive, how fast, within its venue budget, and
which positions need attention (a venue refuses to close them while still holding them)?

Re-read every few seconds while open (the page's timer), from the monitor's own records; admins only, as
on the other operator pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.models.common import utcnow
from backend.monitor.health import MonitorHealth, ReconcileFinding, RefusedClose, monitor_health
from maxxit_ui.components import format as fmt
from maxxit_ui.components.format import venue_label
from maxxit_ui.state.admin import compact_details
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin, PollingMixin

STALE_INTERVALS = 3  # no cycle for this many intervals: the monitor is down (its lease lapses then too)
FINDING_LABELS = {
    Action.RECONCILE_DISCOVERED: "Opened outside",
    Action.RECONCILE_CLOSED_OUTSIDE: "Closed outside",
    Action.RECONCILE_SIZE_CORRECTED: "Size corrected",
}


class FindingRow(TypedDict):
    id: str
    time: str
    kind: str
    entity: str
    details: str
    details_full: str


class AttentionRow(TypedDict):
    id: str
    position: str
    user: str
    user_title: str
    venue: str
    reason: str
    attempts: str
    next_attempt: str


def _attention(r: RefusedClose) -> AttentionRow:
    return AttentionRow(
        id=str(r.position_id),
        position=f"#{r.position_id} · {r.market} {r.side.upper()} · deployment #{r.deployment_id}",
        user="reference book" if r.is_reference else f"#{r.user_id} · {fmt.short_address(r.user_address)}",
        user_title=r.user_address,
        venue=venue_label(r.venue),
        reason=r.reason,
        attempts=fmt.count(r.attempts),
        next_attempt="—" if r.next_attempt_at is None else r.next_attempt_at.strftime("%H:%M:%S UTC"),
    )


def _ms(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


def _age(age: timedelta | None) -> str:
    if age is None:
        return "never ran"
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _finding(i: int, f: ReconcileFinding) -> FindingRow:
    shown, full = compact_details(f.details)
    return FindingRow(
        id=str(i),
        time=fmt.timestamp(f.at),
        kind=FINDING_LABELS.get(f.action, f.action),
        entity=f.entity_type + (f" #{f.entity_id}" if f.entity_id else ""),
        details=shown,
        details_full=full,
    )


class AdminMonitorState(AdminMixin, PollingMixin, rx.State):
    last_cycle: str = ""
    last_cycle_age: str = ""
    stale: bool = True
    median_ms: str = ""
    max_ms: str = ""
    cycles_sampled: str = ""
    positions_watched: str = ""
    cycles_per_minute: str = ""
    closes_per_minute: str = ""
    requests_per_minute: str = ""
    errors_per_minute: str = ""
    budget: str = ""
    budget_pct: int = 0  # of the budget, for the progress bar (capped at 100)
    budget_label: str = ""
    over_budget: bool = False
    limit_label: str = ""
    findings: list[FindingRow] = []
    attention: list[AttentionRow] = []

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        health = await self._fetch(_read_health, "admin: monitor health")
        if health is not UNAVAILABLE:
            self._poll_apply(health)
            self._mark_refreshed()
            self._show_ready()

    def _poll_query(self, user: CurrentUser) -> Callable[[Session], MonitorHealth]:
        return _read_health

    def _poll_apply(self, h: MonitorHealth) -> None:
        # Cycles come every few seconds: the minute alone would not tell a live monitor from a stuck one.
        self.last_cycle = h.last_cycle_at.strftime("%Y-%m-%d %H:%M:%S UTC") if h.last_cycle_at else "—"
        self.last_cycle_age = _age(h.last_cycle_age)
        self.stale = h.stale
        self.median_ms, self.max_ms = _ms(h.median_duration_ms), _ms(h.max_duration_ms)
        self.cycles_sampled = fmt.count(h.cycles_sampled)
        self.positions_watched = fmt.count(h.positions_watched)
        self.cycles_per_minute = fmt.count(h.cycles_last_minute)
        self.closes_per_minute = fmt.count(h.closes_last_minute)
        self.requests_per_minute = fmt.count(h.venue_requests_per_minute)
        self.errors_per_minute = fmt.count(h.venue_errors_per_minute)
        self.budget = fmt.count(h.budget_per_minute)
        used = h.budget_used * 100
        self.budget_pct = min(100, int(used))
        self.over_budget = used > 100
        self.budget_label = (
            f"{h.venue_requests_per_minute:,} of {h.budget_per_minute:,} per minute ({used:.0f}%)"
        )
        limit = h.venue_limit_per_minute
        self.limit_label = f"{h.limit_used * 100:.1f}% of Hyperliquid's {limit:,} weight per minute per IP"
        self.findings = [_finding(i, f) for i, f in enumerate(h.findings)]
        self.attention = [_attention(r) for r in h.needs_attention]


def _read_health(session: Session) -> MonitorHealth:
    settings = get_settings()
    return monitor_health(
        session,
        now=utcnow(),
        budget_per_minute=settings.reconcile_weight_per_minute,
        stale_after=timedelta(seconds=settings.monitor_interval_seconds * STALE_INTERVALS),
    )
