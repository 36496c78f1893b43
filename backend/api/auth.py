"""Sign-In-With-Ethereum over REST: nonce, verify, who am I, sign out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from backend.api.deps import ClientIpDep, CurrentUserDep, SessionDep, SettingsDep, session_token
from backend.api.errors import INVALID, ErrorBody
from backend.api.routing import AuthenticateFirstRoute
from backend.auth import service
from backend.auth.errors import SignInRejected
from backend.auth.ratelimit import AuthRateLimiter, auth_rate_limiter
from backend.auth.sessions import SESSION_COOKIE
from backend.config import Settings
from backend.models.auth import MAX_SIGN_IN_MESSAGE_CHARS
from backend.models.enums import Role

logger = logging.getLogger(__name__)

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody, "description": "Not signed in"}}
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many attempts; see Retry-After"}
}

router = APIRouter(
    route_class=AuthenticateFirstRoute, prefix="/api/v1/auth", tags=["auth"], responses={**INVALID}
)


class NonceRequest(BaseModel):
    address: str = Field(max_length=64, description="The wallet address that will sign, 0x-prefixed.")


class NonceOut(BaseModel):
    nonce: str
    message: str = Field(description="The EIP-4361 message to sign with `personal_sign`, unchanged.")
    expires_at: datetime


class VerifyRequest(BaseModel):
    message: str = Field(
        max_length=MAX_SIGN_IN_MESSAGE_CHARS, description="The message from /nonce, exactly as issued."
    )
    signature: str = Field(max_length=300, description="0x-prefixed 65-byte signature of `message`.")
    cookie_only: bool = Field(
        default=False,
        description="Leave the token out of the body: the browser keeps it only in the HttpOnly cookie.",
    )


class SessionOut(BaseModel):
    token: str | None = Field(
        description="Send as `Authorization: Bearer <token>`; also set as a cookie. Null with `cookie_only`."
    )
    address: str
    role: Role
    expires_at: datetime


class MeOut(BaseModel):
    id: int
    address: str
    role: Role
    session_expires_at: datetime | None


def rate_limiter(request: Request, settings: SettingsDep) -> AuthRateLimiter:
    """The app's own limiter when it was built with settings (tests), else the process-wide one."""
    return request.app.state.rate_limiter or auth_rate_limiter(settings)


LimiterDep = Annotated[AuthRateLimiter, Depends(rate_limiter)]


def _limit_ip(limiter: LimiterDep, ip: ClientIpDep) -> None:
    """Counted before any work, so a flood costs one counter increment per request."""
    limiter.check(ip=ip)


RateLimitedIp = Depends(_limit_ip)


@router.post("/nonce", summary="Start a sign-in", dependencies=[RateLimitedIp], responses=TOO_MANY)
def nonce(body: NonceRequest, session: SessionDep, settings: SettingsDep) -> NonceOut:
    """A single-use nonce for this address and the message embedding it; valid for a few minutes.

    Only the caller's IP budget is spent: naming someone's address must not lock them out.
    """
    challenge = service.issue_challenge(session, body.address, settings=settings)
    return NonceOut(nonce=challenge.nonce, message=challenge.message, expires_at=challenge.expires_at)


@router.post(
    "/verify",
    summary="Finish a sign-in",
    dependencies=[RateLimitedIp],
    responses={**UNAUTHORIZED, **TOO_MANY},
)
def verify(
    body: VerifyRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
    limiter: LimiterDep,
) -> SessionOut:
    """Check the signed message (domain, URI, chain, nonce, expiry, signer) and open a session."""
    claimed = _claimed_address(body.message)
    limiter.check_failures(ip=ip, address=claimed)
    try:
        signed = service.sign_in(
            session,
            body.message,
            body.signature,
            settings=settings,
            ip=ip,
            user_agent=request.headers.get("user-agent"),
        )
    except SignInRejected:
        limiter.record_failure(ip=ip, address=claimed)
        raise
    _set_cookie(response, signed.token, signed.expires_at, settings)
    return SessionOut(
        token=None if body.cookie_only else signed.token,
        address=signed.user.address,
        role=signed.user.role,
        expires_at=signed.expires_at,
    )


@router.get("/me", summary="The signed-in user", responses=UNAUTHORIZED)
def me(user: CurrentUserDep) -> MeOut:
    return MeOut(id=user.id, address=user.address, role=user.role, session_expires_at=user.session_expires_at)


@router.post("/logout", summary="Sign out", status_code=204)
def logout(request: Request, session: SessionDep, settings: SettingsDep, ip: ClientIpDep) -> Response:
    """Revoke the session (token or cookie) and clear the cookie; signing out twice is fine."""
    service.sign_out(session, session_token(request), settings=settings, ip=ip)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=settings.cookie_secure, samesite="strict")
    return response


def _claimed_address(message: str) -> str | None:
    """The address line of a SIWE message, to key failed attempts; parsing proper happens later."""
    lines = message.splitlines()
    return lines[1].strip()[:64] if len(lines) > 1 else None


def _set_cookie(response: Response, token: str, expires_at: datetime, settings: Settings) -> None:
    # HttpOnly and SameSite=Strict: page scripts cannot read it and other sites cannot send it.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        expires=expires_at,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )
