"""Shared by the Telegram tests: settings pointing at the local Bot API server, and a bot that handles what
the test's user sends by the real long-poll path (`poll_once`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import MarketTick, Position, User
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, PositionStatus, Role, Side
from backend.notify.telegram.client import TelegramClient
from backend.notify.telegram.linking import new_link_code
from backend.notify.telegram.poller import poll_once
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.telegram_server import TelegramServer
from tests.wallets import TEST_SECRET_KEY


def bot_settings(engine: sa.Engine, server: TelegramServer, **extra: object) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        maxxit_secret_key=TEST_SECRET_KEY,
        public_url="http://testserver",
        telegram_bot_token=SecretStr(server.token),
        telegram_api_base_url=server.url,
        **extra,
    )


def current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


class Bot:
    """The bot as the worker runs it: each `say` is the user's message, then one poll that answers it."""

    def __init__(self, engine: sa.Engine, server: TelegramServer, settings: Settings) -> None:
        self.engine = engine
        self.server = server
        self.settings = settings
        self.venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})
        self.client = TelegramClient(server.url, server.token, timeout=10)

    def poll(self) -> int:
        return poll_once(self.engine, self.client, settings=self.settings, venues=self.venues, timeout=0)

    def say(self, chat_id: int, text: str, *, username: str | None = None) -> list[str]:
        """What the bot sent to the chat in answer (new messages only)."""
        before = len(self.server.messages_to(chat_id))
        self.server.user_sends(chat_id, text, username=username)
        self.poll()
        return [m["text"] for m in self.server.messages_to(chat_id)[before:]]

    def press(self, chat_id: int, message_id: int, data: str) -> None:
        self.server.user_presses(chat_id, message_id, data)
        self.poll()

    def link(self, session: Session, user: User, chat_id: int, username: str = "trader") -> list[str]:
        code = new_link_code(session, current(user), self.settings)
        return self.say(chat_id, f"/start {code.code}", username=username)


def open_position(
    session: Session, deployment_id: int, *, market: str = "BTC", side: Side = Side.LONG, **kw: object
) -> Position:
    position = Position(
        deployment_id=deployment_id,
        venue=ExecutionVenue.PAPER,
        market=market,
        side=side,
        size=kw.pop("size", Decimal("0.01")),
        entry_price=kw.pop("entry_price", Decimal("60000")),
        status=PositionStatus.OPEN,
        opened_at=utcnow() - timedelta(hours=1),
        **kw,
    )
    session.add(position)
    session.commit()
    session.refresh(position)
    return position


def tick(session: Session, market: str, price: str) -> None:
    session.add(MarketTick(venue=ExecutionVenue.PAPER, market=market, at=utcnow(), price=Decimal(price)))
    session.commit()
