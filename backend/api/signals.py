"""Signal history over REST: what an agent decided, why (features and their weighted shares), and the outcome.

Reading needs no session for a listed agent. A private or archived agent's signals are answered only to its
creator or an admin; anyone else gets the same 404 as for an unknown agent, so its existence never leaks.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from backend.agents.schemas import MAX_PAGE_SIZE
from backend.agents.service import AgentNotFound
from backend.api.agents import MAX_ID
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import OptionalUserDep, SessionDep
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE
from backend.api.routing import AuthenticateFirstRoute
from backend.signals import history
from backend.signals.history import SignalPage

logger = logging.getLogger(__name__)

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1",
    tags=["signals"],
    responses={**INVALID, **UNAVAILABLE},
)


class SignalQuery(BaseModel):
    """`agent_id` is required: signals are always read per agent (private ones are not for everyone)."""

    model_config = ConfigDict(extra="forbid")

    agent_id: int = Field(ge=1, le=MAX_ID)
    token: str | None = Field(default=None, max_length=history.MAX_TOKEN_LENGTH)
    limit: int = Field(default=history.DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=history.MAX_OFFSET)


@router.get("/signals", summary="One agent's signals, newest first", responses={**NOT_FOUND, **UNAUTHORIZED})
def list_signals(
    query: Annotated[SignalQuery, Query()], session: SessionDep, viewer: OptionalUserDep
) -> SignalPage:
    """Each signal with its post, score against the agent's threshold, the feature values, each feature's
    weighted contribution to the score, and the outcome in counts ("Partly traded: 2 positions, 1 skipped
    (insufficient balance)"): skip reasons as categories, never a trader's amounts. `mine` lists the signed-in
    viewer's own deployments' executions with their full reasons; it is empty for anyone else.
    A sent but expired or revoked session answers 401 rather than reading as anonymous."""
    try:
        return history.list_signals(
            session,
            agent_id=query.agent_id,
            viewer=viewer,
            limit=query.limit,
            offset=query.offset,
            token=query.token,
        )
    except AgentNotFound as e:
        raise HTTPException(status_code=404, detail=str(e)) from e
    except ValueError as e:  # the service's own checks; the query model should have caught these first
        raise RequestValidationError([{"loc": ("query",), "msg": str(e), "type": "value_error"}]) from e
