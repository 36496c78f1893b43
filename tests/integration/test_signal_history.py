"""Signal history on SQLite and PostgreSQL: order, pages, token filter, who may read, why each score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from backend.agents.service import AgentNotFound, get_agent
from backend.auth.identity import CurrentUser
from backend.models import WEIGHT_NAMES, Agent, User
from backend.models.enums import AgentStatus, Role, Side, SignalStatus, Visibility
from backend.signals.history import contributions, list_signals, outcome_sentence, parse_features
from backend.signals.outcomes import OutcomeKind, outcome_of
from tests.factories import Factory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WEIGHTS = {"tweet": 70, "rsi": 0, "macd": 45, "bollinger": 0, "volume": 25, "moving_average": 0}
WEIGHTS |= {"momentum": 60, "volatility": 10}
FEATURES = {
    "tweet": D("0.88"),
    "rsi": D("0.5986"),
    "macd": D("0.6353"),
    "bollinger": D("0.4776"),
    "volume": D("0.8061"),
    "moving_average": D("0.4857"),
    "momentum": D("0.3392"),
    "volatility": D("0.5776"),
}


def viewer(user: User, role: Role = Role.TRADER) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=role)


def make_agent(factory: Factory, creator: User | None = None, **kw) -> Agent:
    return factory.agent(creator, **{f"weight_{k}": v for k, v in WEIGHTS.items()}, **kw)


def scored(features: dict[str, D]) -> D:
    """The score as the generator computes it: the weighted mean of the features, stored to 4 places."""
    total = sum(WEIGHTS.values())
    return (sum(D(WEIGHTS[k]) * v for k, v in features.items()) / total).quantize(D("0.0001"))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_newest_first_and_paged(factory: Factory, session: Session):
    agent = make_agent(factory)
    ids = [factory.signal(agent, token="BTC", created_at=at(10 * i)).id for i in range(5)]
    tied = factory.signal(agent, token="ETH", created_at=at(40)).id  # same time as ids[4]: id breaks ties

    first = list_signals(session, agent_id=agent.id, viewer=None, limit=2)
    assert [s.id for s in first.items] == [tied, ids[4]]
    assert (first.total, first.limit, first.offset) == (6, 2, 0)
    assert (first.agent_id, first.agent_name, first.threshold) == (agent.id, agent.name, D("0.55"))

    rest = list_signals(session, agent_id=agent.id, viewer=None, limit=2, offset=2)
    last = list_signals(session, agent_id=agent.id, viewer=None, limit=2, offset=4)
    assert [s.id for s in rest.items] == [ids[3], ids[2]]
    assert [s.id for s in last.items] == [ids[1], ids[0]]
    assert list_signals(session, agent_id=agent.id, viewer=None, offset=6).items == []


def test_only_this_agents_signals(factory: Factory, session: Session):
    agent, other = make_agent(factory), make_agent(factory)
    mine = factory.signal(agent)
    factory.signal(other)
    page = list_signals(session, agent_id=agent.id, viewer=None)
    assert [s.id for s in page.items] == [mine.id] and page.total == 1


def test_token_filter_is_case_and_space_insensitive(factory: Factory, session: Session):
    agent = make_agent(factory)
    btc = factory.signal(agent, token="BTC", created_at=at(0))
    eth = [factory.signal(agent, token="ETH", created_at=at(i + 1)) for i in range(3)]

    page = list_signals(session, agent_id=agent.id, viewer=None, token=" eth ", limit=2)
    assert page.total == 3
    assert [s.id for s in page.items] == [eth[2].id, eth[1].id]
    only_btc = list_signals(session, agent_id=agent.id, viewer=None, token="BTC")
    assert [s.id for s in only_btc.items] == [btc.id]
    assert list_signals(session, agent_id=agent.id, viewer=None, token="   ").total == 4
    assert list_signals(session, agent_id=agent.id, viewer=None, token="SOL").total == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"token": "X" * 17}, "token"),
    ],
)
def test_bad_paging_or_token_is_refused(factory: Factory, session: Session, kwargs, message):
    agent = make_agent(factory)
    with pytest.raises(ValueError, match=message):
        list_signals(session, agent_id=agent.id, viewer=None, **kwargs)


@pytest.mark.parametrize(
    "hidden",
    [{"visibility": Visibility.PRIVATE}, {"status": AgentStatus.ARCHIVED}],
    ids=["private", "archived"],
)
def test_hidden_agents_only_for_their_creator_and_admins(factory: Factory, session: Session, hidden):
    creator, stranger, admin = factory.user(), factory.user(), factory.user(role=Role.ADMIN)
    agent = make_agent(factory, creator, **hidden)
    signal = factory.signal(agent)

    for who in (None, viewer(stranger)):
        with pytest.raises(AgentNotFound, match=f"agent {agent.id} not found"):
            list_signals(session, agent_id=agent.id, viewer=who)
    for who in (viewer(creator), viewer(admin, Role.ADMIN)):
        assert [s.id for s in list_signals(session, agent_id=agent.id, viewer=who).items] == [signal.id]


def test_public_agent_is_open_to_anyone_and_unknown_ids_are_not_found(factory: Factory, session: Session):
    agent = make_agent(factory, status=AgentStatus.PAUSED)  # paused but listed: its history stays readable
    factory.signal(agent)
    assert list_signals(session, agent_id=agent.id, viewer=None).total == 1
    assert list_signals(session, agent_id=agent.id, viewer=viewer(factory.user())).total == 1
    with pytest.raises(AgentNotFound, match="agent 999999 not found"):
        list_signals(session, agent_id=999_999, viewer=None)


def test_view_explains_the_score(factory: Factory, session: Session):
    account = factory.ct_account(handle="VelvetBidTrades")
    post = factory.post(account, text="Accumulating $ETH quietly", classifier="gpt-x", confidence=D("0.88"))
    agent = make_agent(factory, signal_threshold=D("0.6"))
    # Stored out of order, as JSON strings: the view puts them in WEIGHT_NAMES order as Decimals.
    stored = {k: str(v) for k, v in reversed(FEATURES.items())}
    factory.signal(agent, post, token="ETH", side=Side.SHORT, score=scored(FEATURES), features=stored)

    (view,) = list_signals(session, agent_id=agent.id, viewer=None).items
    assert (view.post_id, view.post_handle, view.post_text) == (post.id, "VelvetBidTrades", post.text)
    assert (view.post_classifier, view.post_confidence) == ("gpt-x", D("0.88"))
    assert (view.token, view.side, view.threshold) == ("ETH", Side.SHORT, D("0.6"))
    assert list(view.features) == list(WEIGHT_NAMES) and view.features == FEATURES
    assert view.weights == {k: WEIGHTS[k] for k in WEIGHT_NAMES}
    assert list(view.contributions) == list(WEIGHT_NAMES)
    tweet_share = (D("70") * D("0.88") / sum(WEIGHTS.values())).quantize(D("0.000001"))
    assert view.contributions["rsi"] == 0 and view.contributions["tweet"] == tweet_share
    assert abs(sum(view.contributions.values()) - view.score) <= D("0.0001")


def test_missing_and_malformed_features_are_left_out(factory: Factory, session: Session):
    agent = make_agent(factory)
    stored = {"tweet": "0.9", "rsi": "n/a", "macd": None, "momentum": 0.5, "extra": "1"}
    factory.signal(agent, features=stored)
    (view,) = list_signals(session, agent_id=agent.id, viewer=None).items
    assert view.features == {"tweet": D("0.9"), "momentum": D("0.5")}
    assert list(view.contributions) == ["tweet", "momentum"]
    assert view.post_id is None and view.post_handle is None and view.post_text is None


def test_outcomes_in_words(factory: Factory, session: Session):
    agent = make_agent(factory)
    pending = factory.signal(agent, status=SignalStatus.PENDING, created_at=at(0))
    skipped = factory.signal(
        agent, status=SignalStatus.SKIPPED, skip_reason="no deployments of this agent", created_at=at(1)
    )
    one = factory.signal(agent, created_at=at(2))
    two = factory.signal(agent, created_at=at(3))
    factory.closed_position(factory.deployment(agent), D("5"), signal_id=one.id)
    for _ in range(2):
        factory.closed_position(factory.deployment(agent), D("-1"), signal_id=two.id)

    views = {v.id: v for v in list_signals(session, agent_id=agent.id, viewer=None).items}
    assert views[pending.id].outcome == "Awaiting execution"
    assert views[skipped.id].outcome == "Skipped: no deployments of this agent"
    assert views[one.id].outcome == "Traded: 1 position" and views[one.id].positions_opened == 1
    assert views[two.id].outcome == "Traded: 2 positions" and views[two.id].positions_opened == 2
    assert views[pending.id].status == SignalStatus.PENDING and views[skipped.id].skip_reason
    kinds = {signal.id: views[signal.id].outcome_kind for signal in (pending, skipped, one, two)}
    assert kinds == {
        pending.id: OutcomeKind.AWAITING,
        skipped.id: OutcomeKind.SKIPPED,
        one.id: OutcomeKind.TRADED,
        two.id: OutcomeKind.TRADED,
    }


def test_partly_and_not_traded_count_deployments_that_skipped(factory: Factory, session: Session):
    """A signal some deployments traded and others skipped is partly traded; one none traded is not traded,
    and the agent page tells both with the same kind and words as the signals page."""
    agent = make_agent(factory)
    partly, untraded = factory.signal(agent, created_at=at(0)), factory.signal(agent, created_at=at(1))
    factory.closed_position(factory.deployment(agent), D("5"), signal_id=partly.id)
    broke = factory.deployment(agent)
    for signal in (partly, untraded):
        factory.execution(signal, broke, reason="insufficient balance: $3.00 available")

    views = {v.id: v for v in list_signals(session, agent_id=agent.id, viewer=None).items}
    assert views[partly.id].outcome_kind == OutcomeKind.PARTLY_TRADED
    assert views[partly.id].outcome == "Partly traded: 1 position, 1 skipped (insufficient balance)"
    assert views[untraded.id].outcome_kind == OutcomeKind.NOT_TRADED
    assert views[untraded.id].outcome == "Not traded: 1 deployment skipped (insufficient balance)"
    recent = {s.id: outcome_of(s) for s in get_agent(session, agent.id, None).recent_signals}
    assert recent == {v.id: (v.outcome_kind, v.outcome) for v in views.values()}


def test_a_page_costs_the_same_queries_whatever_its_size(factory: Factory, session: Session, engine):
    account = factory.ct_account()
    agent = make_agent(factory)
    for i in range(12):
        signal = factory.signal(agent, factory.post(account), created_at=at(i))
        factory.closed_position(factory.deployment(agent), D("1"), signal_id=signal.id)

    def statements(limit: int) -> int:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(list_signals(session, agent_id=agent.id, viewer=None, limit=limit).items) == limit
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    # agent, total, page with posts and accounts, positions, skipped executions
    assert statements(2) == statements(12) <= 5


def test_pure_helpers():
    assert outcome_sentence("skipped", None, 0) == "Skipped: no reason recorded"
    assert outcome_sentence("executed", None, 0) == "Not traded: no position opened"
    assert (
        outcome_sentence("executed", None, 2, {"deployment paused": 1})
        == "Partly traded: 2 positions, 1 skipped (deployment paused)"
    )
    assert (
        outcome_sentence("executed", None, 0, {"below minimum": 3})
        == "Not traded: 3 deployments skipped (below minimum)"
    )
    assert (
        outcome_sentence("executed", None, 1, {"deployment paused": 1, "insufficient balance": 2})
        == "Partly traded: 1 position, 3 skipped (2 insufficient balance, 1 deployment paused)"
    )
    assert parse_features(["not", "a", "mapping"]) == {}
    assert parse_features({"tweet": "Infinity", "rsi": "0.1"}) == {"rsi": D("0.1")}
    assert contributions({"tweet": D("0.5")}, {name: 0 for name in WEIGHT_NAMES}) == {}


def test_recorded_weights_and_threshold_survive_an_edit(factory: Factory, session: Session):
    agent = make_agent(factory)
    recorded = {**WEIGHTS, "tweet": 100}
    features = {k: str(v) for k, v in FEATURES.items()}
    factory.signal(agent, features=features, weights=recorded, threshold=D("0.40"))
    factory.signal(agent, features=features, token="ETH")  # from before signals recorded their weights

    agent.weight_tweet, agent.signal_threshold = 5, D("0.90")
    session.add(agent)
    session.commit()
    newer, older = list_signals(session, agent_id=agent.id, viewer=None).items

    assert newer.token == "ETH" and newer.weights["tweet"] == 5 and newer.threshold == D("0.90")
    assert older.weights == recorded and older.threshold == D("0.40")
    assert older.contributions["tweet"] == (D(100) * FEATURES["tweet"] / sum(recorded.values())).quantize(
        D("0.000001")
    )
