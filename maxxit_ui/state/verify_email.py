"""The page an emailed link opens: it verifies the signed-in user's address with the link's token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.config import get_settings
from backend.notify.email import addresses
from backend.notify.email.errors import EmailError, EmailNotFound
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read

logger = logging.getLogger(__name__)

Status = Literal["loading", "verified", "error"]
TOKEN_MAX = 128


class VerifyEmailState(rx.State):
    status: Status = "loading"
    address: str = ""
    error: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.address, self.error = "loading", "", ""
        yield
        user = await current_user(self)
        if user is None:  # signed out: sign in, then come back to this same link
            yield to_signin(self)
            return
        token = str(self.router.url.query_parameters.get("token", ""))[: TOKEN_MAX + 1]
        try:
            self.address = await read(lambda session: _verify(session, user.id, token))
            self.status = "verified"
        except EmailError as e:
            self.status, self.error = "error", e.message
        except SQLAlchemyError:
            logger.exception("verifying an email address failed")
            self.status, self.error = "error", DB_ERROR


def _verify(session: Session, user_id: int, token: str) -> str:
    """The verified address. A link used once already (the page reloaded) still shows as verified."""
    try:
        addresses.verify(session, token, user_id=user_id)
    except EmailNotFound:
        status = addresses.email_status(session, user_id, get_settings())
        if not (status.verified and token):
            raise
    return addresses.email_status(session, user_id, get_settings()).address or ""
