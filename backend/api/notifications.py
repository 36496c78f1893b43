"""The in-app inbox and notification preferences over REST.

Every path needs a session (401 first, before any body is judged). A user reads and marks only their own
items: another user's ids are ignored, as unknown ones are. Bad input is 422 on the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.api.agents import MAX_ID
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import CurrentUserDep, SessionDep
from backend.api.errors import INVALID, UNAVAILABLE, FieldError, ValidationErrorBody
from backend.api.routing import AuthenticateFirstRoute
from backend.notify import inbox, preferences

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/notifications",
    tags=["notifications"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)


class InboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unread: bool = False
    limit: int = Field(default=50, ge=1, le=inbox.MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class InboxItemOut(BaseModel):
    id: int
    event_type: str
    title: str
    lines: list[tuple[str, str]]  # (label, value) pairs, in display order
    path: str  # where on the site to look
    created_at: datetime
    read_at: datetime | None


class InboxPageOut(BaseModel):
    items: list[InboxItemOut]
    total: int
    unread: int


class UnreadOut(BaseModel):
    unread: int


class ReadIn(BaseModel):
    """`{"ids": [1, 2]}` marks those items read; `{"all": true}` marks every item."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=500)
    all: bool = False


class ReadOut(BaseModel):
    marked: int
    unread: int


class PreferenceOut(BaseModel):
    event_type: str
    description: str
    channels: dict[str, bool]


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    enabled: bool


@router.get("", summary="My inbox")
def list_notifications(
    query: Annotated[InboxQuery, Query()], user: CurrentUserDep, session: SessionDep
) -> InboxPageOut:
    """Newest first; `unread=true` leaves out what was read. `unread` counts the whole inbox."""
    page = inbox.list_items(
        session, user.id, limit=query.limit, offset=query.offset, unread_only=query.unread
    )
    items = [InboxItemOut(**{**vars(item), "lines": list(item.lines)}) for item in page.items]
    return InboxPageOut(items=items, total=page.total, unread=page.unread)


@router.get("/unread-count", summary="How many unread")
def unread_count(user: CurrentUserDep, session: SessionDep) -> UnreadOut:
    return UnreadOut(unread=inbox.unread_count(session, user.id))


@router.post("/read", summary="Mark items read")
def mark_read(body: ReadIn, user: CurrentUserDep, session: SessionDep) -> ReadOut:
    if (body.ids is None) == (not body.all):
        return _invalid("ids", 'send either "ids" or "all": true')  # type: ignore[return-value]
    marked = inbox.mark_read(session, user.id, None if body.all else body.ids)
    return ReadOut(marked=marked, unread=inbox.unread_count(session, user.id))


@router.get("/preferences", summary="My notification preferences")
def get_preferences(user: CurrentUserDep, session: SessionDep) -> list[PreferenceOut]:
    """Every event type I can choose for, with each channel on or off (defaults unless I chose)."""
    return [PreferenceOut(**vars(row)) for row in preferences.matrix(session, user.id)]


@router.put("/preferences", summary="Turn one event type on or off on one channel")
def put_preference(body: PreferenceIn, user: CurrentUserDep, session: SessionDep) -> list[PreferenceOut]:
    """Returns the whole matrix after the change; an unknown type or channel is 422 on that field."""
    try:
        preferences.set_preference(session, user, body.event_type, body.channel, body.enabled)
    except preferences.PreferenceError as e:
        return _invalid(e.field, str(e))  # type: ignore[return-value]
    return get_preferences(user, session)


def _invalid(field: str, message: str) -> JSONResponse:
    """The app's 422 shape for a value only the service can judge."""
    error = ValidationErrorBody(detail=[FieldError(field=field, message=message)])
    return JSONResponse(status_code=422, content=error.model_dump())
