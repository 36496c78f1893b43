"""Marketplace reads and the agent builder's writes; thin over `backend.agents.service` and `.editing`.

Writes need a session (401 without). Only an agent's creator or an admin may change it (403, answered by the
app-wide auth error handler from `Forbidden`). Database conflicts the request body could not show on its own
(an unknown CT account, a name the creator already uses) answer 422 on the field, like any other bad input.
`DELETE` archives rather than erases: signals, positions and bills keep pointing at the agent, so it answers
200 with the archived agent, also when it was archived already.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError

from backend.agents import editing, service
from backend.agents.drafts import AgentDraft, AgentPatch
from backend.agents.schemas import (
    MAX_PAGE_SIZE,
    AgentDetail,
    AgentPage,
    AgentQuery,
    AgentSort,
    AgentSummary,
    MyAgentRow,
    OwnedAgent,
    PlatformStats,
)
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import ClientIpDep, CurrentUserDep, OptionalUserDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE, ErrorBody
from backend.api.routing import AuthenticateFirstRoute

logger = logging.getLogger(__name__)

# Ids are 32-bit integers in the schema; larger values would be a database error rather than a 404.
MAX_ID = 2**31 - 1

AgentId = Annotated[int, Path(ge=1, le=MAX_ID)]

FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"model": ErrorBody, "description": "Not your agent"}}
ARCHIVED: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "Agent is archived"}}
OWNER_ONLY = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1",
    tags=["agents"],
    responses={**INVALID, **UNAVAILABLE},
)


@router.get("/agents", summary="List public agents")
def list_agents(query: Annotated[AgentQuery, Query()], session: SessionDep) -> AgentPage:
    """Public agents filtered by venue, searched by name, description, creator or followed handle."""
    return service.list_agents(session, query)


@router.get("/agents/{agent_id}", summary="One agent in detail", responses=NOT_FOUND)
def get_agent(agent_id: AgentId, session: SessionDep, viewer: OptionalUserDep) -> AgentDetail:
    """Weights, risk settings, followed accounts, recent signals with what came of them in counts (skip
    reasons as categories), and the signed-in viewer's own positions on it: never another trader's positions,
    deployments or balances. Private and archived agents only for their creator and admins (404 for anyone
    else)."""
    try:
        return service.get_agent(session, agent_id, viewer)
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


@router.post("/agents", summary="Create an agent", status_code=201, responses=UNAUTHORIZED)
def create_agent(
    draft: AgentDraft,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
    response: Response,
) -> OwnedAgent:
    """A new agent owned by the signed-in user; public ones appear in the marketplace at once.

    Its version 1 and its reference book (which takes every signal from now on) are made with it.
    """
    with _domain_errors():
        capital = settings.reference_capital_usd
        agent = editing.create_agent(session, user, draft, ip=ip, reference_capital=capital)
    response.headers["Location"] = f"/api/v1/me/agents/{agent.id}"
    return agent


@router.patch("/agents/{agent_id}", summary="Edit an agent", responses={**OWNER_ONLY, **ARCHIVED})
def update_agent(
    agent_id: AgentId, patch: AgentPatch, user: CurrentUserDep, session: SessionDep, ip: ClientIpDep
) -> OwnedAgent:
    """Changes only the fields given; `ct_account_ids` replaces the follows; `weights` needs all eight."""
    with _domain_errors():
        return editing.update_agent(session, user, agent_id, patch, ip=ip)


@router.delete("/agents/{agent_id}", summary="Archive an agent", responses=OWNER_ONLY)
def archive_agent(
    agent_id: AgentId, user: CurrentUserDep, session: SessionDep, ip: ClientIpDep
) -> OwnedAgent:
    """Hides the agent from the marketplace and freezes it; its history stays. Repeating it is harmless."""
    with _domain_errors():
        return editing.archive_agent(session, user, agent_id, ip=ip)


@router.get("/me/agents", summary="My agents", responses=UNAUTHORIZED)
def my_agents(user: CurrentUserDep, session: SessionDep) -> list[MyAgentRow]:
    """The signed-in user's agents, private and archived ones included, newest first."""
    return editing.list_my_agents(session, user)


@router.get("/me/agents/{agent_id}", summary="One of my agents, editable values", responses=OWNER_ONLY)
def my_agent(agent_id: AgentId, user: CurrentUserDep, session: SessionDep) -> OwnedAgent:
    """Every value the edit form shows; admins may read anyone's."""
    with _domain_errors():
        return editing.get_owned_agent(session, user, agent_id)


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Editing errors as HTTP answers; a database conflict on an input field is a 422 on that field."""
    try:
        yield
    except service.AgentNotFound as e:
        raise HTTPException(status_code=404, detail=str(e)) from e
    except editing.AgentArchived as e:
        raise HTTPException(status_code=409, detail=str(e)) from e
    except editing.AgentEditError as e:
        error = {"loc": ("body", e.field), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e
