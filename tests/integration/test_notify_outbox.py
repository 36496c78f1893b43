"""The outbox: an event is written with the change in one transaction, once per key, and a commit that
wrote events (and only such a commit) tells the configured sink."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from backend import runtime
from backend.models import NotificationEvent
from backend.notify.events import EventType, NewEvent, emit, emit_many
from tests.factories import Factory


class _Recorder:
    def __init__(self) -> None:
        self.calls = 0

    def events_committed(self) -> None:
        self.calls += 1


@pytest.fixture
def woken(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(runtime, "notify_events", lambda: recorder)
    return recorder


def _events(session: Session) -> list[NotificationEvent]:
    return list(session.exec(select(NotificationEvent).order_by(NotificationEvent.id)))


def test_an_event_is_written_once_per_key(session: Session, factory: Factory, woken: _Recorder) -> None:
    user = factory.user()
    for _ in range(2):
        emit(
            session,
            user_id=user.id,
            type=EventType.POSITION_CLOSED,
            key="position.closed:1",
            payload={"a": 1},
        )
        session.commit()
    [event] = _events(session)
    assert (event.type, event.key, event.payload, event.dispatched_at) == (
        "position.closed",
        "position.closed:1",
        {"a": 1},
        None,
    )
    assert woken.calls == 2  # each commit that wrote (or tried to write) events wakes the consumer


def test_a_rolled_back_change_leaves_no_event_and_wakes_nobody(
    session: Session, factory: Factory, woken: _Recorder
) -> None:
    user = factory.user()
    emit(session, user_id=user.id, type=EventType.POSITION_OPENED, key="position.opened:9")
    session.rollback()
    session.commit()
    assert _events(session) == [] and woken.calls == 0


def test_a_commit_without_events_wakes_nobody(session: Session, factory: Factory, woken: _Recorder) -> None:
    factory.user()
    session.commit()
    assert woken.calls == 0


def test_many_events_in_one_insert(session: Session, factory: Factory, woken: _Recorder) -> None:
    user = factory.user()
    emit_many(
        session,
        [
            NewEvent(user.id, EventType.POSITION_OPENED, f"position.opened:{i}", {"i": i}, "position", i)
            for i in range(3)
        ],
    )
    session.commit()
    assert [(e.key, e.entity_id) for e in _events(session)] == [
        (f"position.opened:{i}", str(i)) for i in range(3)
    ]
    assert woken.calls == 1


def test_a_broken_sink_does_not_fail_the_commit(
    session: Session, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def events_committed(self) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(runtime, "notify_events", lambda: Broken())
    user = factory.user()
    emit(session, user_id=user.id, type=EventType.NEW_SIGN_IN, key="account.new_sign_in:1")
    session.commit()
    assert len(_events(session)) == 1
