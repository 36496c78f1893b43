"""Notification test support: `events`, what has been written; and a scripted channel for the consumer's own
tests, a test double of the `Sender` protocol (not of our code).

It records what it was asked to send and answers from a script, so the retry schedule, DEAD, SKIPPED and
lapsed claims can be checked without a network. Real channels are tested with their local servers.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import Session, col, select

from backend.models import NotificationDelivery, NotificationEvent
from backend.models.enums import NotificationChannel
from backend.notify.channels import MESSAGE_RETRIES, Outgoing, SendResult
from backend.notify.events import EventType


def events(session: Session, type: EventType | None = None) -> list[NotificationEvent]:
    """The events written so far, oldest first (of one type if given)."""
    session.rollback()  # what is committed, not what this session holds
    query = select(NotificationEvent).order_by(col(NotificationEvent.id))
    if type is not None:
        query = query.where(NotificationEvent.type == type.value)
    return list(session.exec(query))


class ScriptedSender:
    def __init__(
        self,
        channel: NotificationChannel = NotificationChannel.TELEGRAM,
        *,
        results: list[SendResult] | None = None,
        targets: list[int] | None = None,
        retry_delays: tuple[timedelta, ...] = MESSAGE_RETRIES,
        hold: bool = False,
        gone: bool = False,
        send_timeout: float = 1.0,
    ) -> None:
        self.channel = channel
        self.send_timeout = send_timeout
        self.retry_delays = retry_delays
        self.results = list(results or [])
        self._targets = [0] if targets is None else targets
        self.hold = hold
        self.gone = gone
        self.sent: list[Outgoing] = []
        self.after_calls: list[tuple[int, bool]] = []
        self._lock = threading.Lock()

    def targets(self, session: Session, user_id: int, event_type: str) -> list[int]:
        return list(self._targets)

    def hold_for_digest(self, session: Session, user_id: int) -> bool:
        return self.hold

    def prepare(
        self, session: Session, delivery: NotificationDelivery, event: NotificationEvent
    ) -> Outgoing | None:
        if self.gone:
            return None
        return Outgoing.of(delivery, event, delivery.target_id)

    def send(self, outgoing: Outgoing) -> SendResult:
        with self._lock:
            self.sent.append(outgoing)
            return self.results.pop(0) if self.results else SendResult(ok=True, response_code=200)

    def after(self, session: Session, delivery: NotificationDelivery, result: SendResult) -> None:
        self.after_calls.append((delivery.id, result.ok))
