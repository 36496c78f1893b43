"""`/settings/notifications`: which events reach which channel, Telegram linking and the email address.

Everything goes through the notify services (preferences, telegram.linking, email.addresses) with the
signed-in user re-checked per action; a preference is saved the moment its switch is flipped. While a
Telegram link code is shown the page polls the link status, so the page turns to "linked" as soon as the
bot has handled `/start <code>`. Webhooks are their own state (maxxit_ui.state.webhooks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.notify import preferences
from backend.notify.email import addresses
from backend.notify.telegram import linking
from maxxit_ui.state import notify_rows as rows
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.inputs import CHOICE_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, PollingMixin, Query

LINK_POLL_MS = 3_000
TELEGRAM_REFUSALS: dict[type[Exception], str | None] = {
    linking.TelegramNotConfigured: None,
    linking.TelegramUnavailable: None,
}


class NotifySettingsState(PollingMixin, ConfirmMixin, rx.State):
    """Polls only while a Telegram link code is shown; confirms before unlinking Telegram."""

    prefs: list[rows.PreferenceRow] = []
    saving_pref: str = ""  # "<event_type>:<channel>" while it is being saved

    # Telegram
    tg_configured: bool = False
    tg_linked: bool = False
    tg_username: str = ""
    tg_linked_at: str = ""
    tg_bot: str = ""
    tg_code: str = ""
    tg_url: str = ""
    tg_expires: str = ""
    tg_busy: bool = False

    # Email
    email_configured: bool = False
    email_current: str = ""  # the stored address ("" for none)
    email_verified: bool = False
    email_address: str = ""  # the field
    email_frequency: str = "each"
    email_error: str = ""
    email_note: str = ""
    email_busy: bool = False

    has_webhooks: bool = False

    @rx.var
    def not_set_up(self) -> list[str]:
        """Hints for channels a switch cannot reach yet."""
        hints = []
        if not self.tg_linked:
            hints.append(
                "Telegram: link a chat below."
                if self.tg_configured
                else "Telegram: not configured on this server."
            )
        if not (self.email_current and self.email_verified):
            hints.append(
                "Email: add and verify an address below."
                if self.email_configured
                else "Email: not configured on this server."
            )
        if not self.has_webhooks:
            hints.append("Webhook: add an endpoint below.")
        return hints

    @rx.var
    def channel_ready(self) -> dict[str, bool]:
        return {
            "in_app": True,
            "telegram": self.tg_linked,
            "email": bool(self.email_current) and self.email_verified,
            "webhook": self.has_webhooks,
        }

    # -- load --------------------------------------------------------------------------------------------

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.tg_code, self.tg_url = "loading", "", "", ""
        self.email_error = self.email_note = ""
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        settings = get_settings()

        def everything(session: Session) -> tuple[Any, Any, Any]:
            return (
                preferences.matrix(session, user.id),
                linking.telegram_status(session, user.id, settings),
                addresses.email_status(session, user.id, settings),
            )

        found = await self._fetch(everything, "notification settings")
        if found is UNAVAILABLE:
            return
        matrix, telegram, email = found
        self.prefs = [rows.preference_row(r) for r in matrix]
        self._show_telegram(telegram)
        self._show_email(email, fill_field=True)
        self._show_ready()

    async def _user(self) -> CurrentUser | None:
        return await current_user(self) if self.status == "ready" else None

    # -- preferences -------------------------------------------------------------------------------------

    @rx.event
    async def toggle(self, event_type: str, channel: str, enabled: bool) -> AsyncIterator[EventSpec | None]:
        event_type, channel = clip(event_type, rows.EVENT_TYPE_MAX), clip(channel, CHOICE_MAX)
        user = await self._user()
        if user is None:
            if self.status == "ready":
                yield to_signin(self)
            return
        index = next((i for i, r in enumerate(self.prefs) if r["event_type"] == event_type), None)
        if index is None or channel not in {key for key, _, _ in rows.CHANNELS}:
            return
        before = self.prefs[index][channel]  # type: ignore[literal-required]
        self._set_pref(index, channel, bool(enabled))  # at once, so the switch does not jump back
        self.saving_pref = f"{event_type}:{channel}"
        yield
        try:
            done = await self._attempt(
                lambda session: preferences.set_preference(session, user, event_type, channel, bool(enabled)),
                f"preference {event_type}/{channel}",
                {preferences.PreferenceError: None},
            )
        finally:
            self.saving_pref = ""
        if not done.ok:
            self._set_pref(index, channel, before)
            yield done.toast

    def _set_pref(self, index: int, channel: str, value: bool) -> None:
        row = dict(self.prefs[index])
        row[channel] = value
        self.prefs = [*self.prefs[:index], rows.PreferenceRow(**row), *self.prefs[index + 1 :]]  # type: ignore[typeddict-item]

    # -- Telegram ----------------------------------------------------------------------------------------

    def _show_telegram(self, status: Any) -> None:
        self.tg_configured = bool(status.configured)
        self.tg_linked = bool(status.linked)
        self.tg_username = status.username or ""
        self.tg_linked_at = rows.when(status.linked_at)
        self.tg_bot = status.bot_username or ""
        if self.tg_linked:
            self.tg_code = self.tg_url = self.tg_expires = ""

    @rx.event
    async def link_telegram(self) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        if user is None or self.tg_busy:
            return
        settings = get_settings()
        self.tg_busy = True
        yield
        try:
            done = await self._attempt(
                lambda s: linking.new_link_code(s, user, settings), "link code", TELEGRAM_REFUSALS
            )
        finally:
            self.tg_busy = False
        if not done.ok:
            yield done.toast
            return
        code = done.value
        self.tg_code, self.tg_url, self.tg_expires = code.code, code.url, rows.when(code.expires_at)

    # -- while a code is shown, the page polls: has the bot linked the chat yet? ----------------------------

    def _can_poll(self) -> bool:
        return self.status == "ready" and bool(self.tg_code) and not self.tg_busy

    def _poll_query(self, user: CurrentUser) -> Query[Any]:
        settings = get_settings()
        return lambda s: linking.telegram_status(s, user.id, settings)

    def _poll_apply(self, status: Any) -> None:
        self._show_telegram(status)

    @rx.event
    async def unlink_telegram(self) -> AsyncIterator[EventSpec | None]:
        confirmed = self._take_confirmed("unlink")
        user = await self._user()
        if not confirmed or user is None or self.tg_busy:
            return
        settings = get_settings()
        self.tg_busy = True
        yield

        def unlink(session: Session) -> Any:
            linking.unlink(session, user)
            return linking.telegram_status(session, user.id, settings)

        try:
            done = await self._attempt(unlink, "unlink Telegram")
        finally:
            self.tg_busy = False
        if done.ok:
            self._show_telegram(done.value)
        yield rx.toast.success("Telegram unlinked.") if done.ok else done.toast

    # -- email -------------------------------------------------------------------------------------------

    def _show_email(self, status: Any, *, fill_field: bool = False) -> None:
        self.email_configured = bool(status.configured)
        self.email_current = status.address or ""
        self.email_verified = bool(status.verified)
        frequency = getattr(status.frequency, "value", status.frequency)
        self.email_frequency = str(frequency or "each")
        if fill_field:
            self.email_address = self.email_current
        if self.email_current and self.email_verified:
            self.email_note = "Verified"
        elif self.email_current:
            self.email_note = f"Verification sent to {self.email_current}: open the link in that email."
        else:
            self.email_note = ""

    @rx.event
    def set_email_address(self, value: str) -> None:
        if self.status == "ready":
            self.email_address, self.email_error = clip(value, rows.EMAIL_MAX), ""

    @rx.event
    def set_email_frequency(self, value: str) -> None:
        if self.status == "ready" and value in rows.FREQUENCIES:
            self.email_frequency = value

    @rx.event
    async def save_email(self) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        if user is None or self.email_busy:
            return
        address, frequency, settings = self.email_address.strip(), self.email_frequency, get_settings()
        if not address:
            self.email_error = "Enter an email address."
            return
        changed, verified = address.lower() != self.email_current.lower(), self.email_verified
        ip = self.router.session.client_ip or None
        self.email_busy, self.email_error = True, ""
        yield

        def save(session: Session) -> Any:
            if changed or not verified:  # a new address, or the link sent again
                addresses.set_address(session, user, address, settings, ip=ip)
            return addresses.set_frequency(session, user, frequency, settings=settings, ip=ip)

        try:
            done = await self._attempt(save, "saving the email address")
        except ValueError as e:  # EmailError and bad input: the service's own words
            self.email_error = str(e) or "That address could not be saved."
            return
        finally:
            self.email_busy = False
        self.email_error = done.message
        if done.ok:
            self._show_email(done.value)
            yield rx.toast.success("Email settings saved.")

    @rx.event
    async def remove_email(self) -> AsyncIterator[EventSpec | None]:
        user = await self._user()
        if user is None or self.email_busy:
            return
        settings, ip = get_settings(), self.router.session.client_ip or None
        self.email_busy = True
        yield

        def remove(session: Session) -> Any:
            addresses.remove_address(session, user, ip=ip)
            return addresses.email_status(session, user.id, settings)

        try:
            done = await self._attempt(remove, "removing the email address")
        finally:
            self.email_busy = False
        self.email_error = done.message
        if done.ok:
            self._show_email(done.value, fill_field=True)
            yield rx.toast.success("Email address removed.")
