"""The page an emailed link opens: it verifies the signed-in user's address with the link's token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.config import get_settings
from backend.notify.email import addresses
from backend.notify.email.errors import EmailError, EmailNotFound
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin

TOKEN_MAX = 128


class VerifyEmailState(LoadMixin, rx.State):
    """`status` is loading, verified or error."""

    address: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.address, self.error = "loading", "", ""
        yield
        user, redirect = await self._viewer()
        if user is None:  # signed out: sign in, then come back to this same link
            yield redirect
            return
        token = str(self.router.url.query_parameters.get("token", ""))[: TOKEN_MAX + 1]
        try:
            address = await self._fetch(
                lambda session: _verify(session, user.id, token), "email verification"
            )
        except EmailError as e:
            self.status, self.error = "error", e.message
            return
        if address is not UNAVAILABLE:
            self.address, self.status = address, "verified"


def _verify(session: Session, user_id: int, token: str) -> str:
    """The verified address. A link used once already (the page reloaded) still shows as verified."""
    try:
        addresses.verify(session, token, user_id=user_id)
    except EmailNotFound:
        status = addresses.email_status(session, user_id, get_settings())
        if not (status.verified and token):
            raise
    return addresses.email_status(session, user_id, get_settings()).address or ""
