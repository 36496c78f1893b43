"""Reflex config. Every value comes from backend.config.Settings so the app, CLI and workers agree."""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from backend.config import get_settings

settings = get_settings()

# db_url only feeds Reflex's /_health probe: there is no alembic.ini at the root, so Reflex never
# autogenerates or runs migrations. Our schema belongs to Alembic under backend/migrations (`maxxit migrate`).


class _HideReflexDbInitHint(logging.Filter):
    """Reflex suggests `reflex db init` when it finds no alembic.ini; following it would start a second,
    conflicting migration history, so the hint is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "reflex db init" not in record.getMessage()


logging.getLogger("reflex.model").addFilter(_HideReflexDbInitHint())

# Without Redis, states live in this process's memory: the disk manager pickled every state, connection
# headers included, into world-readable .states/*.pkl files. (Redis states hold no session token either:
# maxxit_ui.session_cookie swaps the cookie for a per-connection handle before Reflex sees it.)
_optional: dict[str, Any] = (
    {"redis_url": settings.redis_url}
    if settings.redis_url
    else {"state_manager_mode": rx.constants.StateManagerMode.MEMORY}
)
# `reflex run --env prod` serves UI, websocket and API on one port and refuses two different ones.
_backend_port = settings.frontend_port if settings.env == "prod" else settings.backend_port

config = rx.Config(
    app_name="maxxit_ui",
    db_url=settings.database_url,
    frontend_port=settings.frontend_port,
    backend_port=_backend_port,
    deploy_url=settings.frontend_url,
    # Never "*": Reflex reflects an allowed Origin with credentials on the API it mounts, and the same list
    # decides which pages may open the Socket.IO event socket.
    cors_allowed_origins=settings.allowed_origins,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    default_color_mode="dark",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="dark",
                accent_color="jade",
                gray_color="slate",
                radius="medium",
                scaling="100%",
                panel_background="solid",
            )
        ),
    ],
    # Pages show live data behind on_load reads; a sitemap adds nothing and warns when left implicit.
    disable_plugins=[rx.plugins.SitemapPlugin],
    **_optional,
)
