"""Email as a channel for the consumer: one message per event to the user's verified address, unless they
chose the daily digest (then their deliveries wait for `digest.send_digests`)."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import EmailAddress, NotificationDelivery, NotificationEvent
from backend.models.enums import EmailFrequency, NotificationChannel
from backend.notify.channels import MESSAGE_RETRIES, Outgoing, SendResult
from backend.notify.email import compose, smtp


class EmailSender:
    channel = NotificationChannel.EMAIL
    retry_delays: tuple[timedelta, ...] = MESSAGE_RETRIES

    def __init__(self, settings: Settings, *, timeout: float = smtp.TIMEOUT_SECONDS) -> None:
        self._settings = settings
        self._timeout = timeout
        self.send_timeout = timeout

    def targets(self, session: Session, user_id: int, event_type: str) -> list[int]:
        return [0] if _verified(session, user_id) is not None else []

    def hold_for_digest(self, session: Session, user_id: int) -> bool:
        row = _verified(session, user_id)
        return row is not None and row.frequency == EmailFrequency.DAILY

    def prepare(
        self, session: Session, delivery: NotificationDelivery, event: NotificationEvent
    ) -> Outgoing | None:
        row = _verified(session, delivery.user_id)
        if row is None:  # removed, or changed and not verified again since the event
            return None
        return Outgoing.of(delivery, event, row.address)

    def send(self, outgoing: Outgoing) -> SendResult:
        message = compose.event_email(self._settings, outgoing.target, outgoing.event_type, outgoing.payload)
        return send_result(self._settings, message, self._timeout)

    def after(self, session: Session, delivery: NotificationDelivery, result: SendResult) -> None:
        return None


def send_result(settings: Settings, message: EmailMessage, timeout: float) -> SendResult:
    """Send and answer as the consumer records it: 250 when taken, the server's code and a short reason
    when not, permanent for a 5xx refusal."""
    try:
        smtp.send_message(settings, message, timeout=timeout)
    except smtp.SmtpError as e:
        return SendResult(ok=False, response_code=e.code, error=e.message[:500], permanent=e.permanent)
    return SendResult(ok=True, response_code=250)


def _verified(session: Session, user_id: int) -> EmailAddress | None:
    statement = select(EmailAddress).where(
        EmailAddress.user_id == user_id, col(EmailAddress.verified_at).is_not(None)
    )
    return session.exec(statement).first()
