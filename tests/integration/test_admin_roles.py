"""Roles through the service on SQLite and PostgreSQL: however admins race, one admin is always left."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.auth import users
from backend.auth.errors import Forbidden, LastAdmin
from backend.auth.identity import CurrentUser
from backend.models import User
from backend.models.enums import Role
from tests.factories import Factory

ROUNDS = 20


def _me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def _admins(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(User.address).where(User.role == Role.ADMIN)).all())


def _race(engine: sa.Engine, moves: list[tuple[CurrentUser, str]]) -> list[str]:
    """Each (actor, target) demotion on its own thread and session, all released at once; their outcomes."""
    barrier = threading.Barrier(len(moves))
    outcomes: list[str] = []

    def demote(actor: CurrentUser, target: str) -> None:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                users.set_role(s, actor, target, Role.TRADER)
                outcomes.append("demoted")
            except (LastAdmin, Forbidden):  # the loser is no longer an admin, or would remove the last one
                outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=move) for move in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(engine: sa.Engine, session: Session):
    factory = Factory(session)
    for _ in range(ROUNDS):
        a, b = factory.user(role=Role.ADMIN), factory.user(role=Role.ADMIN)
        outcomes = _race(engine, [(_me(a), b.address), (_me(b), a.address)])
        assert outcomes == ["demoted", "refused"]
        assert len(_admins(engine)) == 1
        with Session(engine) as s:  # next round starts from no admin at all
            s.execute(sa.update(User).values(role=Role.TRADER))
            s.commit()


def test_an_admin_demoted_since_signing_in_changes_no_role(engine: sa.Engine, session: Session):
    """The request authenticated B as an admin, then A demoted B: B's stale identity must not act."""
    factory = Factory(session)
    a, b, c = (factory.user(role=Role.ADMIN) for _ in range(3))
    b_as_authenticated = _me(b)
    users.set_role(session, _me(a), b.address, Role.TRADER)
    with Session(engine) as s, pytest.raises(Forbidden):
        users.set_role(s, b_as_authenticated, c.address, Role.TRADER)
    with Session(engine) as s, pytest.raises(Forbidden):
        users.set_role(s, b_as_authenticated, b.address, Role.ADMIN)
    assert sorted(_admins(engine)) == sorted([a.address, c.address])


def test_demoting_the_only_admin_is_refused_and_changes_nothing(session: Session, engine: sa.Engine):
    admin = Factory(session).user(role=Role.ADMIN)
    with pytest.raises(LastAdmin):
        users.set_role(session, _me(admin), admin.address, Role.TRADER)
    assert _admins(engine) == [admin.address]
