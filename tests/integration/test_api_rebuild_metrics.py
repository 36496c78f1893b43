"""POST /api/v1/admin/rebuild-metrics: admins only, audited, figures and impact factors rebuilt."""

from __future__ import annotations

from decimal import Decimal as D

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.agents.reference import ensure_reference_book
from backend.audit import Action
from backend.auth.users import create_admin
from backend.models import Agent, AuditLog, CtAccount, ImpactFactorHistory
from backend.models.common import utcnow
from tests.wallets import Wallet

PATH = "/api/v1/admin/rebuild-metrics"


def _sign_in(client: TestClient, wallet: Wallet) -> dict[str, str]:
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    verified = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    assert verified.status_code == 200, verified.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {verified.json()['token']}"}


def _rebuilds(session: Session) -> list[AuditLog]:
    session.expire_all()
    return session.exec(select(AuditLog).where(AuditLog.action == Action.METRICS_REBUILT)).all()


def test_strangers_and_traders_cannot_rebuild(client: TestClient, session: Session, factory):
    agent = factory.agent()
    assert client.post(PATH).status_code == 401
    forbidden = client.post(PATH, headers=_sign_in(client, Wallet()))
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "admins only"}
    assert _rebuilds(session) == []
    assert session.get(Agent, agent.id).metrics_updated_at is None


def test_an_admin_rebuilds_figures_and_impact_and_it_is_audited(
    client: TestClient, session: Session, factory, engine: sa.Engine
):
    caller = factory.ct_account()
    agent = factory.agent(follows=[caller])
    book = ensure_reference_book(session, agent, capital=D("10000"), now=utcnow())
    session.commit()
    post = factory.post(caller)
    factory.closed_position(book, D("60"), days_ago=0.1, signal_id=factory.signal(agent, post).id)
    admin = Wallet()
    with Session(engine) as s:
        create_admin(s, admin.address)

    answer = client.post(PATH, headers=_sign_in(client, admin))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["agents"], body["ct_accounts"]) == (1, 1)
    session.expire_all()
    stored = session.get(Agent, agent.id)
    assert stored.trades_count == 1 and stored.total_pnl == D("60") and stored.apr_30d > 0
    account = session.get(CtAccount, caller.id)
    assert account.impact_calls == 1 and account.impact_factor > 0
    assert len(session.exec(select(ImpactFactorHistory)).all()) == 1
    [entry] = _rebuilds(session)
    assert (entry.actor, entry.entity_type, entry.details) == (
        admin.address.lower(),
        "metrics",
        {"agents": 1, "ct_accounts": 1},
    )
