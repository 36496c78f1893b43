"""Stored backtests: one row per run (a single backtest or a sweep), its request and its answer.

A single run is found again by its `key` (a hash of configuration, period, capital, data and code version):
asking the same question of the same data answers from the row. A sweep row carries its progress while the
worker runs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.common import UTCDateTime, utcnow


class BacktestRun(SQLModel, table=True):
    __tablename__ = "backtest_runs"
    __table_args__ = (sa.Index("ix_backtest_runs_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", nullable=False)
    kind: str = Field(default="single", max_length=16)  # single | sweep
    status: str = Field(default="done", max_length=16)  # queued | running | done | failed
    key: str = Field(max_length=64, index=True)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    request: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    progress_done: int = Field(default=0, nullable=False)
    progress_total: int = Field(default=0, nullable=False)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
