"""CT accounts and their posts: public reads, and the operators' writes (admins only).

Refusals the services name (`InputRejected`) answer 422 on their field, like any other bad input; unknown
accounts and posts in the path answer 404. A pasted post that names an unknown account in its body is a
422 on `ct_account_id`, as any value only the database can judge. New posts are handed to the pipeline's
queue (`app.state.events`) after they are committed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.agents import editing
from backend.agents.schemas import CtAccountOut
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import AdminDep, ClientIpDep, SessionDep
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE, ErrorBody
from backend.api.routing import AuthenticateFirstRoute
from backend.signals import accounts, posts
from backend.signals.dispatch import PipelineEvents
from backend.signals.errors import CtAccountNotFound, InputRejected
from backend.signals.ingest import store_manual_post

logger = logging.getLogger(__name__)

MAX_ID = 2**31 - 1
AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
PostId = Annotated[int, Path(ge=1, le=MAX_ID)]

FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"model": ErrorBody, "description": "Not an admin"}}
ADMIN_ONLY = {**UNAUTHORIZED, **FORBIDDEN}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1",
    tags=["ct accounts and posts"],
    responses={**INVALID, **UNAVAILABLE},
)


class CtAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Loose bounds here; the service says exactly what a handle or a name may be.
    handle: str = Field(max_length=64, description="X handle, with or without the leading @")
    display_name: str = Field(default="", max_length=200)
    followers_count: int = Field(default=0, ge=0, le=MAX_ID)


class CtAccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool


class ManualPostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ct_account_id: int = Field(ge=1, le=MAX_ID)
    text: str = Field(max_length=20_000)
    posted_at: datetime | None = Field(default=None, description="UTC, with its offset; default now")


@router.get("/ct-accounts", summary="CT accounts an agent can follow")
def ct_accounts(session: SessionDep) -> list[CtAccountOut]:
    """Active crypto-Twitter accounts, by handle, with followers and impact factor."""
    return editing.list_ct_accounts(session)


@router.get("/admin/ct-accounts", summary="Followed CT accounts with their counts", responses=ADMIN_ONLY)
def admin_ct_accounts(_admin: AdminDep, session: SessionDep) -> list[accounts.CtAccountAdmin]:
    """Active and paused accounts (not removed ones), by handle, with post counts and following agents."""
    return accounts.list_accounts_admin(session)


@router.post("/ct-accounts", summary="Follow a CT account", status_code=201, responses=ADMIN_ONLY)
def add_ct_account(
    body: CtAccountIn, admin: AdminDep, session: SessionDep, ip: ClientIpDep
) -> accounts.CtAccountAdmin:
    """A followed handle is a 422 on `handle`; the handle of a removed account restores it with its posts."""
    return accounts.add_account(
        session,
        handle=body.handle,
        display_name=body.display_name,
        followers_count=body.followers_count,
        actor=admin,
        ip=ip,
    )


@router.patch(
    "/ct-accounts/{account_id}", summary="Pause or resume a CT account", responses={**ADMIN_ONLY, **NOT_FOUND}
)
def change_ct_account(
    account_id: AccountId, body: CtAccountChange, admin: AdminDep, session: SessionDep, ip: ClientIpDep
) -> accounts.CtAccountAdmin:
    """A paused account's new posts are not stored; repeating a change is harmless."""
    return accounts.set_account_active(session, account_id, body.is_active, actor=admin, ip=ip)


@router.delete(
    "/ct-accounts/{account_id}",
    summary="Stop following a CT account",
    status_code=204,
    responses={**ADMIN_ONLY, **NOT_FOUND},
)
def remove_ct_account(
    account_id: AccountId, admin: AdminDep, session: SessionDep, ip: ClientIpDep
) -> Response:
    """Its posts and signals stay; adding the handle again restores it. Repeating it is harmless."""
    accounts.remove_account(session, account_id, actor=admin, ip=ip)
    return Response(status_code=204)


@router.get("/posts", summary="CT posts with their classification")
def list_posts(query: Annotated[posts.PostQuery, Query()], session: SessionDep) -> posts.PostPage:
    """Newest first; filtered by account, by classification (`is_signal`) and by token."""
    return posts.list_posts(session, query)


@router.get("/posts/{post_id}", summary="One CT post", responses=NOT_FOUND)
def get_post(post_id: PostId, session: SessionDep) -> posts.PostOut:
    return posts.get_post(session, post_id)


@router.post("/posts", summary="Paste a post", status_code=201, responses=ADMIN_ONLY)
def paste_post(
    body: ManualPostIn,
    request: Request,
    response: Response,
    admin: AdminDep,
    session: SessionDep,
    ip: ClientIpDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Repeat it on a retry to get the first post back (200)"),
    ] = None,
) -> posts.PostOut:
    """Stores an operator's post (201) and queues it for classification. A retry with the same
    `Idempotency-Key` answers 200 with the first post; the same key with a different post is a 422."""
    try:
        post, is_new = store_manual_post(
            session,
            ct_account_id=body.ct_account_id,
            text=body.text,
            actor=admin,
            posted_at=body.posted_at,
            idempotency_key=idempotency_key,
            ip=ip,
        )
    except CtAccountNotFound as e:
        raise InputRejected("ct_account_id", str(e)) from e
    assert post.id is not None
    if is_new:
        _queue(request.app.state.events, post.id)
    else:
        response.status_code = 200
    return posts.get_post(session, post.id)


def _queue(events: PipelineEvents, post_id: int) -> None:
    """The post is committed whatever happens here: a queue that is down only delays it until the sweep."""
    try:
        events.posts_stored([post_id])
    except Exception:
        logger.exception("post %s stored but not queued; the sweep will classify it", post_id)
