"""Test support for the monitor: a price feed the test drives, and paper positions opened the real way."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from backend.execution.service import Executor
from backend.models import Position
from backend.models.enums import ExecutionVenue, Side, SignalStatus
from backend.prices.simulated import Candle, SimulatedPriceFeed
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.factories import Factory

CIPHER = WalletCipher(b"k" * 32)


class DrivenFeed:
    """Prices the test sets per market (others from the simulated feed); counts `mids` requests."""

    name = "driven"

    def __init__(self) -> None:
        self.prices: dict[str, Decimal] = {}
        self.mids_requests = 0
        self._fallback = SimulatedPriceFeed(seed=7)

    def set(self, market: str, price: Decimal | str | int) -> None:
        self.prices[market] = Decimal(price)

    def price_at(self, market: str, at: datetime) -> Decimal:
        return self.prices.get(market) or self._fallback.price_at(market, at)

    def mids(self, at: datetime, markets: list[str] | None = None) -> dict[str, Decimal]:
        self.mids_requests += 1
        return {m: self.price_at(m, at) for m in (markets or list(self._fallback.markets))}

    def candles(self, market: str, start: datetime, count: int, interval: timedelta) -> list[Candle]:
        return self._fallback.candles(market, start, count, interval)


def paper_registry(engine: Engine, feed: DrivenFeed) -> VenueRegistry:
    return VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, feed, slippage_bps=Decimal(0))})


def open_paper_position(
    session: Session, factory: Factory, venues: VenueRegistry, deployment, agent, market: str, side: Side
) -> Position:
    """A signal executed by the real executor on the paper venue: the position and the venue book agree."""
    signal = factory.signal(agent, token=market, side=side, status=SignalStatus.PENDING, score=Decimal("0.8"))
    outcome = Executor(venues, CIPHER).execute(session, signal.id, deployment.id)
    assert outcome.position_id is not None, outcome
    return session.get(Position, outcome.position_id)
