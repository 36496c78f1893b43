"""The registry comes from the venues: refresh against the local Hyperliquid server's meta (about 200 perps,
kPEPE among them) and the paper venue; what a refresh reports; a delisting stops entries, not exits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from sqlmodel import Session, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments.schemas import ApprovalSignature, DeploymentRequest
from backend.deployments.service import create_deployment
from backend.execution.service import Executor
from backend.markets.listings import list_venues, takes_entries
from backend.markets.refresh import refresh_venues
from backend.models import AgentDeployment, AuditLog, Position, Signal, VenueStatus
from backend.models.enums import (
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Role,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.close import close_order_id, finish_close, request_close
from backend.prices.markets import MARKETS
from backend.prices.simulated import SimulatedPriceFeed
from backend.sandbox.hyperliquid.universe import UNIVERSE
from backend.signals.tokens import known_tokens
from backend.trading.fees import FeePolicy
from backend.trading.market import MarketRules
from backend.venues.base import Listing, TemporaryVenueError
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.venues.router import route_signal
from backend.wallets.keys import WalletCipher
from backend.wallets.service import approval_request, prepare_agent_wallet, submit_approval
from tests.wallets import TEST_SECRET_KEY

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _row(session: Session, venue: ExecutionVenue, market: str) -> VenueStatus:
    session.expire_all()
    query = select(VenueStatus).where(VenueStatus.venue == venue, VenueStatus.market == market)
    return session.exec(query).one()


def _audits(session: Session) -> list[AuditLog]:
    session.expire_all()
    # In the order they were written: PostgreSQL returns rows in any order it likes.
    query = select(AuditLog).where(AuditLog.action == Action.VENUES_REFRESHED).order_by(AuditLog.id)
    return list(session.exec(query))


def test_the_registry_is_filled_from_the_servers_meta(session, engine, hl_server):
    hl = HyperliquidVenue(hl_server.url, timeout=2)
    paper = PaperVenue(engine, SimulatedPriceFeed(seed=7))
    report = refresh_venues(session, [paper, hl], NOW)

    by_venue = {v.venue: v for v in report.venues}
    live = by_venue["HYPERLIQUID"]
    delisted = {r.symbol for r in UNIVERSE if r.delisted}
    assert live.error is None and live.listed == len(UNIVERSE) >= 190
    assert live.active == len(UNIVERSE) - len(delisted)
    assert {"PEPE", "BONK", "SHIB", "FLOKI", "OP", "BNB", "APT", "INJ", "TIA", "RENDER"} <= set(live.added)
    assert not {"kPEPE", "MATIC", "RNDR"} & set(live.added)  # the app's symbols; delisted ones not "added"
    assert live.changed == live.delisted == live.relisted == []

    pepe = _row(session, ExecutionVenue.HYPERLIQUID, "PEPE")
    assert (pepe.venue_market, pepe.units, pepe.size_decimals, pepe.min_size) == ("kPEPE", 1000, -3, 1000)
    assert pepe.is_active and pepe.max_leverage == 10 and pepe.tick_size < Decimal("1e-6")
    eth = _row(session, ExecutionVenue.HYPERLIQUID, "ETH")
    assert (eth.venue_market, eth.units, eth.size_decimals) == ("ETH", 1, MARKETS["ETH"].size_decimals)
    assert not _row(session, ExecutionVenue.HYPERLIQUID, "RNDR").is_active

    tokens = known_tokens(session)
    assert tokens["PEPE"] == "Pepe" and tokens["OP"] == "Optimism" and tokens["ETH"] == "Ethereum"
    assert "RNDR" not in tokens and "MATIC" not in tokens and "KPEPE" not in tokens  # delisted: no signals
    assert len(tokens) >= 180
    [audited] = _audits(session)
    assert audited.actor == "system" and "PEPE" in audited.details["venues"][1]["added"]

    again = refresh_venues(session, [paper, hl], NOW + timedelta(hours=1))
    assert not again.has_changes and [v.error for v in again.venues] == [None, None]
    assert len(_audits(session)) == 1  # nothing changed, nobody asked: no audit row


def test_an_unreachable_venue_keeps_its_rows_and_does_not_stall_the_others(
    session, engine, factory, hl_server
):
    paper = PaperVenue(engine, SimulatedPriceFeed(seed=7))
    refresh_venues(session, [HyperliquidVenue(hl_server.url, timeout=2)], NOW)
    before = _row(session, ExecutionVenue.HYPERLIQUID, "PEPE")

    stalled = HyperliquidVenue(hl_server.url, timeout=0.5)
    hl_server.stall_next(5, count=3)
    user = factory.user()
    admin = CurrentUser(user.id, user.address, Role.ADMIN)
    report = refresh_venues(session, [stalled, paper], NOW + timedelta(hours=1), actor=admin)

    hyperliquid, written = report.venues
    # The stall outlasts the adapter's timeout: an error rather than a late answer means it did not wait.
    assert (
        hyperliquid.error and "timed out" in hyperliquid.error.lower()
    ) or "Hyperliquid" in hyperliquid.error
    assert written.error is None and written.listed > 0 and "BTC" in written.added
    after = _row(session, ExecutionVenue.HYPERLIQUID, "PEPE")
    assert after.updated_at == before.updated_at and after.is_active
    [audited] = _audits(session)[-1:]  # an admin asked: audited, errors and all
    assert audited.actor == admin.address and audited.details["venues"][0]["error"] == hyperliquid.error

    nothing_there = HyperliquidVenue("http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(TemporaryVenueError):
        nothing_there.listings()
    assert refresh_venues(session, [nothing_there], NOW).errors.keys() == {"HYPERLIQUID"}


@dataclass
class ScriptedVenue:
    """A venue whose listings a test writes: the refresh's diff on every kind of change."""

    venue: ExecutionVenue
    items: list[Listing] = field(default_factory=list)

    def listings(self) -> list[Listing]:
        return list(self.items)


def _listing(symbol: str, decimals: int = 2, leverage: int = 10, **kw) -> Listing:
    rules = MarketRules(symbol, decimals, Decimal("0.01"), Decimal(10), Decimal(leverage), Decimal("0.01"))
    return Listing(symbol=symbol, venue_market=symbol, name=symbol.title(), rules=rules, **kw)


def test_the_report_says_what_changed_old_to_new(session):
    venue = ScriptedVenue(ExecutionVenue.PAPER, [_listing("AAA"), _listing("BBB"), _listing("CCC")])
    first = refresh_venues(session, [venue], NOW)
    assert first.venues[0].added == ["AAA", "BBB", "CCC"]

    venue.items = [
        _listing("AAA", decimals=1, leverage=5),  # rules changed
        _listing("BBB", is_delisted=True),  # delisted, still listed
        _listing("DDD"),  # new; CCC is gone from the list altogether
    ]
    second = refresh_venues(session, [venue], NOW + timedelta(hours=1)).venues[0]
    assert second.added == ["DDD"]
    [change] = second.changed
    assert change.symbol == "AAA"
    assert change.changes == {
        "size_decimals": ("2", "1"),
        "max_leverage": ("10", "5"),
    }
    assert sorted(second.delisted) == ["BBB", "CCC"] and second.relisted == []
    assert not takes_entries(session, ExecutionVenue.PAPER, "BBB")
    assert takes_entries(session, ExecutionVenue.PAPER, "AAA")
    assert takes_entries(session, ExecutionVenue.PAPER, "NEVER_HEARD_OF")  # the adapter judges those
    assert set(known_tokens(session)) == {"AAA", "DDD"}
    assert _row(session, ExecutionVenue.PAPER, "AAA").size_decimals == 1

    venue.items = [replace(item, is_delisted=False) for item in venue.items] + [_listing("CCC")]
    third = refresh_venues(session, [venue], NOW + timedelta(hours=2)).venues[0]
    assert sorted(third.relisted) == ["BBB", "CCC"] and third.added == third.delisted == []
    page = list_venues(session, venue=ExecutionVenue.PAPER)
    assert [m.symbol for m in page.venues[0].markets] == ["AAA", "BBB", "CCC", "DDD"]


# -- a delisting on the server: entries refused, exits still close -------------------------------------


@pytest.fixture
def settings(hl_server) -> Settings:
    return Settings(hyperliquid_api=hl_server.url, maxxit_secret_key=TEST_SECRET_KEY)


@pytest.fixture
def cipher(settings) -> WalletCipher:
    return WalletCipher.from_settings(settings)


def _deployment(session, factory, hl_user, settings, cipher):
    user = factory.user(address=hl_user.address.lower())
    trader = CurrentUser(user.id, user.address, Role.TRADER)
    wallet = prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)
    request = approval_request(
        session, trader, wallet.id, settings=settings, chain_id=42161, now=datetime.now(UTC)
    )
    signature = Account.sign_typed_data(hl_user.key, full_message=request.typed_data).signature.to_0x_hex()
    approval = ApprovalSignature(signature=signature, nonce=request.nonce, chain_id=42161)
    submit_approval(session, trader, wallet.id, approval, settings=settings)
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    deployment = create_deployment(
        session,
        trader,
        DeploymentRequest(
            agent_id=agent.id,
            venue=ExecutionVenue.HYPERLIQUID,
            user_wallet=hl_user.address,
            agent_wallet_id=wallet.id,
        ),
        settings=settings,
        cipher=cipher,
    )
    return trader, agent, deployment


def test_pepe_trades_as_kpepe_and_a_delisting_stops_entries_but_not_the_exit(
    session, engine, factory, hl_server, hl_user, settings, cipher
):
    hl = HyperliquidVenue(hl_server.url, timeout=2)
    venues = VenueRegistry(
        {ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7)), ExecutionVenue.HYPERLIQUID: hl}
    )
    refresh_venues(session, [hl], NOW)
    trader, agent, deployment = _deployment(session, factory, hl_user, settings, cipher)
    hl_server.set_mid("kPEPE", Decimal("0.0045"))

    signal = factory.signal(agent, token="PEPE", status=SignalStatus.PENDING, score=Decimal("0.8"))
    opened = Executor(venues, cipher).execute(session, signal.id, deployment.id)
    assert opened.status == ExecutionStatus.FILLED, opened.reason
    position = session.get(Position, opened.position_id)
    [sent] = hl_server.orders(hl_user.address)
    assert sent["coin"] == "kPEPE" and Decimal(sent["origSz"]) * 1000 == position.size
    assert position.market == "PEPE" and position.entry_price == Decimal("0.0000045")
    assert position.size % 1000 == 0 and position.size * position.entry_price > 100  # a real trade, per token

    hl_server.delist("kPEPE")
    report = refresh_venues(session, [hl], NOW + timedelta(hours=1))
    assert report.venues[0].delisted == ["PEPE"]
    assert "PEPE" not in known_tokens(session) and "PEPE" not in hl.markets()

    later = factory.signal(agent, token="PEPE", status=SignalStatus.PENDING, score=Decimal("0.8"))
    refused = Executor(venues, cipher).execute(session, later.id, deployment.id)
    assert refused.status == ExecutionStatus.SKIPPED
    assert refused.reason == (
        "market not listed: PEPE is delisted on HYPERLIQUID: no new entries (open positions still exit)"
    )
    assert len(hl_server.orders(hl_user.address)) == 1  # nothing was sent

    request_close(session, trader, position.id)
    closed = finish_close(session, position.id, venues=venues, cipher=cipher, fees=FeePolicy())
    assert closed.status == PositionStatus.CLOSED, closed.close_error
    [fill] = [f for f in hl_server.fills(hl_user.address) if f.get("cloid") == close_order_id(position.id)]
    assert fill["coin"] == "kPEPE" and fill["side"] == "A"
    assert closed.exit_price == Decimal(fill["px"]) / 1000 and closed.size == Decimal(fill["sz"]) * 1000
    assert hl.positions(_account(deployment, hl_user)) == []
    assert Side(closed.side) == Side.LONG


def _account(deployment, hl_user):
    from backend.venues.base import VenueAccount

    return VenueAccount(deployment.id, hl_user.address)


def _btc_delisted_on_hyperliquid(session, factory, second: str) -> tuple[AgentDeployment, Signal]:
    """The registry has Hyperliquid's BTC delisted; a multi-venue deployment prefers Hyperliquid, then
    `second`, and its agent has a BTC signal."""
    hyperliquid = ScriptedVenue(ExecutionVenue.HYPERLIQUID, [_listing("BTC", is_delisted=True)])
    refresh_venues(session, [hyperliquid], NOW)
    agent = factory.agent(venue=Venue.MULTI)
    deployment = factory.deployment(
        agent, venue=ExecutionVenue.HYPERLIQUID, venue_preferences=["HYPERLIQUID", second]
    )
    return deployment, factory.signal(agent, token="BTC")


def _adapter_listing_btc(venue: ExecutionVenue) -> ScriptedVenue:
    """An adapter that lists BTC, whatever the registry says (this process has not heard of a delisting)."""
    adapter = ScriptedVenue(venue)
    adapter.markets = lambda: {"BTC": _listing("BTC").rules}  # type: ignore[attr-defined]
    return adapter


def test_a_multi_venue_deployment_is_routed_past_a_venue_that_delisted_the_market(session, engine, factory):
    # A second live venue (a stand-in for the spot adapter: the router judges only what the registry, the
    # adapters and the venues' declared capabilities say; a venue no adapter declares is not available).
    deployment, signal = _btc_delisted_on_hyperliquid(session, factory, "SPOT")
    # This process's Hyperliquid adapter has not heard of the delisting; the registry has.
    stale = _adapter_listing_btc(ExecutionVenue.HYPERLIQUID)
    other = _adapter_listing_btc(ExecutionVenue.SPOT)
    venues = VenueRegistry({ExecutionVenue.HYPERLIQUID: stale, ExecutionVenue.SPOT: other})
    decision = route_signal(session, deployment, signal.id, "BTC", venues)
    assert decision.venue == ExecutionVenue.SPOT
    assert decision.reason == "SPOT: preference 2 lists BTC; passed over HYPERLIQUID (market delisted)"


def test_a_live_deployment_whose_venue_delisted_the_market_is_not_routed_to_paper(session, engine, factory):
    """A row stored before paper stopped being a fallback still lists PAPER after Hyperliquid."""
    deployment, signal = _btc_delisted_on_hyperliquid(session, factory, "PAPER")
    stale = _adapter_listing_btc(ExecutionVenue.HYPERLIQUID)
    paper = PaperVenue(engine, SimulatedPriceFeed(seed=7))
    venues = VenueRegistry({ExecutionVenue.HYPERLIQUID: stale, ExecutionVenue.PAPER: paper})

    decision = route_signal(session, deployment, signal.id, "BTC", venues)

    assert decision.venue is None
    assert decision.reason == (
        "no preferred venue takes BTC; passed over HYPERLIQUID (market delisted), "
        "PAPER (paper is never a fallback for a live deployment)"
    )


class RacedListings(list):
    """Listings whose first reading lets another refresh write the same new markets first (a race)."""

    def __init__(self, items: list[Listing], engine) -> None:
        super().__init__(items)
        self.engine, self.raced = engine, False

    def __iter__(self):
        if not self.raced:
            self.raced = True
            with Session(self.engine) as other:
                refresh_venues(other, [ScriptedVenue(ExecutionVenue.PAPER, list(self))], NOW)
        return super().__iter__()


def test_two_refreshes_racing_on_new_markets_both_finish(session, engine):
    if engine.dialect.name == "sqlite":
        pytest.skip("one writer at a time: SQLite cannot interleave the two transactions")
    venue = ScriptedVenue(ExecutionVenue.PAPER)
    venue.listings = lambda: RacedListings([_listing("AAA"), _listing("BBB")], engine)  # type: ignore[method-assign]
    report = refresh_venues(session, [venue], NOW)
    assert report.venues[0].error is None and report.venues[0].added == []  # the other one added them
    assert [r.market for r in session.exec(select(VenueStatus).order_by(VenueStatus.market))] == [
        "AAA",
        "BBB",
    ]


def test_a_venue_answering_nonsense_is_reported_and_the_others_are_written(session, engine):
    broken = ScriptedVenue(ExecutionVenue.HYPERLIQUID)
    broken.listings = lambda: {}["universe"]  # type: ignore[method-assign]
    paper = PaperVenue(engine, SimulatedPriceFeed(seed=7))
    report = refresh_venues(session, [broken, paper], NOW)
    assert report.errors == {"HYPERLIQUID": "unexpected KeyError reading the venue's markets"}
    assert report.venues[1].added and report.venues[1].error is None
