"""Builds the FastAPI app; routers are added here so one place lists every path the API serves."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI

from backend.config import Settings

logger = logging.getLogger(__name__)


def create_api(engine: sa.Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the API; engine and settings resolve lazily at request time so importing stays cheap."""
    app = FastAPI(title="Maxxit API", openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None)
    app.state.engine = engine
    app.state.settings = settings
    return app
