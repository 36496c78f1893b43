"""`/settings/notifications`: which events reach which channel, Telegram linking and the email address.

Everything goes through the notify services (preferences, telegram.linking, email.addresses) with the
signed-in user re-checked per action; a preference is saved the moment its switch is flipped. While a
Telegram link code is shown the page polls the link status, so the page turns to "linked" as soon as the
bot has handled `/start <code>`. Webhooks are their own state (maxxit_ui.state.webhooks).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.notify import preferences
from backend.notify.email import addresses
from backend.notify.telegram import linking
from maxxit_ui.state import notify_rows as rows
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import CHOICE_MAX, clip

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "error"]
LINK_POLL_MS = 3_000


class NotifySettingsState(rx.State):
    status: Status = "loading"
    error: str = ""
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
    tg_confirm_unlink: bool = False

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
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        settings = get_settings()

        def everything(session: Session) -> tuple[Any, Any, Any]:
            return (
                preferences.matrix(session, user.id),
                linking.telegram_status(session, user.id, settings),
                addresses.email_status(session, user.id, settings),
            )

        try:
            matrix, telegram, email = await read(everything)
        except SQLAlchemyError:
            logger.exception("notification settings could not be read")
            self.error, self.status = DB_ERROR, "error"
            return
        self.prefs = [rows.preference_row(r) for r in matrix]
        self._show_telegram(telegram)
        self._show_email(email, fill_field=True)
        self.status = "ready"

    async def _user(self) -> CurrentUser | None:
        return await current_user(self) if self.status == "ready" else None

    async def _act(self, call: Callable[[Session], Any], what: str) -> tuple[bool, Any]:
        """Run one service call; (False, message) on a database failure, logged."""
        try:
            return True, await read(call)
        except SQLAlchemyError:
            logger.exception("notification settings: %s failed", what)
            return False, DB_ERROR

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
            await read(
                lambda session: preferences.set_preference(session, user, event_type, channel, bool(enabled))
            )
        except preferences.PreferenceError as e:
            self._set_pref(index, channel, before)
            yield rx.toast.error(str(e) or "That preference could not be saved.")
        except SQLAlchemyError:
            logger.exception("preference %s/%s could not be saved", event_type, channel)
            self._set_pref(index, channel, before)
            yield rx.toast.error(DB_ERROR)
        finally:
            self.saving_pref = ""

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
            ok, result = await self._act(lambda s: linking.new_link_code(s, user, settings), "link code")
        except (linking.TelegramNotConfigured, linking.TelegramUnavailable) as e:
            ok, result = False, str(e)
        finally:
            self.tg_busy = False
        if not ok:
            yield rx.toast.error(result)
            return
        self.tg_code, self.tg_url, self.tg_expires = result.code, result.url, rows.when(result.expires_at)

    @rx.event
    async def poll_telegram(self, _now: str = "") -> None:
        """While a code is shown: has the bot linked the chat yet?"""
        if not self.tg_code or self.tg_busy:
            return
        user = await self._user()
        if user is None:
            return
        settings = get_settings()
        ok, result = await self._act(lambda s: linking.telegram_status(s, user.id, settings), "status")
        if ok:
            self._show_telegram(result)

    @rx.event
    def ask_unlink(self) -> None:
        if self.tg_linked:
            self.tg_confirm_unlink = True

    @rx.event
    def unlink_dialog_change(self, is_open: bool) -> None:
        if not is_open:
            self.tg_confirm_unlink = False

    @rx.event
    async def unlink_telegram(self) -> AsyncIterator[EventSpec | None]:
        self.tg_confirm_unlink = False
        user = await self._user()
        if user is None or self.tg_busy:
            return
        settings = get_settings()
        self.tg_busy = True
        yield
        ok, result = await self._act(lambda s: linking.unlink(s, user), "unlink")
        if ok:
            _, status = await self._act(lambda s: linking.telegram_status(s, user.id, settings), "status")
            if not isinstance(status, str):
                self._show_telegram(status)
            yield rx.toast.success("Telegram unlinked.")
        else:
            yield rx.toast.error(result)
        self.tg_busy = False

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
            status = await read(save)
        except SQLAlchemyError:
            logger.exception("email address could not be saved")
            self.email_error = DB_ERROR
        except ValueError as e:  # EmailError and bad input: the service's own words
            self.email_error = str(e) or "That address could not be saved."
        else:
            self._show_email(status)
            yield rx.toast.success("Email settings saved.")
        finally:
            self.email_busy = False

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

        ok, result = await self._act(remove, "remove email")
        self.email_busy = False
        if not ok:
            self.email_error = result
            return
        self._show_email(result, fill_field=True)
        yield rx.toast.success("Email address removed.")
