"""Builds the FastAPI app; routers are added here so one place lists every path the API serves."""

from __future__ import annotations

import logging
from functools import partial

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry

from backend.api import admin, agents, auth, backtests, deployments, health, metrics, posts, signals, venues
from backend.api import telegram as telegram_api
from backend.api.billing import admin_router as billing_admin_router
from backend.api.billing import router as billing_router
from backend.api.billing_payments import router as billing_payments_router
from backend.api.deps import app_engine, app_settings
from backend.api.email import router as email_router
from backend.api.errors import ERRORS_DESCRIPTION, install_error_handlers
from backend.api.middleware.client_address import ClientAddressMiddleware
from backend.api.middleware.same_origin import SameOriginWritesMiddleware
from backend.api.middleware.security_headers import SecurityHeadersMiddleware, content_security_policy
from backend.api.notifications import router as notifications_router
from backend.api.webhooks import router as webhooks_router
from backend.auth.ratelimit import build_counter, build_rate_limiter
from backend.backtest.sweep import NoQueue, SweepQueue
from backend.config import Settings
from backend.signals.dispatch import NoEvents, PipelineEvents

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "API of the Maxxit agent marketplace: Sign-In-With-Ethereum, agents, CT accounts and their posts, "
    "signals, deployments (paper and Hyperliquid, with the agent-wallet approval) and positions, backtests "
    "and parameter sweeps, venues and "
    "their markets, billing (invoices, subscriptions, earnings), admin, "
    "health probes and Prometheus metrics.\n\nSign in with `POST /api/v1/auth/nonce` then "
    "`POST /api/v1/auth/verify`; send the token as `Authorization: Bearer <token>` (browsers get an HttpOnly "
    "cookie too).\n"
)
DESCRIPTION += ERRORS_DESCRIPTION


def create_api(
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    *,
    events: PipelineEvents | None = None,
    sweeps: SweepQueue | None = None,
) -> FastAPI:
    """Build the API; engine and settings resolve lazily at request time so importing stays cheap.

    `events` queues stored posts for classification; without it the periodic sweep finds them later.
    `sweeps` queues new backtest sweeps; without it a starting worker picks them up.
    """
    # Swagger UI's JS and CSS come from the fastapi-offline package, not a CDN: the docs work offline.
    app = FastAPIOffline(
        static_url="/api/docs-assets",
        title="Maxxit API",
        description=DESCRIPTION,
        version=health.app_version(),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.events = events or NoEvents()
    app.state.sweeps = sweeps or NoQueue()
    # An app with its own settings or engine builds its own venues and cipher on first use
    # (backend.api.deps.app_runtime); the default one shares the process's with the UI and the tasks.
    app.state.runtime = None
    # An app built with its own settings counts its own sign-in attempts and backtests; the default one
    # shares the process-wide counters with the UI.
    app.state.counter = build_counter(settings) if settings is not None else None
    app.state.rate_limiter = build_rate_limiter(settings, app.state.counter) if settings is not None else None
    # Each app owns its registry, so several apps in one process (tests, workers) never collide.
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    registry.register(metrics.DomainCollector(partial(app_engine, app)))
    app.add_middleware(metrics.MetricsMiddleware, metrics=metrics.HttpMetrics(registry))
    _add_http_guards(app)
    install_error_handlers(app)
    for module in (auth, agents, signals, posts, deployments, backtests, venues, admin, health, metrics):
        app.include_router(module.router)
    app.include_router(billing_router)
    app.include_router(billing_admin_router)
    app.include_router(billing_payments_router)
    app.include_router(email_router)
    app.include_router(notifications_router)
    app.include_router(webhooks_router)
    app.include_router(telegram_api.router)
    return app


def _add_http_guards(app: FastAPI) -> None:
    """Limits and headers for all this app serves, Reflex's pages and socket mounted inside it included.

    Added last so they run first (Starlette wraps in reverse): the client address is resolved before anyone
    reads it, and even refusals carry the security headers.
    """
    settings = partial(app_settings, app)
    app.max_body_size = settings().max_request_body_bytes
    app.add_middleware(SameOriginWritesMiddleware, allowed_origins=lambda: settings().allowed_origins)
    app.add_middleware(
        SecurityHeadersMiddleware, csp=lambda: content_security_policy(settings().allowed_origins[:1])
    )
    app.add_middleware(ClientAddressMiddleware, trusted=lambda: settings().trusted_proxy_networks)
