"""Display rows shared by the landing leaderboard and the marketplace, built from backend summaries."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from backend.agents.schemas import AgentSummary
from backend.venues.catalog import trades_live
from maxxit_ui.components import format as fmt


class AgentRow(TypedDict):
    id: str
    href: str
    name: str
    venue: str  # its name on screen
    venue_color: str
    paper_only: bool  # its venue does not trade live yet: deployments trade on paper
    leverage: str  # the multiple its reference book trades at, and followers' default
    creator: str
    ct_accounts: str
    trades: str
    win_rate: str
    win_rate_tone: str
    apr_30d: str
    apr_30d_tone: str
    sharpe: str
    sharpe_tone: str
    sortino: str
    sortino_tone: str
    profit_factor: str
    pnl: str
    pnl_tone: str
    max_drawdown: str
    max_drawdown_tone: str


def agent_href(agent_id: int) -> str:
    return f"/agents/{agent_id}"


def drawdown_tone(value: Decimal | None) -> str:
    """Red for a fall, grey while unknown, plain for a book that never fell."""
    return "muted" if value is None else "negative" if value else "neutral"


def agent_row(agent: AgentSummary) -> AgentRow:
    return AgentRow(
        id=str(agent.id),
        href=agent_href(agent.id),
        name=agent.name,
        venue=fmt.venue_label(agent.venue),
        venue_color=fmt.venue_color(agent.venue),
        paper_only=not trades_live(agent.venue),
        leverage=fmt.leverage(agent.leverage),
        creator=fmt.creator(agent.creator_name, agent.creator_address),
        ct_accounts=", ".join(f"@{h}" for h in agent.ct_accounts) or "—",
        trades=fmt.count(agent.trades_count),
        win_rate=fmt.percent(agent.win_rate, fraction=True),
        win_rate_tone="muted" if agent.win_rate is None else "neutral",
        apr_30d=fmt.apr(agent.apr_30d),
        apr_30d_tone=fmt.tone(agent.apr_30d),
        sharpe=fmt.ratio(agent.sharpe_30d),
        sharpe_tone=fmt.tone(agent.sharpe_30d),
        sortino=fmt.ratio(agent.sortino_30d),
        sortino_tone=fmt.tone(agent.sortino_30d),
        profit_factor=fmt.profit_factor(agent.profit_factor, agent.trades_count),
        pnl=fmt.money(agent.total_pnl),
        pnl_tone=fmt.tone(agent.total_pnl),
        max_drawdown=fmt.drawdown(agent.max_drawdown),
        max_drawdown_tone=drawdown_tone(agent.max_drawdown),
    )
