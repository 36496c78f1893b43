"""A route class that answers 401 before 422: an anonymous caller learns nothing about the body it sent.

FastAPI parses a JSON body before it runs any dependency, so a protected endpoint answered a malformed
body with 422 even without a session. Routes that depend on `current_user` re-check the session when
request validation fails, and a missing or dead session wins.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.api.deps import app_engine, app_settings, current_user


def requires_user(dependant: Dependant) -> bool:
    """Whether the endpoint, through any chain of dependencies, needs a signed-in user."""
    return any(dep.call is current_user or requires_user(dep) for dep in dependant.dependencies)


def _authenticate(request: Request) -> None:
    """Raises the 401 `current_user` would raise; a valid session returns quietly."""
    with Session(app_engine(request.app), expire_on_commit=False) as session:
        current_user(request, session, app_settings(request.app))


class AuthenticateFirstRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not requires_user(self.dependant):
            return handler

        async def authenticate_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                await run_in_threadpool(_authenticate, request)
                raise

        return authenticate_first
