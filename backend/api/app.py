"""Builds the FastAPI app; routers are added here so one place lists every path the API serves."""

from __future__ import annotations

import logging
from functools import partial

import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from backend.api import agents, health, metrics
from backend.api.deps import app_engine
from backend.api.errors import ERRORS_DESCRIPTION, install_error_handlers
from backend.config import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = "Read API of the Maxxit agent marketplace, plus health probes and Prometheus metrics.\n"
DESCRIPTION += ERRORS_DESCRIPTION


def create_api(engine: sa.Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the API; engine and settings resolve lazily at request time so importing stays cheap."""
    app = FastAPI(
        title="Maxxit API",
        description=DESCRIPTION,
        version=health.app_version(),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    # Each app owns its registry, so several apps in one process (tests, workers) never collide.
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    registry.register(metrics.DomainCollector(partial(app_engine, app)))
    app.add_middleware(metrics.MetricsMiddleware, metrics=metrics.HttpMetrics(registry))
    install_error_handlers(app)
    for router in (agents.router, health.router, metrics.router):
        app.include_router(router)
    return app
