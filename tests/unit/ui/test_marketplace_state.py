"""The marketplace's URL (what a link, a reload or back/forward shows), its rows, and the agent page's figures
and paper-only note: what a trader reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from urllib.parse import parse_qsl, urlsplit

import pytest
from reflex.event import EventSpec

from backend.agents.schemas import AgentDetail, AgentSummary, RiskSettings
from backend.metrics.track import NO_TRACK, TrackRecord
from backend.models.enums import Venue
from backend.venues.catalog import PAPER_ONLY_NOTE
from maxxit_ui.state.agent import _figures, paper_only_note
from maxxit_ui.state.marketplace import (
    ALL_VENUES,
    MAX_PAGE,
    SEARCH_MAX_LENGTH,
    VENUE_LABELS,
    Filters,
    MarketplaceState,
    filters_url,
    parse_filters,
)
from maxxit_ui.state.rows import agent_row
from tests.unit.ui.test_input_bounds import _handle, _state

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_url_names_only_what_differs_from_the_defaults():
    assert filters_url(Filters()) == "/marketplace"
    assert filters_url(Filters(venue="GMX", sort="pnl", page=2)) == "/marketplace?venue=GMX&sort=pnl&page=2"
    assert filters_url(Filters(search="swing & co ")) == "/marketplace?q=swing+%26+co+"


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(venue="OSTIUM", sort="name", search=" two words ", page=7), Filters(search="100%_x")],
)
def test_filters_survive_the_round_trip_through_the_url(filters: Filters):
    query = dict(parse_qsl(urlsplit(filters_url(filters)).query))
    assert parse_filters(query) == filters


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, Filters()),
        ({"venue": "gmx", "sort": "PNL"}, Filters(venue="GMX", sort="pnl")),  # any case
        ({"venue": "NASDAQ", "sort": "luck", "page": "x"}, Filters()),
        ({"venue": ALL_VENUES, "page": "0"}, Filters()),
        ({"page": "-3"}, Filters()),
        ({"page": "99999999"}, Filters(page=MAX_PAGE)),
        ({"q": "x" * 500}, Filters(search="x" * SEARCH_MAX_LENGTH)),
    ],
)
def test_invalid_or_missing_values_read_as_the_defaults(params: dict[str, str], expected: Filters):
    assert parse_filters(params) == expected


def test_venue_options_are_the_catalogue_labels_after_all_venues():
    assert next(iter(VENUE_LABELS.items())) == (ALL_VENUES, "All venues")
    assert VENUE_LABELS["HYPERLIQUID"] == "Hyperliquid" and VENUE_LABELS["MULTI"] == "Multi-venue"
    assert set(VENUE_LABELS) == {ALL_VENUES, *(v.value for v in Venue)}


def _redirect_path(spec: EventSpec) -> tuple[str, bool]:
    args = {name._js_expr: value._var_value for name, value in spec.args}
    return args["path"], args["replace"]


def test_controls_go_to_their_url_from_the_first_page_and_ignore_values_not_offered():
    state = _state(MarketplaceState)
    state.page, state.venue = 3, "GMX"
    assert _redirect_path(_handle(MarketplaceState, "set_sort", state, "pnl")) == (
        "/marketplace?venue=GMX&sort=pnl",
        False,
    )
    assert state.sort == "pnl" and state.page == 1  # shown at once, before the URL's on_load
    assert _handle(MarketplaceState, "set_sort", state, "luck") is None
    assert _handle(MarketplaceState, "set_venue", state, "NASDAQ") is None
    assert state.sort == "pnl" and state.venue == "GMX"
    # Typing replaces the URL instead of adding a history entry for every pause.
    assert _redirect_path(_handle(MarketplaceState, "set_search", state, "swing")) == (
        "/marketplace?venue=GMX&sort=pnl&q=swing",
        True,
    )
    assert _handle(MarketplaceState, "set_search", state, "x" * (SEARCH_MAX_LENGTH + 1)) is None
    assert state.search_error and state.search == "swing"
    assert _redirect_path(_handle(MarketplaceState, "clear_filters", state)) == (
        "/marketplace?sort=pnl",
        False,
    )


def _summary(**kw) -> AgentSummary:
    values = {
        "id": 7,
        "name": "Swing",
        "description": "",
        "venue": Venue.GMX,
        "creator_address": "0x" + "ab" * 20,
        "creator_name": None,
        "ct_accounts": ["caller"],
        "trades_count": 4,
        "win_rate": D("0.5"),
        "apr_30d": D("0.12"),
        "apr_90d": None,
        "sharpe_30d": None,
        "sortino_30d": None,
        "max_drawdown": D("0.0832"),
        "profit_factor": D("1.5"),
        "total_pnl": D("-12.5"),
        "leverage": D("3.00"),
        "created_at": T0,
    }
    return AgentSummary(**(values | kw))


def test_a_row_shows_pnl_drawdown_the_venue_label_and_whether_it_trades_on_paper_only():
    row = agent_row(_summary())
    assert (row["pnl"], row["pnl_tone"]) == ("-$12.50", "negative")
    assert (row["max_drawdown"], row["max_drawdown_tone"]) == ("-8.3%", "negative")
    assert (row["venue"], row["leverage"], row["paper_only"]) == ("GMX", "3x", True)
    live = agent_row(_summary(venue=Venue.HYPERLIQUID, max_drawdown=None))
    assert (live["venue"], live["paper_only"]) == ("Hyperliquid", False)
    assert live["max_drawdown_tone"] == "muted"
    assert agent_row(_summary(max_drawdown=D("0")))["max_drawdown_tone"] == "neutral"


def _detail(**kw) -> AgentDetail:
    risk = RiskSettings(
        stoploss=D("0.1"),
        take_profit=None,
        trailing_stop_positive_offset=D("0.03"),
        trailing_stop_positive=D("0.01"),
        sizing_profile="balanced",
        signal_threshold=D("0.55"),
    )
    return AgentDetail(
        **_summary().model_dump(),
        weights={},
        risk=risk,
        visibility="PUBLIC",
        status="ACTIVE",
        apr_si=None,
        volume_usd=D("1000"),
        active_deployments=0,
        follower_deployments=0,
        follower_realized_pnl=D("0"),
        accounts=[],
        recent_signals=[],
        my_positions=[],
        metrics_updated_at=None,
        **kw,
    )


def test_agent_figures_lead_with_result_and_risk_and_add_average_win_and_loss():
    track = TrackRecord(None, (), D("40.00"), D("-25.50"))
    tiles = {t["id"]: (t["value"], t["tone"]) for t in _figures(_detail(), track)}
    order = [t["id"] for t in _figures(_detail(), track)]
    assert order[:2] == ["figure-pnl", "figure-drawdown"]
    assert tiles["figure-avg-win"] == ("+$40.00", "positive")
    assert tiles["figure-avg-loss"] == ("-$25.50", "negative")
    assert tiles["figure-profit-factor"] == ("1.50", "neutral")
    assert tiles["figure-drawdown"] == ("-8.3%", "negative")
    blank = {t["id"]: t["tone"] for t in _figures(_detail(), NO_TRACK)}
    assert blank["figure-avg-win"] == "muted" and blank["figure-avg-loss"] == "muted"


def test_paper_only_note_names_the_venue_in_plain_words():
    assert paper_only_note("GMX").startswith(PAPER_ONLY_NOTE + ": GMX orders")
    assert paper_only_note("OSTIUM").startswith(PAPER_ONLY_NOTE + ": Ostium orders")
