"""Earnings `/earnings`: a creator's profit shares from followers' profitable closes, by agent and month;
what was collected (on paid invoices), paid out to them, and is still pending; the payouts received.

Every figure comes from backend.billing.views.earnings (sums over the same billing lines as every other
page); this state only formats them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.agents.editing import list_my_agents
from backend.auth.identity import CurrentUser
from backend.billing.schemas import EarningRow, EarningsOut, PayoutOut
from backend.billing.views import earnings
from backend.config import get_settings
from maxxit_ui.components import billing_format as bf
from maxxit_ui.components import format as fmt
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin


class EarningDisplay(TypedDict):
    id: str
    agent: str
    month: str
    accrued: str
    collected: str


class PayoutDisplay(TypedDict):
    id: str
    amount: str
    tx_hash: str
    tx_short: str
    date: str
    note: str


def earning_row(row: EarningRow) -> EarningDisplay:
    return EarningDisplay(
        id=f"{row.agent_id}-{row.month}",
        agent=row.agent_name,
        month=bf.month(row.month),
        accrued=bf.usdc(row.accrued_usd),
        collected=bf.usdc(row.collected_usd),
    )


def payout_row(payout: PayoutOut) -> PayoutDisplay:
    return PayoutDisplay(
        id=str(payout.id),
        amount=bf.usdc(payout.amount),
        tx_hash=payout.tx_hash,
        tx_short=bf.tx_short(payout.tx_hash),
        date=fmt.timestamp(payout.created_at),
        note=payout.note or "—",
    )


def _read(session: Session, user: CurrentUser) -> tuple[EarningsOut, bool]:
    return earnings(session, user), bool(list_my_agents(session, user))


class EarningsState(LoadMixin, rx.State):
    has_agents: bool = False
    accrued: str = ""
    collected: str = ""
    paid_out: str = ""
    pending: str = ""
    rows: list[EarningDisplay] = []
    payouts: list[PayoutDisplay] = []
    share_note: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        found = await self._fetch(lambda session: _read(session, user), "earnings")
        if found is not UNAVAILABLE:
            self._show(*found)
            self._show_ready()

    def _show(self, out: EarningsOut, has_agents: bool) -> None:
        settings = get_settings()
        self.has_agents = has_agents or bool(out.rows)
        self.accrued = bf.usdc(out.accrued_usd)
        self.collected = bf.usdc(out.collected_usd)
        self.paid_out = bf.usdc(out.paid_out_usd)
        self.pending = bf.usdc(out.pending_usd)
        self.rows = [earning_row(r) for r in out.rows]
        self.payouts = [payout_row(p) for p in out.payouts]
        self.share_note = (
            f"You earn {bf.share(settings.creator_share_pct)} of your followers' profit on each profitable "
            "live close, after fees. Paper trades are free and earn nothing."
        )
