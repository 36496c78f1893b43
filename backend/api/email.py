"""Email notifications over REST: the signed-in user's address (set, change, remove), one email per event
or a daily digest, and the verification link's token.

Every path needs a session (401 first). Setting an address mails a link at once; when email is off here (no
SMTP_HOST) the answer is 409, when the mail server will not take the message now 503; nothing changed. A bad
address is 422 on `address`; a token that is unknown or another user's is 404, an expired one 422 on `token`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from backend.api.auth import UNAUTHORIZED
from backend.api.deps import ClientIpDep, CurrentUserDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND, ErrorBody
from backend.api.routing import AuthenticateFirstRoute
from backend.auth.ratelimit import Counter, shared_counter
from backend.models.enums import EmailFrequency
from backend.notify.email import addresses
from backend.notify.email.errors import (
    EmailError,
    EmailNotFound,
    EmailOff,
    EmailRateLimited,
    EmailUnavailable,
)

SMTP_UNAVAILABLE = {
    409: {"model": ErrorBody, "description": "Email is off on this server (no SMTP_HOST)"},
    503: {"model": ErrorBody, "description": "The mail server would not take the message now"},
}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/notifications/email",
    tags=["notifications"],
    responses={**UNAUTHORIZED, **INVALID},
)
TOO_MANY = {429: {"model": ErrorBody, "description": "Too many verification emails this hour"}}


class EmailStatusOut(BaseModel):
    configured: bool = Field(description="False when the server sends no email (SMTP_HOST unset).")
    address: str | None
    verified: bool
    frequency: EmailFrequency
    verification_expires_at: datetime | None = Field(description="While a mailed link is outstanding.")


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(max_length=320)
    frequency: EmailFrequency | None = None


class FrequencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency: EmailFrequency


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)


def _out(status: addresses.EmailStatus) -> EmailStatusOut:
    return EmailStatusOut(
        configured=status.configured,
        address=status.address,
        verified=status.verified,
        frequency=EmailFrequency(status.frequency),
        verification_expires_at=status.verification_expires_at,
    )


def _refused(error: EmailError) -> Exception:
    """Our error as the documented answer: 409 (email off here), 503 (the mail server would not take it
    now), 429, 404, or 422 on the field."""
    if isinstance(error, EmailOff):
        return HTTPException(status_code=409, detail=error.message)
    if isinstance(error, EmailUnavailable):
        return HTTPException(status_code=503, detail=error.message)
    if isinstance(error, EmailRateLimited):
        return HTTPException(
            status_code=429, detail=error.message, headers={"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, EmailNotFound):
        return HTTPException(status_code=404, detail=error.message)
    return RequestValidationError(
        [{"loc": ("body", error.field), "msg": error.message, "type": "value_error"}]
    )


def _counter(request: Request, redis_url: str | None) -> Counter:
    return request.app.state.counter or shared_counter(redis_url)


@router.get("", summary="My email address and how often mail is sent")
def get_email(user: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> EmailStatusOut:
    return _out(addresses.email_status(session, user.id, settings))


@router.put(
    "",
    summary="Set or change my address (a verification link is mailed)",
    responses={**SMTP_UNAVAILABLE, **TOO_MANY},
)
def put_email(
    body: AddressIn,
    request: Request,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> EmailStatusOut:
    try:
        status = addresses.set_address(
            session, user, body.address, settings, counter=_counter(request, settings.redis_url), ip=ip
        )
        if body.frequency is not None:
            status = addresses.set_frequency(session, user, body.frequency, settings=settings, ip=ip)
    except EmailError as e:
        raise _refused(e) from e
    return _out(status)


@router.patch("", summary="One email per event, or a daily digest", responses=NOT_FOUND)
def patch_email(
    body: FrequencyIn, user: CurrentUserDep, session: SessionDep, settings: SettingsDep, ip: ClientIpDep
) -> EmailStatusOut:
    try:
        return _out(addresses.set_frequency(session, user, body.frequency, settings=settings, ip=ip))
    except EmailError as e:
        raise _refused(e) from e


@router.delete("", status_code=204, summary="Remove my address")
def delete_email(user: CurrentUserDep, session: SessionDep, ip: ClientIpDep) -> Response:
    addresses.remove_address(session, user, ip=ip)
    return Response(status_code=204)


@router.post("/verify", summary="Confirm my address with the mailed link's token", responses=NOT_FOUND)
def verify_email(
    body: TokenIn, user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> EmailStatusOut:
    try:
        addresses.verify(session, body.token, user_id=user.id)
    except EmailError as e:
        raise _refused(e) from e
    return _out(addresses.email_status(session, user.id, settings))
