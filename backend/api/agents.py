"""Marketplace read endpoints; thin over `backend.agents.service`, which owns the queries."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from backend.agents import service
from backend.agents.schemas import (
    MAX_PAGE_SIZE,
    AgentDetail,
    AgentPage,
    AgentQuery,
    AgentSort,
    AgentSummary,
    PlatformStats,
)
from backend.api.deps import SessionDep
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE

logger = logging.getLogger(__name__)

# Ids are 32-bit integers in the schema; larger values would be a database error rather than a 404.
MAX_ID = 2**31 - 1

router = APIRouter(prefix="/api/v1", tags=["agents"], responses={**INVALID, **UNAVAILABLE})


@router.get("/agents", summary="List public agents")
def list_agents(query: Annotated[AgentQuery, Query()], session: SessionDep) -> AgentPage:
    """Public agents filtered by venue, searched by name, description, creator or followed handle."""
    return service.list_agents(session, query)


@router.get("/agents/{agent_id}", summary="One public agent in detail", responses=NOT_FOUND)
def get_agent(agent_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep) -> AgentDetail:
    """Weights, risk settings, followed accounts, recent signals and positions of a listed agent."""
    try:
        return service.get_agent(session, agent_id)
    except service.AgentNotFound as e:
        raise HTTPException(status_code=404, detail=str(e)) from e


@router.get("/leaderboard", summary="Best traded agents")
def leaderboard(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    sort: AgentSort = AgentSort.APR_30D,
) -> list[AgentSummary]:
    """Public agents with at least one closed trade, best first by the chosen figure."""
    return service.leaderboard(session, limit=limit, sort=sort)


@router.get("/stats", summary="Platform headline figures")
def stats(session: SessionDep) -> PlatformStats:
    """Counts and totals for the landing page, read from the database on each call."""
    return service.platform_stats(session)
