"""Landing page: headline platform figures and the top of the leaderboard, read live from the database."""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from backend.agents.schemas import AgentSummary, PlatformStats
from backend.agents.service import leaderboard, platform_stats
from maxxit_ui.components import format as fmt
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin
from maxxit_ui.state.rows import AgentRow, agent_row

TOP_N = 5


def _landing_data(session: Session) -> tuple[PlatformStats, list[AgentSummary]]:
    return platform_stats(session), leaderboard(session, limit=TOP_N)


class LandingState(LoadMixin, rx.State):
    """Figures are strings formatted on the server; `loaded` tells "no data yet" from "zero"."""

    agents: str = "—"
    active_deployments: str = "—"
    trades: str = "—"
    volume: str = "—"
    realized_pnl: str = "—"
    realized_pnl_tone: str = "neutral"
    ct_accounts: str = "—"
    leaders: list[AgentRow] = []

    @rx.var
    def loaded(self) -> bool:
        return self.status != "loading"

    @rx.event
    async def load(self) -> None:
        """on_load: re-read on every visit so the figures are live."""
        found = await self._fetch(_landing_data, "landing figures")
        if found is UNAVAILABLE:
            return
        stats, leaders = found
        self.agents = fmt.count(stats.agents)
        self.active_deployments = fmt.count(stats.active_deployments)
        self.trades = fmt.count(stats.trades)
        self.volume = fmt.money(stats.volume_usd, signed=False, places=0)
        self.realized_pnl = fmt.money(stats.realized_pnl)
        self.realized_pnl_tone = fmt.tone(stats.realized_pnl)
        self.ct_accounts = fmt.count(stats.ct_accounts)
        self.leaders = [agent_row(agent) for agent in leaders]
        self._show_ready()
