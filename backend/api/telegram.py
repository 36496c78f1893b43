"""Telegram over REST: the signed-in user's link (status, a one-time code, unlink), and the endpoint
Telegram posts updates to in webhook mode.

The user's paths need a session (401 first). `POST /api/v1/telegram/updates` needs no session: it is
Telegram calling, proven by the `X-Telegram-Bot-Api-Secret-Token` header equal to TELEGRAM_WEBHOOK_SECRET
(compared in constant time); without that setting, or with a wrong header, it is 401 and nothing is read.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.api.auth import UNAUTHORIZED
from backend.api.deps import CurrentUserDep, SessionDep, SettingsDep, app_engine, app_settings, app_venues
from backend.api.errors import CONFLICT, INVALID, UNAVAILABLE
from backend.api.routing import AuthenticateFirstRoute
from backend.notify.telegram import linking
from backend.notify.telegram.poller import process_update, send_replies, valid_update_id

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/telegram",
    tags=["notifications"],
    responses={**INVALID, **UNAVAILABLE},
)


class TelegramStatusOut(BaseModel):
    configured: bool  # the server has a bot (TELEGRAM_BOT_TOKEN)
    linked: bool
    username: str | None  # the linked chat's Telegram @name, when it has one
    linked_at: datetime | None
    bot_username: str | None


class LinkCodeOut(BaseModel):
    code: str  # one-time, for 15 minutes; a new code voids the previous unused one
    url: str  # https://t.me/<bot>?start=<code>: opens the bot, which links the chat on Start
    expires_at: datetime


class UnlinkOut(BaseModel):
    unlinked: bool  # false when nothing was linked


@router.get("", summary="My Telegram link", responses=UNAUTHORIZED)
def status(user: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> TelegramStatusOut:
    found = linking.telegram_status(session, user.id, settings)
    return TelegramStatusOut(**found.__dict__)


@router.post(
    "/link-code", summary="A one-time code to link a Telegram chat", responses={**UNAUTHORIZED, **CONFLICT}
)
def link_code(user: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> LinkCodeOut:
    """Open `url` in Telegram (or send `/start <code>` to the bot) within 15 minutes. 409 when the server
    has no bot; 503 when the bot's name cannot be learnt from Telegram right now."""
    try:
        code = linking.new_link_code(session, user, settings)
    except linking.TelegramNotConfigured as e:
        raise HTTPException(status_code=409, detail=str(e)) from None
    except linking.TelegramUnavailable as e:
        raise HTTPException(status_code=503, detail=str(e), headers={"Retry-After": "30"}) from None
    return LinkCodeOut(code=code.code, url=code.url, expires_at=code.expires_at)


@router.delete("/link", summary="Unlink my Telegram chat", responses=UNAUTHORIZED)
def unlink(user: CurrentUserDep, session: SessionDep) -> UnlinkOut:
    return UnlinkOut(unlinked=linking.unlink(session, user))


@router.post(
    "/updates",
    summary="Telegram's webhook (Telegram calls this, not users)",
    responses={401: {"description": "Missing or wrong secret token, or webhook mode is off"}},
)
async def updates(request: Request) -> dict[str, bool]:
    """One Update as Telegram posts it. Handled once (an update seen again is acknowledged and ignored);
    the bot's answers are sent before this returns."""
    settings = app_settings(request.app)
    expected = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    given = request.headers.get(SECRET_HEADER, "")
    if (
        not expected
        or not linking.configured(settings)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise HTTPException(status_code=401, detail="invalid or missing secret token")
    update = _update(await request.body())
    await run_in_threadpool(_handle, request, update)
    return {"ok": True}


def _update(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if len(raw) <= MAX_UPDATE_BYTES else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not valid_update_id(body.get("update_id")):
        error = {
            "loc": ("body", "update_id"),
            "msg": "expected a Telegram Update object",
            "type": "value_error",
        }
        raise RequestValidationError([error])
    return body


def _handle(request: Request, update: dict[str, Any]) -> None:
    settings = app_settings(request.app)
    replies = process_update(
        app_engine(request.app), update, settings=settings, venues=app_venues(request.app)
    )
    if replies:
        with linking.client_for(settings) as client:
            send_replies(client, replies)
