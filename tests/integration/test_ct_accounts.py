"""Operators managing CT accounts on SQLite and PostgreSQL: add, restore, pause, remove, audit, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, func, select

from backend.agents.drafts import AgentDraft
from backend.agents.editing import UnknownCtAccounts, create_agent, list_ct_accounts
from backend.audit import Action
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.models import WEIGHT_NAMES, AuditLog, CtAccount, User
from backend.models.common import utcnow
from backend.models.enums import Role
from backend.signals.accounts import (
    add_account,
    list_accounts_admin,
    normalize_handle,
    remove_account,
    set_account_active,
)
from backend.signals.errors import CtAccountNotFound, InputRejected
from backend.signals.ingest import followed_accounts


def _me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


@pytest.fixture
def admin(factory) -> CurrentUser:
    return _me(factory.user(role=Role.ADMIN))


def _counts(session: Session) -> tuple[int, int]:
    session.rollback()  # what is committed, not what this session holds
    return tuple(session.exec(select(func.count()).select_from(t)).one() for t in (CtAccount, AuditLog))


def _audit_rows(session: Session, action: str | None = None) -> list[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.id)
    if action is not None:
        query = query.where(AuditLog.action == action)
    return list(session.exec(query).all())


def test_add_strips_the_at_and_audits(session, admin):
    added = add_account(
        session,
        handle=" @OrbitCaller ",
        display_name=" OrbitCaller ",
        followers_count=500,
        actor=admin,
        ip="10.0.0.7",
    )
    assert (added.handle, added.display_name, added.followers_count) == ("OrbitCaller", "OrbitCaller", 500)
    assert added.status == "active"
    assert (added.posts_count, added.signal_posts_count, added.agents_following) == (0, 0, 0)
    assert added.last_post_at is None and added.impact_factor == Decimal("0")

    [row] = _audit_rows(session)
    assert row.action == Action.CT_ACCOUNT_ADDED
    assert (row.entity_type, row.entity_id) == ("ct_account", str(added.id))
    assert (row.actor, row.actor_user_id, row.ip) == (admin.address, admin.id, "10.0.0.7")
    assert row.details == {"handle": "OrbitCaller", "display_name": "OrbitCaller", "restored": False}
    assert "orbitcaller" in followed_accounts(session)


@pytest.mark.parametrize(
    "handle", ["", "@", "   ", "two words", "a" * 16, "dash-y", "ünï", "@@double", "a.b"]
)
def test_a_handle_x_would_refuse_is_refused_and_nothing_written(session, admin, handle):
    with pytest.raises(InputRejected) as caught:
        add_account(session, handle=handle, actor=admin)
    assert caught.value.field == "handle"
    assert "1-15 letters, digits or underscores" in str(caught.value)
    assert _counts(session) == (0, 0)


@pytest.mark.parametrize("handle", ["a", "A_1", "x" * 15, "@under_score", "_"])
def test_handles_x_accepts(handle):
    assert normalize_handle(handle) == handle.removeprefix("@")


@pytest.mark.parametrize(
    ("values", "field"),
    [({"display_name": "n" * 65}, "display_name"), ({"followers_count": -1}, "followers_count")],
)
def test_bad_name_or_followers_is_refused_on_its_field(session, admin, values, field):
    with pytest.raises(InputRejected) as caught:
        add_account(session, handle="fine", actor=admin, **values)
    assert caught.value.field == field
    assert _counts(session) == (0, 0)


def test_only_admins_manage_accounts(session, factory, admin):
    trader = _me(factory.user())
    with pytest.raises(Forbidden):
        add_account(session, handle="sneaky", actor=trader)
    account = add_account(session, handle="kept", actor=admin)
    for write in (
        lambda: set_account_active(session, account.id, False, actor=trader),
        lambda: remove_account(session, account.id, actor=trader),
    ):
        with pytest.raises(Forbidden):
            write()
    assert [a.status for a in list_accounts_admin(session)] == ["active"]
    assert _counts(session) == (1, 1)


@pytest.mark.parametrize("again", ["orbitcaller", "@ORBITCALLER", "OrbitCaller"])
def test_a_followed_handle_in_any_case_is_already_followed(session, admin, again):
    first = add_account(session, handle="OrbitCaller", actor=admin)
    set_account_active(session, first.id, False, actor=admin)  # paused still counts as followed
    with pytest.raises(InputRejected) as caught:
        add_account(session, handle=again, actor=admin)
    assert (caught.value.field, str(caught.value)) == ("handle", "already followed")
    assert _counts(session) == (1, 2)


def test_losing_the_insert_race_is_already_followed(engine, session, admin):
    """A concurrent add commits the handle between our check and our insert: the unique constraint decides."""

    def rival_insert(*_args: Any) -> None:
        with Session(engine) as other:
            other.add(CtAccount(handle="racer"))
            other.commit()

    event.listen(session, "before_flush", rival_insert, once=True)
    with pytest.raises(InputRejected) as caught:
        add_account(session, handle="racer", actor=admin)
    assert str(caught.value) == "already followed"
    assert _counts(session) == (1, 0)  # the rival's account only, and no audit row of ours


def test_an_operator_restoring_a_removed_demo_account_follows_the_real_one(session, factory, admin):
    demo = factory.ct_account(handle="demo_tapeowl", is_demo=True, removed_at=utcnow())
    restored = add_account(session, handle="demo_tapeowl", actor=admin)
    assert restored.id == demo.id
    session.expire_all()
    assert session.get(CtAccount, demo.id).is_demo is False  # the sample feed no longer posts as it


def test_adding_a_removed_handle_restores_it_with_its_posts(session, factory, admin):
    account = add_account(
        session, handle="Comeback", display_name="Old name", followers_count=10, actor=admin
    )
    row = session.get(CtAccount, account.id)
    factory.post(row, is_signal=True, token="SOL", side="long")
    remove_account(session, account.id, actor=admin)
    assert list_accounts_admin(session) == []

    restored = add_account(session, handle="@comeback", actor=admin)
    assert restored.id == account.id
    assert (restored.handle, restored.status, restored.posts_count, restored.signal_posts_count) == (
        "comeback",
        "active",
        1,
        1,
    )
    assert (restored.display_name, restored.followers_count) == ("Old name", 10)  # blanks keep what was there
    session.expire_all()
    assert session.get(CtAccount, account.id).removed_at is None
    assert _audit_rows(session, Action.CT_ACCOUNT_ADDED)[-1].details["restored"] is True
    assert _counts(session) == (1, 3)


def test_pause_and_resume_are_audited_once_each(session, admin):
    account = add_account(session, handle="toggler", actor=admin)
    for _ in range(2):
        paused = set_account_active(session, account.id, False, actor=admin, ip="10.0.0.9")
        assert paused.status == "paused"
    assert "toggler" not in followed_accounts(session)
    assert "toggler" in followed_accounts(session, active_only=False)
    assert [a.handle for a in list_ct_accounts(session)] == []  # the builder offers active accounts only

    for _ in range(2):
        assert set_account_active(session, account.id, True, actor=admin).status == "active"
    actions = [r.action for r in _audit_rows(session)]
    assert actions == [Action.CT_ACCOUNT_ADDED, Action.CT_ACCOUNT_PAUSED, Action.CT_ACCOUNT_RESUMED]
    paused_row = _audit_rows(session, Action.CT_ACCOUNT_PAUSED)[0]
    assert (paused_row.details, paused_row.ip) == ({"handle": "toggler"}, "10.0.0.9")


def test_remove_keeps_posts_hides_the_account_and_is_idempotent(session, factory, admin):
    account = add_account(session, handle="leaver", actor=admin)
    post = factory.post(session.get(CtAccount, account.id))
    for _ in range(2):
        assert remove_account(session, account.id, actor=admin) is None
    session.expire_all()
    row = session.get(CtAccount, account.id)
    assert row.removed_at is not None and row.is_active is False
    assert session.get(type(post), post.id) is not None
    assert list_accounts_admin(session) == []
    assert "leaver" not in followed_accounts(session, active_only=False)
    assert len(_audit_rows(session, Action.CT_ACCOUNT_REMOVED)) == 1
    with pytest.raises(CtAccountNotFound):
        set_account_active(session, account.id, True, actor=admin)


def test_unknown_account_is_not_found(session, admin):
    with pytest.raises(CtAccountNotFound):
        set_account_active(session, 987_654, False, actor=admin)
    with pytest.raises(CtAccountNotFound):
        remove_account(session, 987_654, actor=admin)
    assert _counts(session) == (0, 0)


def test_admin_list_counts_posts_signals_and_followers(session, factory, admin):
    busy = session.get(CtAccount, add_account(session, handle="zed_busy", followers_count=9, actor=admin).id)
    quiet = add_account(session, handle="Alpha", actor=admin)
    paused = add_account(session, handle="middle", actor=admin)
    set_account_active(session, paused.id, False, actor=admin)
    gone = add_account(session, handle="beta_gone", actor=admin)
    remove_account(session, gone.id, actor=admin)

    latest = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    factory.post(busy, posted_at=latest - timedelta(hours=2), is_signal=True, token="BTC", side="long")
    factory.post(busy, posted_at=latest, is_signal=False)
    factory.post(busy, posted_at=latest - timedelta(hours=1))  # not classified yet
    factory.agent(follows=[busy])
    factory.agent(follows=[busy, session.get(CtAccount, quiet.id)])

    rows = list_accounts_admin(session)
    assert [(r.handle, r.status) for r in rows] == [
        ("Alpha", "active"),
        ("middle", "paused"),
        ("zed_busy", "active"),
    ]
    by_handle = {r.handle: r for r in rows}
    busy_row = by_handle["zed_busy"]
    assert (busy_row.posts_count, busy_row.signal_posts_count, busy_row.agents_following) == (3, 1, 2)
    assert busy_row.last_post_at == latest and busy_row.last_post_at.tzinfo is not None
    assert busy_row.followers_count == 9
    alpha = by_handle["Alpha"]
    assert (alpha.posts_count, alpha.signal_posts_count, alpha.agents_following) == (0, 0, 1)
    assert alpha.last_post_at is None


def test_removed_accounts_are_not_offered_to_new_agents(session, factory, admin):
    account = add_account(session, handle="retired", actor=admin)
    remove_account(session, account.id, actor=admin)
    assert list_ct_accounts(session) == []
    weights = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 50}
    draft = AgentDraft.model_validate(
        {
            "name": "Follows the retired",
            "venue": "HYPERLIQUID",
            "weights": weights,
            "ct_account_ids": [account.id],
        }
    )
    with pytest.raises(UnknownCtAccounts):
        create_agent(session, admin, draft)


def test_a_removed_row_marked_active_is_still_not_offered(session, factory, admin):
    """Removal is what counts, even for a row some other writer left active."""
    row = factory.ct_account(handle="ghost", removed_at=utcnow(), is_active=True)
    assert list_ct_accounts(session) == []
    weights = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 50}
    draft = AgentDraft.model_validate(
        {"name": "Ghost follower", "venue": "GMX", "weights": weights, "ct_account_ids": [row.id]}
    )
    with pytest.raises(UnknownCtAccounts):
        create_agent(session, admin, draft)


def _pg_only(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(
            "row and advisory locks are PostgreSQL's; SQLite serialises writers on the whole database"
        )


def test_pause_and_remove_wait_for_a_concurrent_change_of_the_row(engine, admin):
    _pg_only(engine)
    with Session(engine, expire_on_commit=False) as setup:
        account = add_account(setup, handle="contended", actor=admin)
    # Every connection of the waiting side gives up after 200 ms, whichever one the pool hands out.
    impatient = sa.create_engine(engine.url, connect_args={"options": "-c lock_timeout=200ms"})
    try:
        with Session(engine) as first, Session(impatient) as second:
            locked = first.exec(select(CtAccount).where(CtAccount.id == account.id).with_for_update()).one()
            locked.display_name = "first"
            first.add(locked)
            first.flush()
            with pytest.raises(sa.exc.OperationalError):
                set_account_active(second, account.id, False, actor=admin)
            with pytest.raises(sa.exc.OperationalError):
                remove_account(second, account.id, actor=admin)
            first.commit()
            paused = set_account_active(second, account.id, False, actor=admin)
    finally:
        impatient.dispose()
    assert (paused.status, paused.display_name) == ("paused", "first")


def test_concurrent_adds_of_one_handle_in_two_cases_make_one_account(engine, admin):
    """The unique constraint is case-sensitive, so `Racer` and `racer` are serialised by the handle itself."""
    _pg_only(engine)
    outcome: dict[str, Any] = {}

    def rival() -> None:
        with Session(engine) as other:
            try:
                outcome["rival"] = add_account(other, handle="racer", actor=admin)
            except InputRejected as e:
                outcome["rival"] = e

    def start_rival_before_commit(*_args: Any) -> None:
        thread = threading.Thread(target=rival)
        thread.start()
        thread.join(timeout=1.0)  # the rival either finishes now (no serialisation) or waits for our commit
        outcome["thread"] = thread

    with Session(engine) as first:
        event.listen(first, "before_commit", start_rival_before_commit, once=True)
        winner = add_account(first, handle="Racer", actor=admin)
    outcome["thread"].join(timeout=10)
    assert isinstance(outcome["rival"], InputRejected) and str(outcome["rival"]) == "already followed"
    with Session(engine) as check:
        assert [a.handle for a in check.exec(select(CtAccount)).all()] == [winner.handle]
