"""Account events written with the changes they report, on SQLite and PostgreSQL: deployment paused,
resumed, cancelled (web or Telegram) and suspended (billing), a new agent version, invoices issued, due soon
and overdue, a sign-in from a new address. One event per change with the right user, key and payload; a
repeat writes none; a refused or rolled-back change none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from backend.agents.drafts import AgentDraft, AgentPatch
from backend.agents.editing import create_agent, update_agent
from backend.agents.versions import latest_version
from backend.audit import Action
from backend.auth import service as auth
from backend.auth.identity import CurrentUser
from backend.billing.invoices import generate_invoices, mark_paid
from backend.billing.subscriptions import renew_subscriptions, start_subscription
from backend.config import Settings
from backend.deployments.errors import DeploymentConflict
from backend.deployments.service import change_status
from backend.models import (
    WEIGHT_NAMES,
    Agent,
    AgentDeployment,
    AuditLog,
    BillingEvent,
    Invoice,
    User,
)
from backend.models.enums import BillingStatus, DeploymentStatus, InvoiceStatus, Role
from backend.notify.accounts import invoice_reminders, version_available
from backend.notify.events import EMITTED, EventType
from backend.trading.fees import FeePolicy
from tests.billing_support import invoice, line, live_deployment
from tests.factories import Factory
from tests.notify_support import events
from tests.wallets import TEST_SECRET_KEY, Wallet

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
WEIGHTS = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 60, "rsi": 20}


def me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


# -- deployments ----------------------------------------------------------------------------------------


def test_pause_resume_and_cancel_are_each_told_to_the_owner_with_who_did_it(session, factory):
    owner = factory.user()
    deployment = factory.paper_deployment(factory.agent(name="Momentum"), owner)

    paused_at = change_status(session, me(owner), deployment.id, "pause").updated_at  # one row: read now
    change_status(session, me(owner), deployment.id, "resume", via="telegram")
    change_status(session, me(owner), deployment.id, "pause")  # paused again, later: told again
    with pytest.raises(DeploymentConflict):
        change_status(session, me(owner), deployment.id, "pause")  # refused: nothing told
    cancelled = change_status(session, me(owner), deployment.id, "cancel")

    told = events(session)
    assert [e.type for e in told] == [
        "deployment.paused",
        "deployment.resumed",
        "deployment.paused",
        "deployment.cancelled",
    ]
    assert {e.user_id for e in told} == {owner.id}
    assert told[0].key == f"deployment.paused:{deployment.id}:{paused_at.isoformat()}"
    assert told[3].key == f"deployment.cancelled:{deployment.id}:{cancelled.updated_at.isoformat()}"
    assert len({e.key for e in told}) == 4
    assert told[0].payload == {
        "deployment_id": deployment.id,
        "agent_name": "Momentum",
        "by": "web",
        "reason": None,
    }
    assert told[1].payload["by"] == "telegram"
    assert (told[0].entity_type, told[0].entity_id) == ("deployment", str(deployment.id))


def test_a_suspension_for_an_unpaid_invoice_is_told_to_the_owner_once(session, factory):
    owner = factory.user()
    deployment = live_deployment(factory, owner)
    subscription = start_subscription(
        session, deployment, now=datetime(2026, 10, 31, 12, tzinfo=UTC), trial_days=30
    )
    session.commit()
    renew_subscriptions(session, FeePolicy(), now=subscription.trial_ends_at, grace_days=7)
    period = session.exec(select(BillingEvent).where(BillingEvent.subscription_id == subscription.id)).one()
    due = datetime(2026, 12, 14, tzinfo=UTC)
    unpaid = invoice(session, owner, NOV, InvoiceStatus.OPEN, total="20", due_at=due)
    period.invoice_id, period.status = unpaid.id, BillingStatus.INVOICED
    session.add(period)
    session.commit()

    suspended_at = due + timedelta(days=8)
    assert renew_subscriptions(session, FeePolicy(), now=suspended_at, grace_days=7).suspended == 1
    renew_subscriptions(session, FeePolicy(), now=suspended_at + timedelta(minutes=10), grace_days=7)

    [event] = events(session, EventType.DEPLOYMENT_SUSPENDED)
    assert (event.user_id, event.key) == (
        owner.id,
        f"deployment.suspended:{deployment.id}:{suspended_at.isoformat()}",
    )
    assert event.payload["by"] == "billing" and event.payload["deployment_id"] == deployment.id
    assert event.payload["reason"]


# -- agent versions -------------------------------------------------------------------------------------


def test_a_new_version_is_told_to_every_running_deployment_not_on_it(session, factory):
    creator = factory.user()
    body = {"name": "Momentum", "venue": "HYPERLIQUID", "weights": WEIGHTS}
    agent_id = create_agent(session, me(creator), AgentDraft.model_validate(body)).id
    agent = session.get(Agent, agent_id)
    on_v1 = [factory.paper_deployment(agent, agent_version_id=None) for _ in range(2)]
    cancelled = factory.paper_deployment(agent, status=DeploymentStatus.CANCELLED)

    update_agent(session, me(creator), agent_id, AgentPatch.model_validate({"description": "words only"}))
    assert events(session) == []  # no new version, nothing to tell
    update_agent(
        session, me(creator), agent_id, AgentPatch.model_validate({"weights": WEIGHTS | {"macd": 15}})
    )

    told = events(session)
    assert sorted(e.payload["deployment_id"] for e in told) == sorted(d.id for d in on_v1)
    assert cancelled.id not in {e.payload["deployment_id"] for e in told}
    session.refresh(agent)
    for event in told:
        deployment = session.get(AgentDeployment, event.payload["deployment_id"])
        assert event.user_id == deployment.user_id and event.type == "agent.version_available"
        assert event.payload == {
            "deployment_id": deployment.id,
            "agent_id": agent_id,
            "agent_name": "Momentum",
            "version": agent.version,
        }
        assert event.key.startswith(f"agent.version_available:{deployment.id}:")


def test_a_version_told_twice_is_written_once_and_a_rollback_writes_none(session, factory):
    creator = factory.user()
    body = {"name": "Momentum", "venue": "HYPERLIQUID", "weights": WEIGHTS}
    agent = session.get(Agent, create_agent(session, me(creator), AgentDraft.model_validate(body)).id)
    deployment = factory.paper_deployment(agent)
    version = latest_version(session, agent.id)

    assert version_available(session, agent, version) == 1
    assert session.info.get(EMITTED)
    session.rollback()
    assert events(session) == [] and not session.info.get(EMITTED)

    version_available(session, agent, version)
    session.commit()
    version_available(session, agent, version)
    session.commit()
    assert [e.key for e in events(session)] == [f"agent.version_available:{deployment.id}:{version.id}"]


# -- invoices -------------------------------------------------------------------------------------------


def test_an_issued_invoice_is_told_with_its_total_and_one_with_nothing_owed_is_not(session, factory):
    payer, nothing_owed = factory.user(), factory.user()
    line(session, payer, "0.2", at=NOV + timedelta(days=3))
    line(session, payer, "0.2", at=NOV + timedelta(days=4))
    waived = line(session, nothing_owed, "0.2", at=NOV + timedelta(days=3), status=BillingStatus.WAIVED)
    assert waived.status == BillingStatus.WAIVED
    invoice(session, nothing_owed, NOV)  # a draft with nothing owed on it

    generate_invoices(session, now=DEC + timedelta(hours=1), due_days=14)
    generate_invoices(session, now=DEC + timedelta(hours=2), due_days=14)

    [event] = events(session, EventType.INVOICE_ISSUED)
    issued = session.exec(select(Invoice).where(Invoice.user_id == payer.id)).one()
    assert (event.user_id, event.key) == (payer.id, f"invoice.issued:{issued.id}")
    assert event.payload == {
        "invoice_id": issued.id,
        "number": issued.number,
        "total_usd": str(issued.total_usd),
        "due_at": issued.due_at.isoformat(),
    }
    assert Decimal(event.payload["total_usd"]) == Decimal("0.4")


def test_an_open_invoice_is_told_due_soon_once_then_overdue_once(session, factory):
    user = factory.user()
    due = datetime(2026, 12, 14, 12, tzinfo=UTC)
    unpaid = invoice(session, user, NOV, InvoiceStatus.OPEN, total="20", due_at=due)
    paid = invoice(session, factory.user(), NOV, InvoiceStatus.PAID, total="20", due_at=due)

    def reminders(now: datetime) -> int:
        told = invoice_reminders(session, now=now)
        session.commit()
        return told

    assert reminders(due - timedelta(days=4)) == 0  # not yet
    assert reminders(due - timedelta(days=3)) == 1  # within three days
    assert reminders(due - timedelta(days=2)) == 0  # told already
    assert reminders(due) == 1  # overdue
    assert reminders(due + timedelta(days=1)) == 0

    told = events(session)
    assert [(e.type, e.key, e.user_id) for e in told] == [
        ("invoice.due", f"invoice.due:{unpaid.id}", user.id),
        ("invoice.overdue", f"invoice.overdue:{unpaid.id}", user.id),
    ]
    assert told[1].payload == {
        "invoice_id": unpaid.id,
        "number": unpaid.number,
        "total_usd": str(unpaid.total_usd),
        "due_at": due.isoformat(),
    }
    assert paid.id not in {e.payload["invoice_id"] for e in told}


def test_the_billing_pass_tells_reminders_and_a_paid_invoice_is_not_told_overdue(session, factory):
    user = factory.user()
    due = datetime(2026, 12, 14, 12, tzinfo=UTC)
    unpaid = invoice(session, user, NOV, InvoiceStatus.OPEN, total="20", due_at=due)

    assert generate_invoices(session, now=due - timedelta(days=1), due_days=14).reminded == 1
    mark_paid(session, unpaid.id, now=due - timedelta(hours=1))
    session.commit()
    assert generate_invoices(session, now=due + timedelta(days=1), due_days=14).reminded == 0

    assert [e.type for e in events(session)] == ["invoice.due"]


# -- sign-in --------------------------------------------------------------------------------------------

SETTINGS = Settings(maxxit_secret_key=TEST_SECRET_KEY, public_url="https://maxxit.example")


def sign_in(session: Session, wallet: Wallet, ip: str | None, at: datetime) -> None:
    challenge = auth.issue_challenge(session, wallet.address, settings=SETTINGS, now=at)
    signature = wallet.sign(challenge.message)
    auth.sign_in(session, challenge.message, signature, settings=SETTINGS, ip=ip, now=at)


def test_a_sign_in_from_a_new_address_is_told_but_not_the_first_nor_a_known_one(session: Session):
    wallet, at = Wallet(), datetime.now(UTC)
    sign_in(session, wallet, "10.0.0.1", at)  # the first sign-in ever: nothing to compare with
    sign_in(session, wallet, "10.0.0.1", at + timedelta(minutes=1))
    sign_in(session, wallet, None, at + timedelta(minutes=2))  # no address known: nothing to say
    assert events(session) == []

    sign_in(session, wallet, "203.0.113.7", at + timedelta(minutes=3))
    sign_in(session, wallet, "203.0.113.7", at + timedelta(minutes=4))  # known now

    user = session.exec(select(User)).one()
    [event] = events(session)
    audit_id = session.exec(
        select(AuditLog.id)
        .where(AuditLog.action == Action.SIGN_IN, AuditLog.ip == "203.0.113.7")
        .order_by(col(AuditLog.id))
    ).first()
    assert (event.user_id, event.type, event.key) == (
        user.id,
        "account.new_sign_in",
        f"account.new_sign_in:{audit_id}",
    )
    assert event.payload == {"ip": "203.0.113.7", "at": (at + timedelta(minutes=3)).isoformat()}


def test_another_users_address_is_not_this_users(session: Session, factory: Factory):
    first, second, at = Wallet(), Wallet(), datetime.now(UTC)
    sign_in(session, first, "10.0.0.1", at)
    sign_in(session, second, "10.0.0.2", at)
    sign_in(session, second, "10.0.0.1", at + timedelta(minutes=1))  # new for the second user

    [event] = events(session)
    assert event.payload["ip"] == "10.0.0.1"
    assert event.user_id == session.exec(select(User.id).where(User.address == second.lower)).one()
