"""Creating, editing and archiving agents on SQLite and PostgreSQL: permissions, audit, no half writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, func, select

from backend.agents.drafts import AgentDraft, AgentPatch
from backend.agents.editing import (
    AgentArchived,
    DuplicateAgentName,
    UnknownCtAccounts,
    archive_agent,
    create_agent,
    get_owned_agent,
    list_ct_accounts,
    list_my_agents,
    update_agent,
)
from backend.agents.schemas import AgentQuery
from backend.agents.service import AgentNotFound, get_agent, list_agents
from backend.audit import Action
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.models import WEIGHT_NAMES, Agent, AgentAccount, AuditLog, User
from backend.models.enums import AgentStatus, Role, SizingProfile, Venue, Visibility

WEIGHTS = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 60, "rsi": 20}


def _me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def _draft(**changes: Any) -> AgentDraft:
    body: dict[str, Any] = {"name": "Momentum", "venue": "HYPERLIQUID", "weights": WEIGHTS}
    return AgentDraft.model_validate(body | changes)


def _patch(**changes: Any) -> AgentPatch:
    return AgentPatch.model_validate(changes)


def _counts(session: Session) -> tuple[int, int, int]:
    session.rollback()  # a fresh snapshot: what is committed, not what this session holds
    return tuple(
        session.exec(select(func.count()).select_from(t)).one() for t in (Agent, AgentAccount, AuditLog)
    )


def _audit_rows(session: Session, action: str) -> list[AuditLog]:
    return list(session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all())


@pytest.fixture
def owner(factory) -> User:
    return factory.user()


def test_create_stores_agent_follows_and_audit_row(session, factory, owner):
    first, second = factory.ct_account(handle="zeta"), factory.ct_account(handle="Alpha")
    draft = _draft(
        name=" Momentum ",
        visibility="private",
        ct_account_ids=[first.id, second.id],
        risk={"stoploss": "0.07", "take_profit": None, "sizing_profile": "aggressive"},
    )
    created = create_agent(session, _me(owner), draft, ip="10.0.0.1")

    assert created.name == "Momentum"
    assert created.creator_id == owner.id
    assert created.visibility == Visibility.PRIVATE and created.status == AgentStatus.ACTIVE
    assert created.weights == WEIGHTS
    assert created.risk.stoploss == Decimal("0.07") and created.risk.take_profit is None
    assert created.risk.sizing_profile == SizingProfile.AGGRESSIVE
    assert created.risk.trailing_stop_positive_offset == Decimal("0.03")
    assert created.ct_account_ids == sorted([first.id, second.id])
    assert [a.handle for a in created.accounts] == ["Alpha", "zeta"]
    assert created.updated_at == created.created_at

    assert _counts(session) == (1, 2, 1)
    (row,) = _audit_rows(session, Action.AGENT_CREATED)
    assert (row.entity_type, row.entity_id) == ("agent", str(created.id))
    assert (row.actor, row.actor_user_id, row.ip) == (owner.address, owner.id, "10.0.0.1")
    assert row.details["values"]["name"] == "Momentum"
    assert row.details["values"]["risk"]["stoploss"] == "0.07"


def test_create_with_unknown_or_inactive_account_writes_nothing(session, factory, owner):
    active = factory.ct_account()
    inactive = factory.ct_account(is_active=False)
    with pytest.raises(UnknownCtAccounts) as caught:
        create_agent(session, _me(owner), _draft(ct_account_ids=[active.id, inactive.id, 999_999]))
    assert caught.value.field == "ct_account_ids"
    assert caught.value.ids == sorted([inactive.id, 999_999])
    assert _counts(session) == (0, 0, 0)


def test_duplicate_name_for_same_creator_writes_nothing(session, factory, owner):
    account = factory.ct_account()
    create_agent(session, _me(owner), _draft(name="Momentum"))
    with pytest.raises(DuplicateAgentName) as caught:
        create_agent(session, _me(owner), _draft(name=" Momentum", ct_account_ids=[account.id]))
    assert caught.value.field == "name"
    assert _counts(session) == (1, 0, 1)
    # Another creator may use the same name.
    create_agent(session, _me(factory.user()), _draft(name="Momentum"))
    assert _counts(session) == (2, 0, 2)


def test_duplicate_name_from_a_concurrent_request_is_caught_at_insert(session, engine, factory, owner):
    """A rival insert lands after the name check: the unique constraint still answers DuplicateAgentName."""
    account = factory.ct_account()

    def rival_insert(*_args: Any) -> None:
        with Session(engine) as other:
            other.add(Agent(creator_id=owner.id, name="Momentum", venue=Venue.GMX, weight_tweet=1))
            other.commit()

    event.listen(session, "before_flush", rival_insert, once=True)
    with pytest.raises(DuplicateAgentName):
        create_agent(session, _me(owner), _draft(name="Momentum", ct_account_ids=[account.id]))
    assert _counts(session) == (1, 0, 0)  # only the rival's agent; none of ours


def test_owner_updates_only_given_fields_and_audit_lists_old_and_new(session, factory, owner):
    keep, drop, add = factory.ct_account(), factory.ct_account(), factory.ct_account()
    created = create_agent(session, _me(owner), _draft(ct_account_ids=[keep.id, drop.id]))
    patch = _patch(
        name="Momentum v2",
        weights=WEIGHTS | {"macd": 15},
        ct_account_ids=[keep.id, add.id],
        risk={"stoploss": "0.05", "take_profit": None},
    )
    updated = update_agent(session, _me(owner), created.id, patch, ip="10.0.0.2")

    assert updated.name == "Momentum v2"
    assert updated.weights["macd"] == 15 and updated.weights["tweet"] == 60
    assert updated.risk.stoploss == Decimal("0.05") and updated.risk.take_profit is None
    assert updated.risk.signal_threshold == created.risk.signal_threshold
    assert updated.venue == created.venue and updated.description == created.description
    assert updated.ct_account_ids == sorted([keep.id, add.id])
    assert updated.updated_at > created.updated_at

    (row,) = _audit_rows(session, Action.AGENT_UPDATED)
    assert row.ip == "10.0.0.2"
    assert row.details["changes"] == {
        "name": {"old": "Momentum", "new": "Momentum v2"},
        "weights.macd": {"old": 0, "new": 15},
        "risk.stoploss": {"old": "0.1", "new": "0.05"},
        "risk.take_profit": {"old": "0.2", "new": None},
        "ct_account_ids": {"old": sorted([keep.id, drop.id]), "new": sorted([keep.id, add.id])},
    }


def test_patch_that_changes_nothing_writes_nothing(session, factory, owner):
    created = create_agent(session, _me(owner), _draft(description="calls"))
    same = update_agent(session, _me(owner), created.id, _patch(name="Momentum", weights=WEIGHTS, risk={}))
    assert same.updated_at == created.updated_at
    assert _audit_rows(session, Action.AGENT_UPDATED) == []


def test_admin_may_edit_someone_elses_agent(session, factory, owner):
    created = create_agent(session, _me(owner), _draft())
    admin = factory.user(role=Role.ADMIN)
    updated = update_agent(session, _me(admin), created.id, _patch(visibility="private"))
    assert updated.visibility == Visibility.PRIVATE
    assert updated.creator_id == owner.id
    (row,) = _audit_rows(session, Action.AGENT_UPDATED)
    assert (row.actor, row.actor_user_id) == (admin.address, admin.id)


def test_other_user_may_not_edit_archive_or_read_the_settings(session, factory, owner):
    created = create_agent(session, _me(owner), _draft())
    stranger = _me(factory.user())
    with pytest.raises(Forbidden):
        update_agent(session, stranger, created.id, _patch(name="Mine now"))
    with pytest.raises(Forbidden):
        archive_agent(session, stranger, created.id)
    with pytest.raises(Forbidden):
        get_owned_agent(session, stranger, created.id)
    assert get_owned_agent(session, _me(owner), created.id).name == "Momentum"
    assert _counts(session) == (1, 0, 1)


def test_unknown_agent_is_not_found(session, owner):
    with pytest.raises(AgentNotFound):
        update_agent(session, _me(owner), 424242, _patch(name="x"))
    with pytest.raises(AgentNotFound):
        archive_agent(session, _me(owner), 424242)


def test_failed_update_changes_nothing(session, factory, owner):
    account = factory.ct_account()
    create_agent(session, _me(owner), _draft(name="Taken"))
    created = create_agent(session, _me(owner), _draft(name="Mine", ct_account_ids=[account.id]))
    with pytest.raises(DuplicateAgentName):
        update_agent(session, _me(owner), created.id, _patch(name="Taken", description="new"))
    with pytest.raises(UnknownCtAccounts):
        update_agent(session, _me(owner), created.id, _patch(description="new", ct_account_ids=[999_999]))
    assert get_owned_agent(session, _me(owner), created.id) == created
    assert _counts(session) == (2, 1, 2)


def test_inactive_account_already_followed_may_stay_on_update(session, factory, owner):
    account = factory.ct_account()
    created = create_agent(session, _me(owner), _draft(ct_account_ids=[account.id]))
    account.is_active = False
    session.add(account)
    session.commit()
    other = factory.ct_account()
    updated = update_agent(session, _me(owner), created.id, _patch(ct_account_ids=[account.id, other.id]))
    assert updated.ct_account_ids == sorted([account.id, other.id])


def test_archive_is_idempotent_hides_the_agent_and_freezes_it(session, factory, owner):
    created = create_agent(session, _me(owner), _draft())
    assert [a.id for a in list_agents(session, AgentQuery()).items] == [created.id]

    archived = archive_agent(session, _me(owner), created.id, ip="10.0.0.3")
    again = archive_agent(session, _me(owner), created.id)

    assert archived.status == again.status == AgentStatus.ARCHIVED
    assert again.updated_at == archived.updated_at
    (row,) = _audit_rows(session, Action.AGENT_ARCHIVED)
    assert row.details["changes"] == {"status": {"old": "active", "new": "archived"}}
    assert list_agents(session, AgentQuery()).items == []
    with pytest.raises(AgentNotFound):
        get_agent(session, created.id)
    with pytest.raises(AgentArchived):
        update_agent(session, _me(owner), created.id, _patch(name="Back"))
    assert [a.status for a in list_my_agents(session, _me(owner))] == [AgentStatus.ARCHIVED]


def test_admin_may_archive_someone_elses_agent(session, factory, owner):
    created = create_agent(session, _me(owner), _draft())
    admin = factory.user(role=Role.ADMIN)
    assert archive_agent(session, _me(admin), created.id).status == AgentStatus.ARCHIVED


def test_private_agent_is_mine_but_not_in_the_marketplace(session, factory, owner):
    public = create_agent(session, _me(owner), _draft(name="Public"))
    private = create_agent(session, _me(owner), _draft(name="Private", visibility="private"))
    factory.agent(name="Someone else's")

    mine = list_my_agents(session, _me(owner))
    assert [a.name for a in mine] == ["Private", "Public"]  # newest first
    assert mine[0].visibility == Visibility.PRIVATE and mine[0].trades_count == 0 and mine[0].apr_30d is None
    listed = {a.id for a in list_agents(session, AgentQuery()).items}
    assert public.id in listed and private.id not in listed
    assert get_owned_agent(session, _me(owner), private.id).visibility == Visibility.PRIVATE


def test_ct_account_picker_lists_active_accounts_by_handle(session, factory):
    factory.ct_account(handle="zed", followers_count=10, impact_factor=Decimal("0.4"))
    factory.ct_account(handle="Alpha")
    factory.ct_account(handle="muted", is_active=False)
    accounts = list_ct_accounts(session)
    assert [a.handle for a in accounts] == ["Alpha", "zed"]
    assert accounts[1].followers_count == 10 and accounts[1].impact_factor == Decimal("0.4")


def test_concurrent_edits_of_one_agent_serialise(engine, factory, owner):
    """An edit locks the row until commit, so a second edit waits, then applies on top of the first."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; SQLite serialises writers on the whole database")
    with Session(engine, expire_on_commit=False) as setup:
        created = create_agent(setup, _me(owner), _draft())
    with Session(engine) as first, Session(engine) as second:
        locked = first.exec(select(Agent).where(Agent.id == created.id).with_for_update()).one()
        locked.description = "first"
        first.add(locked)
        first.flush()
        second.connection().execute(sa.text("SET lock_timeout = '200ms'"))
        with pytest.raises(sa.exc.OperationalError):
            update_agent(second, _me(owner), created.id, _patch(description="second"))
        first.commit()
        updated = update_agent(second, _me(owner), created.id, _patch(description="second"))
    assert updated.description == "second"
