"""Request-scoped dependencies; engine and settings come from the app so each app instance is isolated."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from sqlmodel import Session

from backend.auth.errors import NotAuthenticated
from backend.auth.identity import CurrentUser
from backend.auth.sessions import SESSION_COOKIE, authenticate
from backend.config import Settings, get_settings
from backend.db import get_engine
from backend.runtime import Runtime, runtime
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher

logger = logging.getLogger(__name__)


def app_settings(app: FastAPI) -> Settings:
    """The app's own settings, or the process-wide ones when none were given to `create_api`."""
    return app.state.settings or get_settings()


def app_engine(app: FastAPI) -> sa.Engine:
    """The app's engine, resolved on first use so that importing and building the app touch no database."""
    return app.state.engine or get_engine(app_settings(app).database_url)


# Guards the first build of an app's own runtime: requests run on a thread pool.
_BUILD_LOCK = threading.Lock()


def app_runtime(app: FastAPI) -> Runtime:
    """The process's runtime, or, for an app built with its own settings or engine, one built from those
    on first use and then shared by the app's requests."""
    if app.state.settings is None and app.state.engine is None:
        return runtime()
    built: Runtime | None = app.state.runtime
    if built is None:
        with _BUILD_LOCK:
            built = app.state.runtime
            if built is None:
                built = app.state.runtime = Runtime(app_settings(app), app_engine(app))
    return built


def app_venues(app: FastAPI) -> VenueRegistry:
    return app_runtime(app).venues


def app_cipher(app: FastAPI) -> WalletCipher:
    return app_runtime(app).cipher


def request_settings(request: Request) -> Settings:
    return app_settings(request.app)


def request_engine(request: Request) -> sa.Engine:
    return app_engine(request.app)


def db_session(engine: Annotated[sa.Engine, Depends(request_engine)]) -> Iterator[Session]:
    """One read session per request, closed when the response is done."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def request_venues(request: Request) -> VenueRegistry:
    return app_venues(request.app)


def request_cipher(request: Request) -> WalletCipher:
    return app_cipher(request.app)


SessionDep = Annotated[Session, Depends(db_session)]
SettingsDep = Annotated[Settings, Depends(request_settings)]
EngineDep = Annotated[sa.Engine, Depends(request_engine)]
VenuesDep = Annotated[VenueRegistry, Depends(request_venues)]
CipherDep = Annotated[WalletCipher, Depends(request_cipher)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def session_token(request: Request) -> str | None:
    """`Authorization: Bearer <token>` first (API clients), else the session cookie (the browser)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(SESSION_COOKIE) or None


def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> CurrentUser:
    """The signed-in user, or 401 naming why (missing, expired, revoked or forged session)."""
    try:
        return authenticate(session, session_token(request), settings=settings)
    except NotAuthenticated as e:
        raise HTTPException(status_code=401, detail=str(e), headers={"WWW-Authenticate": "Bearer"}) from e


def optional_user(request: Request, session: SessionDep, settings: SettingsDep) -> CurrentUser | None:
    """The signed-in user, or None for an anonymous caller (public reads).

    A token that is sent but dead (expired, revoked, forged) still answers 401: the caller meant to be
    someone, and silently reading as a stranger would hide why their private agent seems to be missing.
    """
    if session_token(request) is None:
        return None
    return current_user(request, session, settings)


def admin_user(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="admins only")
    return user


ClientIpDep = Annotated[str | None, Depends(client_ip)]
CurrentUserDep = Annotated[CurrentUser, Depends(current_user)]
OptionalUserDep = Annotated[CurrentUser | None, Depends(optional_user)]
AdminDep = Annotated[CurrentUser, Depends(admin_user)]
