"""Run backend reads from event handlers without blocking the event loop that serves every user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from backend.db import session_scope

T = TypeVar("T")

DB_ERROR = "The database could not be read. Please try again in a moment."


async def read(query: Callable[[Session], T]) -> T:
    """Call a backend service with a fresh session in a worker thread and return its plain-data result."""
    return await asyncio.to_thread(_in_session, query)


def _in_session(query: Callable[[Session], T]) -> T:
    with session_scope() as session:
        return query(session)
