"""The wake-up after a commit that wrote events never holds up the commit: a Redis that accepts the
connection and never answers (a hung one, not a refused one) leaves the committing thread free, the
push gives up after the connection's timeout, and the periodic sweep delivers the event."""

from __future__ import annotations

import threading

from sqlmodel import Session

from backend import runtime
from backend.config import Settings
from backend.models.enums import NotificationChannel
from backend.notify import dispatch
from backend.notify.events import EventType, emit
from tasks.app import build_huey
from tasks.notify import HueyNotifyEvents, deliver_notifications
from tests.blackhole import Blackhole
from tests.integration.conftest import until
from tests.notify_support import ScriptedSender


def test_a_hung_redis_holds_up_no_commit_and_the_sweep_delivers(engine, factory, monkeypatch):
    hole = Blackhole().start()  # accepts the connection, never answers
    producer = build_huey(Settings(redis_url=f"redis://127.0.0.1:{hole.port}/0", huey_name="hung"))
    producer._registry.register(deliver_notifications.task_class)
    sink = HueyNotifyEvents(lambda: producer.enqueue(deliver_notifications.s()))
    monkeypatch.setattr(runtime, "notify_events", lambda: sink)
    user = factory.user()
    try:

        def trade() -> None:
            with Session(engine) as session:
                emit(session, user_id=user.id, type=EventType.POSITION_CLOSED, key="position.closed:1")
                session.commit()

        committing = threading.Thread(target=trade)
        committing.start()
        committing.join(timeout=60)
        assert not committing.is_alive()  # the commit returned although the queue hangs
        until(lambda: sink.failures == 1, "the wake-up to give up on the hung Redis")
        assert hole.accepted >= 1  # it did try
    finally:
        hole.stop()
    telegram = ScriptedSender()
    report = dispatch.run_once(
        engine, {NotificationChannel.TELEGRAM: telegram}
    )  # what the periodic sweep runs
    assert report.sent == 1 and [o.event_key for o in telegram.sent] == ["position.closed:1"]
