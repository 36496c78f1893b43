"""What the agent services accept and return. Validated on the way in; plain data on the way out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.deployments.schemas import PositionFigures
from backend.models.enums import Venue

MAX_PAGE_SIZE = 100


class AgentSort(StrEnum):
    APR_30D = "apr_30d"
    APR_90D = "apr_90d"
    SHARPE = "sharpe"
    WIN_RATE = "win_rate"
    TRADES = "trades"
    PNL = "pnl"
    NEWEST = "newest"
    NAME = "name"


class AgentQuery(BaseModel):
    """Marketplace query: venue filter, free-text search, sort and page."""

    model_config = ConfigDict(extra="forbid")

    venue: Venue | None = None
    q: str | None = Field(default=None, max_length=64)
    sort: AgentSort = AgentSort.APR_30D
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("q")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class AgentSummary(BaseModel):
    """One marketplace row. Figures are the reference book's, as fractions (0.12 = 12%); None until it has
    closed a trade (profit factor also while it has never lost)."""

    id: int
    name: str
    description: str
    venue: Venue
    creator_address: str
    creator_name: str | None
    ct_accounts: list[str]
    trades_count: int
    win_rate: Decimal | None
    apr_30d: Decimal | None
    apr_90d: Decimal | None
    sharpe_30d: Decimal | None
    sortino_30d: Decimal | None
    max_drawdown: Decimal | None
    profit_factor: Decimal | None
    total_pnl: Decimal
    leverage: Decimal = Decimal(1)
    version: int = 1  # its newest version's number
    created_at: datetime


class AgentPage(BaseModel):
    items: list[AgentSummary]
    total: int
    limit: int
    offset: int


class CtAccountOut(BaseModel):
    id: int
    handle: str
    display_name: str
    followers_count: int
    impact_factor: Decimal
    impact_calls: int = 0  # the calls (posts traded by reference books, trailing 90 days) it rests on


class RiskSettings(BaseModel):
    stoploss: Decimal
    take_profit: Decimal | None
    trailing_stop_positive_offset: Decimal
    trailing_stop_positive: Decimal
    sizing_profile: str
    signal_threshold: Decimal
    leverage: Decimal = Decimal(1)  # the multiple its trades are sized at; deployments default to it


class SignalOut(BaseModel):
    """A recent signal as anyone may read it: what came of it in counts, skip reasons as categories."""

    id: int
    token: str
    side: str
    score: Decimal
    status: str
    skip_reason: str | None  # the public category of why the signal itself was skipped
    positions_opened: int
    skipped: dict[str, int]  # deployments that did not trade it, by public reason category
    outcome: str
    post_text: str | None
    post_handle: str | None
    created_at: datetime


class PositionOut(BaseModel):
    id: int
    deployment_id: int
    venue: str
    market: str
    side: str
    size: Decimal
    leverage: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    status: str
    close_reason: str | None
    realized_pnl: Decimal | None
    opened_at: datetime
    closed_at: datetime | None
    figures: PositionFigures  # gross, venue fees, Maxxit's fee, profit share, net: as on every page


class AgentDetail(AgentSummary):
    weights: dict[str, int]
    risk: RiskSettings
    visibility: str
    status: str
    apr_si: Decimal | None
    volume_usd: Decimal
    active_deployments: int  # followers' deployments now active; the reference book is not one
    # Followers' own results, shown apart: they never change the figures above.
    follower_deployments: int
    follower_realized_pnl: Decimal
    accounts: list[CtAccountOut]
    recent_signals: list[SignalOut]
    # The viewer's own positions on this agent; other traders' positions are never in a public answer.
    my_positions: list[PositionOut]
    metrics_updated_at: datetime | None
    versions: list[VersionOut] = []  # newest first
    editable: bool = False  # whether the viewer may edit it (its creator or an admin, not archived)


class VersionOut(BaseModel):
    """One version of an agent's strategy, for the agent page's list and its chart's marks."""

    number: int
    note: str
    created_at: datetime
    signal_threshold: Decimal
    sizing_profile: str
    leverage: Decimal
    stoploss: Decimal
    take_profit: Decimal | None
    ct_accounts: int


class PlatformStats(BaseModel):
    """Headline figures for the landing page, all read from the database."""

    agents: int
    active_deployments: int
    trades: int
    volume_usd: Decimal
    realized_pnl: Decimal
    ct_accounts: int


class OwnedAgent(BaseModel):
    """An agent as its owner (or an admin) edits it: every editable value, any visibility or status."""

    id: int
    creator_id: int
    name: str
    description: str
    venue: Venue
    visibility: str
    status: str
    weights: dict[str, int]
    risk: RiskSettings
    ct_account_ids: list[int]
    accounts: list[CtAccountOut]
    created_at: datetime
    updated_at: datetime


class MyAgentRow(BaseModel):
    """One row of "my agents", private and archived ones included."""

    id: int
    name: str
    venue: Venue
    visibility: str
    status: str
    trades_count: int
    apr_30d: Decimal | None
    created_at: datetime
    updated_at: datetime
