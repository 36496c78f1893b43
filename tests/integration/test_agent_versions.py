"""Agent versions and reference books on SQLite and PostgreSQL, through the real pipeline, dispatch, executor
and monitor on the paper venue: deployments trade the version they accepted; the reference book takes every
signal of the newest one, and no follower changes it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, col, select

from backend.agents.drafts import AgentDraft, AgentPatch
from backend.agents.editing import LeverageAboveVenueMax, create_agent, update_agent
from backend.agents.reference import ensure_all_reference_books, reference_book
from backend.agents.service import get_agent
from backend.agents.versions import list_versions
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments.schemas import DeploymentRequest
from backend.deployments.service import accept_latest_version, create_deployment
from backend.deployments.views import list_deployments
from backend.execution.dispatch import deployments_for_signal
from backend.execution.service import Executor
from backend.models import (
    WEIGHT_NAMES,
    AgentDeployment,
    AgentVersion,
    BillingEvent,
    PaperAccount,
    Position,
    Signal,
)
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, PositionStatus, Role, Side
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.signals.pipeline import generate_signals
from backend.trading.fees import FeePolicy
from backend.wallets.keys import WalletCipher
from tests.factories import Factory
from tests.monitor_support import CIPHER, DrivenFeed, paper_registry

ONLY_TWEET = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 100}
CAPITAL = Decimal("10000")
MAX_AGE = timedelta(hours=2)


def _me(user) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


@pytest.fixture
def feed() -> DrivenFeed:
    feed = DrivenFeed()
    feed.set("BTC", "60000")
    feed.set("ETH", "3000")
    return feed


@pytest.fixture
def venues(engine, feed):
    return paper_registry(engine, feed)


@pytest.fixture
def executor(venues) -> Executor:
    return Executor(venues, CIPHER)


@pytest.fixture
def account(factory: Factory):
    factory.tokens("BTC", "ETH")
    return factory.ct_account(handle="VersionedCalls")


@pytest.fixture
def creator(factory: Factory) -> CurrentUser:
    return _me(factory.user())


def _agent(session: Session, creator: CurrentUser, account, name: str = "Versioned", **risk: Any) -> int:
    body = {
        "name": name,
        "venue": "HYPERLIQUID",
        "weights": ONLY_TWEET,
        "ct_account_ids": [account.id],
        "risk": {"signal_threshold": "0", "take_profit": "0.2", **risk},
    }
    return create_agent(session, creator, AgentDraft.model_validate(body), reference_capital=CAPITAL).id


def _deploy(
    session: Session, factory: Factory, agent_id: int, settings: Settings, **risk: Any
) -> tuple[int, CurrentUser]:
    """A follower's paper deployment, made as the deploy endpoint makes it (pinned to the newest version)."""
    user = _me(factory.user())
    request = DeploymentRequest.model_validate({"agent_id": agent_id, "venue": "PAPER", "risk": risk})
    cipher = WalletCipher(b"k" * 32)
    return create_deployment(session, user, request, settings=settings, cipher=cipher).id, user


def _post_and_trade(session: Session, factory: Factory, account, feed, executor, token: str) -> list[Signal]:
    """A classified signal post through the generator, dispatch and the executor, as the tasks run them."""
    now = utcnow()
    post = factory.post(
        account,
        text=f"${token} breaking out, longing here",
        posted_at=now - timedelta(minutes=1),
        is_signal=True,
        token=token,
        side=Side.LONG,
        confidence=Decimal("0.9"),
        classified_at=now,
    )
    ids = generate_signals(session, post.id, feed, max_post_age=MAX_AGE).signal_ids
    for signal_id in ids:
        targets = deployments_for_signal(session, signal_id)
        session.commit()
        for deployment_id in targets:
            executor.execute(session, signal_id, deployment_id)
    session.expire_all()
    return [session.get(Signal, i) for i in ids]


def _positions(session: Session, deployment_id: int) -> list[Position]:
    session.expire_all()
    query = select(Position).where(Position.deployment_id == deployment_id).order_by(col(Position.id))
    return list(session.exec(query).all())


def _version_id(session: Session, agent_id: int, number: int) -> int:
    query = select(AgentVersion.id).where(AgentVersion.agent_id == agent_id, AgentVersion.number == number)
    return session.exec(query).one()


# -- creation ------------------------------------------------------------------------------------------------


def test_a_new_agent_has_version_1_and_a_reference_book_nobody_sees_among_deployments(
    session, creator, account, venues
):
    agent_id = _agent(session, creator, account, leverage="3")

    (version,) = list_versions(session, agent_id)
    assert (version.number, version.note) == (1, "first version")
    assert version.strategy["leverage"] == "3" and version.strategy["ct_account_ids"] == [account.id]
    book = reference_book(session, agent_id)
    assert book is not None and book.is_reference and book.venue == ExecutionVenue.PAPER
    assert book.agent_version_id == version.id and book.capital_usd == CAPITAL
    assert session.get(PaperAccount, book.id) is not None
    # The creator owns the row, yet it is not theirs to list, count or see.
    assert list_deployments(session, creator, venues=venues) == []
    detail = get_agent(session, agent_id, creator)
    assert detail.active_deployments == 0 and detail.leverage == Decimal(3) and detail.version == 1


def test_agents_without_a_book_get_one_from_the_backfill_and_only_one(session, factory, creator, account):
    legacy = factory.agent(follows=[account])  # made by hand, as before reference books
    _agent(session, creator, account)

    assert ensure_all_reference_books(session, capital=CAPITAL) == 1
    assert ensure_all_reference_books(session, capital=CAPITAL) == 0
    book = reference_book(session, legacy.id)
    assert book is not None and book.agent_version_id == _version_id(session, legacy.id, 1)


# -- versions ------------------------------------------------------------------------------------------------


def test_name_edits_make_no_version_and_strategy_edits_do_with_a_note(session, creator, account):
    agent_id = _agent(session, creator, account)

    update_agent(session, creator, agent_id, AgentPatch(name="Renamed", description="Same strategy"))
    assert [v.number for v in list_versions(session, agent_id)] == [1]

    patch = AgentPatch.model_validate({"risk": {"leverage": "5", "stoploss": "0.05"}})
    update_agent(session, creator, agent_id, patch)
    newest = list_versions(session, agent_id)[0]
    assert newest.number == 2
    assert "leverage 5x" in newest.note and "stoploss 5%" in newest.note
    assert reference_book(session, agent_id).agent_version_id == newest.id, "the book follows the newest"
    assert get_agent(session, agent_id).versions[0].leverage == Decimal(5)


def test_leverage_above_the_venues_maximum_is_refused_naming_the_field(session, creator, account):
    with pytest.raises(ValueError, match=r"risk\.leverage must be at most 1x for a SPOT agent"):
        AgentDraft.model_validate(
            {"name": "Spot", "venue": "SPOT", "weights": ONLY_TWEET, "risk": {"leverage": 2}}
        )
    agent_id = _agent(session, creator, account, leverage="10")
    with pytest.raises(LeverageAboveVenueMax) as refused:
        update_agent(session, creator, agent_id, AgentPatch(venue="SPOT"))
    assert refused.value.field == "risk.leverage"
    assert [v.number for v in list_versions(session, agent_id)] == [1], "nothing written"


def test_an_edited_agents_deployments_trade_the_version_they_accepted_until_they_accept(
    session, factory, creator, account, feed, executor, api_settings
):
    agent_id = _agent(session, creator, account, leverage="1")
    follower, owner = _deploy(session, factory, agent_id, api_settings)
    book = reference_book(session, agent_id).id
    v1 = _version_id(session, agent_id, 1)

    update_agent(session, creator, agent_id, AgentPatch.model_validate({"risk": {"leverage": "3"}}))
    v2 = _version_id(session, agent_id, 2)

    signals = _post_and_trade(session, factory, account, feed, executor, "BTC")
    assert sorted(s.agent_version_id for s in signals) == sorted([v1, v2]), "one signal per version in use"
    (mine,) = _positions(session, follower)
    (theirs,) = _positions(session, book)
    assert session.get(Signal, mine.signal_id).agent_version_id == v1 and mine.leverage == Decimal(1)
    assert session.get(Signal, theirs.signal_id).agent_version_id == v2 and theirs.leverage == Decimal(3)

    accept_latest_version(session, owner, follower)

    signals = _post_and_trade(session, factory, account, feed, executor, "ETH")
    assert [s.agent_version_id for s in signals] == [v2], "nobody trades version 1 any more"
    assert _positions(session, follower)[-1].leverage == Decimal(3)
    assert _positions(session, book)[-1].market == "ETH"


def test_a_deployment_made_after_an_edit_trades_the_newest_version(
    session, factory, creator, account, feed, executor, api_settings
):
    agent_id = _agent(session, creator, account)
    update_agent(session, creator, agent_id, AgentPatch.model_validate({"risk": {"leverage": "2"}}))
    follower, _ = _deploy(session, factory, agent_id, api_settings)

    assert session.get(AgentDeployment, follower).agent_version_id == _version_id(session, agent_id, 2)
    (signal,) = _post_and_trade(session, factory, account, feed, executor, "BTC")
    assert [p.leverage for p in _positions(session, follower)] == [Decimal(2)]
    assert signal.agent_version_id == _version_id(session, agent_id, 2)


# -- sybil ---------------------------------------------------------------------------------------------------


def test_follower_deployments_with_their_own_exits_change_none_of_the_reference_books_trades(
    session, engine, factory, creator, account, feed, venues, executor, api_settings
):
    """Twin agents, one with a swarm of followers taking profit at 0.05%: both reference books trade alike."""
    swarmed = _agent(session, creator, account, name="Swarmed")
    control = _agent(session, creator, account, name="Control")
    followers = [
        _deploy(session, factory, swarmed, api_settings, take_profit="0.0005", stoploss="0.001")[0]
        for _ in range(8)
    ]

    _post_and_trade(session, factory, account, feed, executor, "BTC")
    feed.set("BTC", "60100")  # +0.17%: every follower's take-profit fires, the books' 20% does not

    def close(position_id: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            finish_close(
                own, position_id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=Decimal("0.1"))
            )

    Monitor(venues, close, holder="test").run_cycle(session)

    for deployment_id in followers:
        (position,) = _positions(session, deployment_id)
        assert position.status == PositionStatus.CLOSED
    books = [reference_book(session, a) for a in (swarmed, control)]
    trades = [
        [(p.market, p.side, p.size, p.entry_price, p.status) for p in _positions(session, b.id)]
        for b in books
    ]
    assert trades[0] == trades[1] and trades[0][0][4] == PositionStatus.OPEN
    assert all(not session.get(AgentDeployment, d).is_reference for d in followers)
    assert get_agent(session, swarmed).active_deployments == len(followers)
    billed = session.exec(
        select(BillingEvent).where(col(BillingEvent.deployment_id).in_([b.id for b in books]))
    )
    assert billed.all() == [], "reference books are never billed"


def test_an_older_version_still_hears_an_account_the_newest_unfollowed(
    session, factory, creator, account, feed, executor, api_settings
):
    agent_id = _agent(session, creator, account)
    follower, _ = _deploy(session, factory, agent_id, api_settings)
    other = factory.ct_account(handle="NewFavourite")
    update_agent(session, creator, agent_id, AgentPatch(ct_account_ids=[other.id]))
    assert "followed accounts (+1 -1)" in list_versions(session, agent_id)[0].note

    (signal,) = _post_and_trade(session, factory, account, feed, executor, "BTC")
    assert signal.agent_version_id == _version_id(session, agent_id, 1)
    assert [p.market for p in _positions(session, follower)] == ["BTC"]
    assert _positions(session, reference_book(session, agent_id).id) == [], "version 2 does not follow it"
