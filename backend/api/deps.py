"""Request-scoped dependencies; engine and settings come from the app so each app instance is isolated."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from sqlmodel import Session

from backend.config import Settings, get_settings
from backend.db import get_engine

logger = logging.getLogger(__name__)


def app_settings(app: FastAPI) -> Settings:
    """The app's own settings, or the process-wide ones when none were given to `create_api`."""
    return app.state.settings or get_settings()


def app_engine(app: FastAPI) -> sa.Engine:
    """The app's engine, resolved on first use so that importing and building the app touch no database."""
    return app.state.engine or get_engine(app_settings(app).database_url)


def request_settings(request: Request) -> Settings:
    return app_settings(request.app)


def request_engine(request: Request) -> sa.Engine:
    return app_engine(request.app)


def db_session(engine: Annotated[sa.Engine, Depends(request_engine)]) -> Iterator[Session]:
    """One read session per request, closed when the response is done."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]
SettingsDep = Annotated[Settings, Depends(request_settings)]
EngineDep = Annotated[sa.Engine, Depends(request_engine)]
