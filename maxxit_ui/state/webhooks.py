"""The webhook part of `/settings/notifications`: endpoints, their one-time secret, tests and delivery logs.

A `whsec_` secret exists in page state only while its dialog is open: closing the dialog clears it, so it
is never sent to the browser again (a later state sync, a reconnect) and never lingers on the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.errors import RateLimited
from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.notify.events import CONFIGURABLE, DESCRIPTIONS
from backend.notify.webhooks import endpoints
from backend.runtime import wallet_cipher
from maxxit_ui.state import notify_rows as rows
from maxxit_ui.state.auth import current_user
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, LoadMixin
from maxxit_ui.state.notify_settings import NotifySettingsState

LOG_ROWS = 50
GONE = "That endpoint no longer exists."


def _id(value: Any) -> int | None:
    text = clip(value, ID_TEXT_MAX)
    return int(text) if text.isascii() and text.isdigit() else None


def _choices(checked: Iterable[str] = endpoints.DEFAULT_EVENTS) -> list[rows.EventChoice]:
    """Every type with its box; a new endpoint starts from the default set (opens unticked)."""
    checked = frozenset(checked)
    return [
        rows.EventChoice(event_type=t.value, description=DESCRIPTIONS[t], checked=t.value in checked)
        for t in CONFIGURABLE
    ]


def _ticked(choices: list[rows.EventChoice], event_type: str, checked: bool) -> list[rows.EventChoice]:
    """The same boxes, with `event_type`'s set to `checked`."""
    return [
        {**c, "checked": bool(checked)} if c["event_type"] == event_type else c  # type: ignore[misc]
        for c in choices
    ]


def _chosen(choices: list[rows.EventChoice]) -> list[str]:
    return [c["event_type"] for c in choices if c["checked"]]


class WebhooksState(LoadMixin, ConfirmMixin, rx.State):
    """Rotating a secret and deleting an endpoint are confirmed first (actions "rotate" and "delete")."""

    items: list[rows.EndpointRow] = []
    busy: str = ""  # the endpoint id (or "new") an action is running for

    # the add form
    new_url: str = ""
    new_description: str = ""
    new_events: list[rows.EventChoice] = _choices()
    url_error: str = ""
    events_error: str = ""

    # editing one endpoint (its URL, events, on or off) in place
    edit_id: str = ""
    edit_url: str = ""
    edit_events: list[rows.EventChoice] = []
    edit_enabled: bool = True
    edit_url_error: str = ""
    edit_events_error: str = ""

    # the one-time secret dialog
    secret: str = ""
    secret_title: str = ""

    # one endpoint's delivery log
    log_id: str = ""
    log_url: str = ""
    log_rows: list[rows.AttemptRow] = []

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.secret, self.log_id, self.log_rows = "loading", "", "", "", []
        self.new_url = self.new_description = self.url_error = self.events_error = ""
        self.new_events = _choices()
        self._clear_edit()
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        if await self._refresh(user.id):
            self._show_ready()

    async def _refresh(self, user_id: int) -> bool:
        found = await self._fetch(lambda s: endpoints.list_endpoints(s, user_id), "webhook endpoints")
        if found is UNAVAILABLE:
            return False
        self.items = [rows.endpoint_row(e) for e in found]
        self.error = ""
        settings = await self.get_state(NotifySettingsState)
        settings.has_webhooks = any(e.enabled for e in found)
        return True

    async def _call(self, call: Callable[[Session], Any], what: str) -> tuple[bool, Any]:
        """Run one endpoint action: (True, result), or (False, the WebhookError or the toast to show)."""
        try:
            refusals = {endpoints.WebhookNotFound: GONE, RateLimited: None}  # None: the quota's own words
            done = await self._attempt(call, f"webhooks: {what}", refusals)
        except endpoints.WebhookError as e:
            return False, e
        finally:
            self.busy = ""
        return done.ok, done.value if done.ok else done.toast

    async def _user(self) -> CurrentUser | None:
        return await current_user(self) if self.status == "ready" else None

    def _ip(self) -> str | None:
        return self.router.session.client_ip or None

    # -- the add form ------------------------------------------------------------------------------------

    @rx.event
    def set_new_url(self, value: str) -> None:
        if self.status == "ready":
            self.new_url, self.url_error = clip(value, rows.URL_MAX), ""

    @rx.event
    def set_new_description(self, value: str) -> None:
        if self.status == "ready":
            self.new_description = clip(value, rows.DESCRIPTION_MAX)

    @rx.event
    def toggle_new_event(self, event_type: str, checked: bool) -> None:
        if self.status != "ready":
            return
        self.new_events = _ticked(self.new_events, event_type, checked)
        self.events_error = ""

    @rx.event
    async def add(self) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        if user is None or self.busy:
            return
        url, description = self.new_url.strip(), self.new_description.strip() or None
        events = _chosen(self.new_events)
        if not url:
            self.url_error = "Enter the URL that should receive the events."
            return
        if not events:
            self.events_error = "Choose at least one event."
            return
        settings, cipher = get_settings(), wallet_cipher()
        ip = self._ip()

        def call(s: Session) -> Any:
            return endpoints.create_endpoint(s, user, url, events, description, settings, cipher, ip=ip)

        self.busy = "new"
        yield
        ok, result = await self._call(call, "create")
        if not ok:
            yield self._show_error(result)
            return
        self.new_url = self.new_description = ""
        self.new_events = _choices()
        self.secret, self.secret_title = result.secret, f"Signing secret for {result.endpoint.url}"
        await self._refresh(user.id)

    def _show_error(self, error: Any) -> EventSpec | None:
        """A WebhookError on the url or events field goes beside it; anything else is a toast."""
        if not isinstance(error, endpoints.WebhookError):
            return error  # already the toast
        field, message = getattr(error, "field", ""), getattr(error, "message", "") or str(error)
        if field == "url":
            self.url_error = message
        elif field == "events":
            self.events_error = message
        else:
            return rx.toast.error(message)
        return None

    # -- editing an endpoint -----------------------------------------------------------------------------

    @rx.event
    def start_edit(self, endpoint_id: str) -> None:
        """Open the edit form for one endpoint with what it has now; the same button closes it."""
        row = next((e for e in self.items if e["id"] == endpoint_id), None)
        if self.status != "ready" or row is None or self.edit_id == endpoint_id:
            self._clear_edit()
            return
        self.edit_id, self.edit_url, self.edit_enabled = row["id"], row["url"], row["enabled"]
        self.edit_events = _choices(row["event_types"] or endpoints.DEFAULT_EVENTS)
        self.edit_url_error = self.edit_events_error = ""

    @rx.event
    def cancel_edit(self) -> None:
        self._clear_edit()

    def _clear_edit(self) -> None:
        self.edit_id = self.edit_url = self.edit_url_error = self.edit_events_error = ""
        self.edit_events, self.edit_enabled = [], True

    @rx.event
    def set_edit_url(self, value: str) -> None:
        if self.status == "ready" and self.edit_id:
            self.edit_url, self.edit_url_error = clip(value, rows.URL_MAX), ""

    @rx.event
    def set_edit_enabled(self, checked: bool) -> None:
        if self.status == "ready" and self.edit_id:
            self.edit_enabled = bool(checked)

    @rx.event
    def toggle_edit_event(self, event_type: str, checked: bool) -> None:
        if self.status != "ready" or not self.edit_id:
            return
        self.edit_events = _ticked(self.edit_events, event_type, checked)
        self.edit_events_error = ""

    @rx.event
    async def save_edit(self) -> AsyncIterator[EventSpec | None]:
        """Save through the same service as the API; a refusal goes beside its field."""
        user = await self._user()
        eid = _id(self.edit_id)
        if user is None or eid is None or self.busy:
            return
        url = self.edit_url.strip()
        events = _chosen(self.edit_events)
        if not url:
            self.edit_url_error = "Enter the URL that should receive the events."
            return
        if not events:
            self.edit_events_error = "Choose at least one event."
            return
        settings, enabled, ip = get_settings(), self.edit_enabled, self._ip()

        def call(s: Session) -> Any:
            return endpoints.update_endpoint(
                s, user, eid, url=url, events=events, enabled=enabled, settings=settings, ip=ip
            )

        self.busy = self.edit_id
        yield
        ok, result = await self._call(call, "update")
        if not ok:
            yield self._show_edit_error(result)
            return
        self._clear_edit()
        yield rx.toast.success("Endpoint saved.")
        await self._refresh(user.id)

    def _show_edit_error(self, error: Any) -> EventSpec | None:
        """A WebhookError on the url or events field goes beside it in the edit form; else a toast."""
        if not isinstance(error, endpoints.WebhookError):
            return error  # already the toast
        if error.field == "url":
            self.edit_url_error = error.message
        elif error.field == "events":
            self.edit_events_error = error.message
        else:
            return rx.toast.error(error.message)
        return None

    # -- the secret, once --------------------------------------------------------------------------------

    @rx.event
    def secret_dialog_change(self, is_open: bool) -> None:
        if not is_open:
            self.secret = self.secret_title = ""

    @rx.event
    def close_secret(self) -> None:
        self.secret = self.secret_title = ""

    @rx.event
    async def confirm_rotate(self) -> AsyncIterator[EventSpec | None]:
        """A new secret, shown once like the first; the old one stops verifying at once."""
        endpoint_id = self._take_confirmed("rotate")
        user = await self._user()
        eid = _id(endpoint_id)
        if user is None or eid is None or self.busy:
            return
        cipher = wallet_cipher()
        url = next((e["url"] for e in self.items if e["id"] == endpoint_id), "")
        ip = self._ip()
        self.busy = endpoint_id
        yield
        ok, result = await self._call(
            lambda s: endpoints.rotate_secret(s, user, eid, cipher, ip=ip), "rotate"
        )
        if not ok:
            yield self._show_error(result)
            return
        self.secret, self.secret_title = result, f"New signing secret for {url}"
        hours = f"{get_settings().webhook_secret_rotation_grace_hours:g}"
        yield rx.toast.info(
            f"Deliveries are signed with the old secret too for {hours} h: switch before then."
        )

    # -- test, enable, delete ----------------------------------------------------------------------------

    @rx.event
    async def send_test(self, endpoint_id: str) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        eid = _id(endpoint_id)
        if user is None or eid is None or self.busy:
            return
        ip = self._ip()
        self.busy = endpoint_id
        yield
        ok, result = await self._call(lambda s: endpoints.send_test(s, user, eid, ip=ip), "test")
        if not ok:
            yield self._show_error(result)
            return
        yield rx.toast.success("Test event queued: its delivery shows in the log.")
        if self.log_id == endpoint_id:
            yield await self._read_log(user.id, eid)

    @rx.event
    async def enable(self, endpoint_id: str) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        eid = _id(endpoint_id)
        if user is None or eid is None or self.busy:
            return
        settings, ip = get_settings(), self._ip()

        def call(s: Session) -> Any:
            return endpoints.update_endpoint(s, user, eid, enabled=True, settings=settings, ip=ip)

        self.busy = endpoint_id
        yield
        ok, result = await self._call(call, "enable")
        if not ok:
            yield self._show_error(result)
            return
        yield rx.toast.success("Endpoint enabled.")
        await self._refresh(user.id)

    @rx.event
    async def confirm_delete(self) -> AsyncIterator[EventSpec | None]:
        endpoint_id = self._take_confirmed("delete")
        user = await self._user()
        eid = _id(endpoint_id)
        if user is None or eid is None or self.busy:
            return
        ip = self._ip()
        self.busy = endpoint_id
        yield
        ok, result = await self._call(lambda s: endpoints.delete_endpoint(s, user, eid, ip=ip), "delete")
        if not ok:
            yield self._show_error(result)
            return
        yield rx.toast.success("Endpoint deleted.")
        if self.log_id == endpoint_id:
            self.log_id, self.log_rows = "", []
        if self.edit_id == endpoint_id:
            self._clear_edit()
        await self._refresh(user.id)

    # -- delivery log ------------------------------------------------------------------------------------

    @rx.event
    async def show_log(self, endpoint_id: str) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        eid = _id(endpoint_id)
        if user is None or eid is None:
            return
        if self.log_id == endpoint_id:  # the same button hides it
            self.log_id, self.log_rows = "", []
            return
        self.log_id = endpoint_id
        self.log_url = next((e["url"] for e in self.items if e["id"] == endpoint_id), "")
        yield
        yield await self._read_log(user.id, eid)

    @rx.event
    async def refresh_log(self) -> EventSpec | None:
        user = await self._user()
        eid = _id(self.log_id)
        return None if user is None or eid is None else await self._read_log(user.id, eid)

    async def _read_log(self, user_id: int, endpoint_id: int) -> EventSpec | None:
        """Read one endpoint's log; the toast to show when the database fails."""
        try:
            done = await self._attempt(
                lambda s: endpoints.delivery_log(s, user_id, endpoint_id, limit=LOG_ROWS, offset=0),
                "webhook delivery log",
            )
        except endpoints.WebhookNotFound:
            self.log_id, self.log_rows = "", []
            return None
        if done.ok:
            self.log_rows = [rows.attempt_row(a) for a in done.value]
        return done.toast

    @rx.event
    async def redeliver(self, delivery_id: str) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        did, eid = _id(delivery_id), _id(self.log_id)
        if user is None or did is None or self.busy:
            return
        ip = self._ip()
        self.busy = self.log_id
        yield
        ok, result = await self._call(lambda s: endpoints.redeliver(s, user, did, ip=ip), "redeliver")
        if not ok:
            yield self._show_error(result)
            return
        yield rx.toast.success("Queued for delivery again.")
        if eid is not None:
            yield await self._read_log(user.id, eid)
