"""Alerts to a user's linked Telegram chat, for the notification consumer (`channels.Sender`).

A user has one target (their chat) while linked. Telegram's 429 and network failures are retried on
`MESSAGE_RETRIES`; 403 (the user blocked the bot or deleted their account) and 400 (chat not found, a
message Telegram refuses) are permanent. After a permanent 403 or "chat not found" the chat is unlinked
(audited, by "delivery"): it cannot receive anything again, and the settings page then shows the user it
is not linked, instead of every later alert failing against it.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlmodel import Session, select

from backend.config import Settings
from backend.models import NotificationDelivery, NotificationEvent, TelegramLink
from backend.models.enums import NotificationChannel
from backend.notify.channels import MESSAGE_RETRIES, Outgoing, SendResult
from backend.notify.telegram import linking
from backend.notify.telegram.client import TelegramClient, TelegramError
from backend.notify.telegram.format import alert_text

logger = logging.getLogger(__name__)

GONE = ("blocked", "deactivated", "kicked", "chat not found", "user not found")


class TelegramSender:
    channel = NotificationChannel.TELEGRAM
    retry_delays = MESSAGE_RETRIES

    def __init__(self, settings: Settings, client: TelegramClient | None = None) -> None:
        self.settings = settings
        self._client = client
        self.send_timeout = client.timeout if client is not None else linking.CLIENT_TIMEOUT_SECONDS
        self._lock = threading.Lock()
        self._sent_to: dict[int, int] = {}  # delivery id -> chat id, from send to after (one process)

    @property
    def client(self) -> TelegramClient:
        with self._lock:  # the consumer sends from several threads; one client (its pool) for all
            if self._client is None:
                self._client = linking.client_for(self.settings)
            return self._client

    def targets(self, session: Session, user_id: int, event_type: str) -> list[int]:
        linked = session.exec(select(TelegramLink.id).where(TelegramLink.user_id == user_id)).first()
        return [0] if linked is not None else []

    def hold_for_digest(self, session: Session, user_id: int) -> bool:
        return False

    def prepare(
        self, session: Session, delivery: NotificationDelivery, event: NotificationEvent
    ) -> Outgoing | None:
        chat_id = session.exec(
            select(TelegramLink.chat_id).where(TelegramLink.user_id == delivery.user_id)
        ).first()
        if chat_id is None:
            return None  # unlinked since the delivery was made
        return Outgoing.of(delivery, event, int(chat_id))

    def send(self, outgoing: Outgoing) -> SendResult:
        text = alert_text(outgoing.event_type, outgoing.payload, self.settings.frontend_url)
        started = time.monotonic()
        try:
            self.client.send_message(int(outgoing.target), text)
        except TelegramError as e:
            if e.permanent:
                with self._lock:
                    self._sent_to[outgoing.delivery_id] = int(outgoing.target)
            error = (
                e.description if e.retry_after is None else f"{e.description} (retry after {e.retry_after} s)"
            )
            logger.info("telegram: delivery %s failed: %s", outgoing.delivery_id, error)
            return SendResult(ok=False, response_code=e.status, error=error[:500], permanent=e.permanent)
        logger.debug(
            "telegram: delivery %s sent in %.0f ms", outgoing.delivery_id, 1000 * (time.monotonic() - started)
        )
        return SendResult(ok=True, response_code=200)

    def after(self, session: Session, delivery: NotificationDelivery, result: SendResult) -> None:
        """Unlink a chat that can never receive again (blocked the bot, account deleted, chat gone)."""
        with self._lock:
            chat_id = self._sent_to.pop(delivery.id or 0, None)
        if chat_id is None or result.ok or not result.permanent:
            return
        if result.response_code == 403 or any(word in (result.error or "").lower() for word in GONE):
            user_id = linking.unlink_chat(session, chat_id, by=linking.BY_DELIVERY, reason=result.error)
            if user_id is not None:
                logger.info("telegram: unlinked user %s's chat: %s", user_id, result.error)
