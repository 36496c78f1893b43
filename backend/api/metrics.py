"""Prometheus metrics: HTTP traffic by route template, and domain gauges read from the database per scrape."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session, col, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.agents.service import platform_stats
from backend.models import Position
from backend.models.enums import PositionStatus

logger = logging.getLogger(__name__)

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Positions still holding exposure at the venue: a CLOSING one has its close in flight, not yet filled.
_OPEN_STATUSES = (PositionStatus.OPEN, PositionStatus.CLOSING)

router = APIRouter(tags=["metrics"])


class HttpMetrics:
    """The request counter and latency histogram of one app, registered in that app's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter("maxxit_http_requests", "HTTP requests served", labels, registry=registry)
        self.latency = Histogram(
            "maxxit_http_request_duration_seconds", "Time to serve an HTTP request", labels, registry=registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)


def route_label(scope: Scope) -> str:
    """The matched route's template (`/api/v1/agents/{agent_id}`), never the raw path, to bound labels."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Plain ASGI middleware (no BaseHTTPMiddleware), so streaming and websockets pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raises before starting a response

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.observe(scope["method"], route_label(scope), status, time.perf_counter() - started)


class DomainCollector(Collector):
    """Reads platform counts at scrape time, so the gauges are right in every process without bookkeeping."""

    _GAUGES = {
        "maxxit_public_agents": "Public, unarchived agents listed in the marketplace",
        "maxxit_active_deployments": "Deployments in ACTIVE status",
        "maxxit_open_positions": "Positions OPEN or CLOSING",
        "maxxit_closed_trades": "Positions CLOSED",
    }
    _UP = ("maxxit_domain_metrics_up", "1 when the domain gauges were read from the database at this scrape")

    def __init__(self, engine: Callable[[], sa.Engine]) -> None:
        self._engine = engine

    def describe(self) -> Iterator[Metric]:
        # Declared so registering the collector does not run `collect` (and query the database) at import.
        yield GaugeMetricFamily(*self._UP)
        for name, doc in self._GAUGES.items():
            yield GaugeMetricFamily(name, doc)

    def collect(self) -> Iterator[Metric]:
        try:
            values = self._read()
        except (sa.exc.SQLAlchemyError, OSError) as e:
            logger.warning("domain metrics unavailable: %s", e)
            yield GaugeMetricFamily(*self._UP, value=0)
            return
        yield GaugeMetricFamily(*self._UP, value=1)
        for name, doc in self._GAUGES.items():
            yield GaugeMetricFamily(name, doc, value=values[name])

    def _read(self) -> dict[str, int]:
        with Session(self._engine()) as session:
            stats = platform_stats(session)
            open_positions = session.exec(
                select(func.count()).select_from(Position).where(col(Position.status).in_(_OPEN_STATUSES))
            ).one()
        return {
            "maxxit_public_agents": stats.agents,
            "maxxit_active_deployments": stats.active_deployments,
            "maxxit_open_positions": open_positions,
            "maxxit_closed_trades": stats.trades,
        }


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this app's registry."""
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
