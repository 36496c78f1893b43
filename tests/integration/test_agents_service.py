"""Marketplace queries on SQLite and PostgreSQL."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from backend.agents.schemas import AgentQuery, AgentSort
from backend.agents.service import AgentNotFound, get_agent, leaderboard, list_agents, platform_stats
from backend.auth.identity import CurrentUser
from backend.models.enums import AgentStatus, Role, Venue, Visibility


def test_lists_only_public_unarchived_agents(session, factory):
    factory.agent(name="Visible")
    factory.agent(name="Hidden", visibility=Visibility.PRIVATE)
    factory.agent(name="Gone", status=AgentStatus.ARCHIVED)
    page = list_agents(session, AgentQuery())
    assert [a.name for a in page.items] == ["Visible"]
    assert page.total == 1


def test_filters_by_venue_and_searches_name_creator_and_followed_handle(session, factory):
    whale = factory.ct_account(handle="WhaleWatcher")
    alice = factory.user(display_name="alice")
    factory.agent(name="Perp Hunter", venue=Venue.HYPERLIQUID, creator=alice)
    factory.agent(name="Spot Saver", venue=Venue.SPOT, follows=[whale])
    factory.agent(name="100%_literal", venue=Venue.GMX)

    assert [a.name for a in list_agents(session, AgentQuery(venue=Venue.SPOT)).items] == ["Spot Saver"]
    assert [a.name for a in list_agents(session, AgentQuery(q="hunter")).items] == ["Perp Hunter"]
    assert [a.name for a in list_agents(session, AgentQuery(q="ALICE")).items] == ["Perp Hunter"]
    assert [a.name for a in list_agents(session, AgentQuery(q="whalewatch")).items] == ["Spot Saver"]
    # LIKE wildcards in the search text are literal characters, not patterns.
    assert [a.name for a in list_agents(session, AgentQuery(q="%_")).items] == ["100%_literal"]


def test_sorts_by_figure_with_untraded_agents_last_and_pages_stably(session, factory):
    for name, apr in [("Low", "5"), ("None", None), ("High", "80"), ("Mid", "20")]:
        factory.agent(name=name, apr_30d=Decimal(apr) if apr else None, trades_count=0 if apr is None else 3)
    names = [a.name for a in list_agents(session, AgentQuery(sort=AgentSort.APR_30D)).items]
    assert names == ["High", "Mid", "Low", "None"]

    first = list_agents(session, AgentQuery(sort=AgentSort.NAME, limit=2))
    second = list_agents(session, AgentQuery(sort=AgentSort.NAME, limit=2, offset=2))
    assert [a.name for a in first.items + second.items] == ["High", "Low", "Mid", "None"]
    assert first.total == second.total == 4


@pytest.mark.parametrize(
    "bad",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"sort": "luck"}, {"venue": "NYSE"}, {"q": "x" * 65}],
)
def test_bad_queries_are_refused(bad):
    with pytest.raises(ValidationError):
        AgentQuery(**bad)


def test_agent_detail_has_weights_accounts_and_signals(session, factory):
    account = factory.ct_account(handle="cobie")
    agent = factory.agent(follows=[account], weight_macd=40)
    deployment = factory.deployment(agent)
    post = factory.post(account)
    factory.signal(agent, post)
    factory.closed_position(deployment, Decimal("12.5"))

    detail = get_agent(session, agent.id)
    assert detail.weights["macd"] == 40 and detail.weights["tweet"] == 60
    assert [a.handle for a in detail.accounts] == ["cobie"]
    assert detail.recent_signals[0].post_handle == "cobie"
    assert detail.recent_signals[0].outcome == "Not traded: no position opened"
    assert detail.my_positions == []  # a visitor sees no trader's positions
    assert detail.active_deployments == 1


def test_private_or_unknown_agent_is_not_found(session, factory):
    private = factory.agent(visibility=Visibility.PRIVATE)
    for agent_id in (private.id, 999_999):
        with pytest.raises(AgentNotFound):
            get_agent(session, agent_id)


@pytest.mark.parametrize("hidden", [{"visibility": Visibility.PRIVATE}, {"status": AgentStatus.ARCHIVED}])
def test_hidden_agent_is_shown_to_its_creator_and_admins_only(session, factory, hidden):
    creator, stranger, admin = factory.user(), factory.user(), factory.user(role=Role.ADMIN)
    agent = factory.agent(creator, **hidden)

    for viewer in (creator, admin):
        seen = CurrentUser(viewer.id, viewer.address, Role(viewer.role))
        assert get_agent(session, agent.id, seen).id == agent.id
    with pytest.raises(AgentNotFound):
        get_agent(session, agent.id, CurrentUser(stranger.id, stranger.address, Role.TRADER))


def test_only_the_creator_and_admins_may_edit_and_nobody_an_archived_agent(session, factory):
    creator, stranger, admin = factory.user(), factory.user(), factory.user(role=Role.ADMIN)
    agent = factory.agent(creator)

    def editable(user) -> bool:
        viewer = None if user is None else CurrentUser(user.id, user.address, Role(user.role))
        return get_agent(session, agent.id, viewer).editable

    assert editable(creator) and editable(admin)
    assert not editable(stranger) and not editable(None)
    agent.status = AgentStatus.ARCHIVED
    session.add(agent)
    session.commit()
    assert not editable(creator) and not editable(admin)


def test_leaderboard_ranks_traded_agents_only(session, factory):
    factory.agent(name="Untraded")
    factory.agent(name="Good", apr_30d=Decimal("40"), trades_count=5)
    factory.agent(name="Best", apr_30d=Decimal("90"), trades_count=9)
    assert [a.name for a in leaderboard(session, limit=5)] == ["Best", "Good"]
    with pytest.raises(ValueError):
        leaderboard(session, limit=0)


def test_platform_stats_are_counted_from_rows(session, factory):
    agent = factory.agent()
    deployment = factory.deployment(agent)
    factory.closed_position(deployment, Decimal("10"), size=Decimal("0.5"), entry_price=Decimal("100"))
    factory.closed_position(deployment, Decimal("-4"), size=Decimal("1"), entry_price=Decimal("50"))
    stats = platform_stats(session)
    assert (stats.agents, stats.active_deployments, stats.trades) == (1, 1, 2)
    assert stats.volume_usd == Decimal("100.00")
    assert stats.realized_pnl == Decimal("6.00")
