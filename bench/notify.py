"""Notifications from commit to delivery, through the real Huey consumer on Redis + PostgreSQL.

`--users` traders each have a webhook endpoint (a local receiver verifying every signature with
`standardwebhooks`) and a linked Telegram chat (the local Bot API server). `--events` position closes are
committed one transaction each, as trading commits them, each followed by the wake-up the app sends
(`deliver_notifications` on the queue). Each close becomes three deliveries: the inbox (delivered at
fan-out), Telegram and the webhook. The figures are database timestamps: event.created_at (written in the
committing transaction) -> delivery.delivered_at (recorded after the channel accepted it).

Two runs: a burst (all events committed as fast as one producer can) and a paced run (`--rate` events/s),
which is how trading produces them; the paced one shows the latency a user sees.

    .venv/bin/python -m bench.notify [--events 1000] [--users 50] [--rate 50] [--workers 4] [--no-telegram]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.db import make_engine
from backend.models import NotificationDelivery, NotificationEvent, TelegramLink, WebhookEndpoint
from backend.models.enums import Role
from backend.notify.events import EventType, emit
from backend.notify.webhooks import endpoints
from backend.notify.webhooks.secrets import secret_cipher
from bench.post_to_signal import consumer as huey_consumer
from bench.post_to_signal import platform
from tasks.app import build_huey
from tasks.notify import deliver_notifications
from tests.factories import Factory
from tests.telegram_server import DEFAULT_TOKEN, TelegramServer
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

console = Console()
CLOSE = {"market": "ETH", "side": "LONG", "size": "0.5", "entry_price": "3000", "exit_price": "3012.5",
         "realized_pnl": "6.25", "fees": "0.12", "reason": "TAKE_PROFIT", "agent_name": "Bench",
         "deployment_id": 1}  # fmt: skip


@dataclass
class Run:
    name: str
    latencies: dict[str, list[float]]  # channel -> seconds from commit to delivered
    wall_s: float  # first commit -> last delivery
    deliveries: int
    received: dict[str, int]  # what the servers saw
    drain_s: float = 0.0  # last commit -> last delivery: how far the consumer was behind the producer


def consumer(
    settings: Settings, log: Path, workers: int, telegram_url: str | None
) -> contextlib.AbstractContextManager[None]:
    """The bench's consumer, with the notification channels' settings (no email; Telegram if served)."""
    extra_env = {
        "MAXXIT_SECRET_KEY": TEST_SECRET_KEY,
        "VENUE_REFRESH_ON_START": "false",
        "SMTP_HOST": "",
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN if telegram_url else "",
        "TELEGRAM_API_BASE_URL": telegram_url or "https://api.telegram.org",
        "TELEGRAM_BOT_USERNAME": "maxxit_test_bot",
    }
    return huey_consumer(settings, log, workers, extra_env=extra_env, warm_up_s=3, stop_timeout_s=30)


def setup(engine, settings: Settings, users: int, receiver: WebhookReceiver, telegram: TelegramServer | None):
    keyed = Settings(database_url=settings.database_url, maxxit_secret_key=TEST_SECRET_KEY)
    ids = []
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        secret = None
        for n in range(users):
            row = factory.user()
            user = CurrentUser(row.id, row.address, Role.TRADER)
            created = endpoints.create_endpoint(session, user, receiver.url, [], f"bench {n}", keyed)
            secret = secret or created.secret
            # One receiver for all: every endpoint gets the first one's secret (the column is encrypted).
            if secret != created.secret:
                endpoint = session.get(WebhookEndpoint, created.endpoint.id)
                endpoint.secret_encrypted = secret_cipher(None, keyed).encrypt(endpoint.id, secret)
            if telegram is not None:
                chat_id = 10_000 + n
                telegram.user_sends(chat_id, "hello", username=f"trader{n}")  # the chat exists for the bot
                session.add(TelegramLink(user_id=row.id, chat_id=chat_id, username=f"trader{n}"))
            session.commit()
            ids.append(row.id)
    receiver.secret = secret
    return ids


def produce(engine, producer, user_ids: list[int], events: int, rate: float | None, tag: str) -> None:
    """One committed transaction per event, then the wake-up, as the app's commit hook sends it."""
    interval = 1 / rate if rate else 0.0
    start = time.monotonic()
    with Session(engine) as session:
        for n in range(events):
            if interval:
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            payload = {**CLOSE, "position_id": n}
            key = f"position.closed:{tag}:{n}"
            emit(
                session,
                user_id=user_ids[n % len(user_ids)],
                type=EventType.POSITION_CLOSED,
                key=key,
                payload=payload,
            )
            session.commit()
            producer.enqueue(deliver_notifications.s())


def wait_delivered(engine, expected: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    done = 0
    with Session(engine) as session:
        while time.monotonic() < deadline:
            done = session.exec(
                select(func.count())
                .select_from(NotificationDelivery)
                .where(col(NotificationDelivery.status) == "DELIVERED")
            ).one()
            if done >= expected:
                return
            time.sleep(0.1)
    raise TimeoutError(f"{done}/{expected} delivered after {timeout_s} s")


def collect(engine, name: str, tag: str, receiver: WebhookReceiver, telegram: TelegramServer | None) -> Run:
    with Session(engine) as session:
        rows = session.exec(
            select(
                NotificationDelivery.channel, NotificationEvent.created_at, NotificationDelivery.delivered_at
            )
            .join(NotificationEvent, col(NotificationEvent.id) == col(NotificationDelivery.event_id))
            .where(col(NotificationEvent.key).like(f"position.closed:{tag}:%"))
        ).all()
    latencies: dict[str, list[float]] = {}
    for channel, created, delivered in rows:
        latencies.setdefault(channel, []).append((delivered - created).total_seconds())
    first = min(created for _, created, _ in rows)
    last = max(delivered for _, _, delivered in rows)
    last_commit = max(created for _, created, _ in rows)
    sent_messages = _alerts(telegram)
    received = {"webhook": len(receiver.received), "telegram": sent_messages}
    wall = (last - first).total_seconds()
    return Run(name, latencies, wall, len(rows), received, (last - last_commit).total_seconds())


def _alerts(telegram: TelegramServer | None) -> int:
    """Alerts the bot sent (not its replies to the chats' "hello")."""
    if telegram is None:
        return 0
    return sum("Closed ETH" in str(call.get("text")) for call in telegram.calls_of("sendMessage"))


@contextlib.contextmanager
def receiving() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second in the paced run")
    parser.add_argument("--workers", type=int, default=4, help="consumer worker threads")
    parser.add_argument("--no-telegram", action="store_true", help="webhooks only")
    args = parser.parse_args()
    channels = 3 if not args.no_telegram else 2  # inbox + webhook (+ Telegram) per event
    table = Table(
        title=f"{args.events} position closes, {args.users} users, Redis + PostgreSQL, {args.workers} workers"
    )
    for column in ("run", "channel", "p50 s", "p95 s", "max s", "deliveries/s", "events/s", "drain s"):
        table.add_column(column, justify="right")
    with (
        platform("Redis + PostgreSQL") as settings,
        tempfile.TemporaryDirectory() as tmp,
        receiving() as receiver,
        contextlib.nullcontext(None) if args.no_telegram else TelegramServer() as telegram,
    ):
        engine = make_engine(settings.database_url)
        producer = build_huey(settings)
        producer._registry.register(deliver_notifications.task_class)
        user_ids = setup(engine, settings, args.users, receiver, telegram)
        runs = []
        with consumer(settings, Path(tmp) / "consumer.log", args.workers, telegram.url if telegram else None):
            for name, rate in (("burst", None), (f"paced {args.rate:g}/s", args.rate)):
                tag = name.split()[0]
                console.rule(name)
                before = len(receiver.received), _alerts(telegram)
                produce(engine, producer, user_ids, args.events, rate, tag)
                expected = args.events * channels * (len(runs) + 1)
                wait_delivered(engine, expected)
                run = collect(engine, name, tag, receiver, telegram)
                run.received["webhook"] -= before[0]
                run.received["telegram"] -= before[1]
                runs.append(run)
        engine.dispose()
    for run in runs:
        for channel in sorted(run.latencies):
            values = run.latencies[channel]
            table.add_row(
                run.name, channel, f"{statistics.median(values):.3f}", f"{pct(values, 0.95):.3f}",
                f"{max(values):.3f}", f"{run.deliveries / run.wall_s:.0f}", f"{args.events / run.wall_s:.0f}",
                f"{run.drain_s:.2f}",
            )  # fmt: skip
        console.print(
            f"{run.name}: the receiver verified {run.received['webhook']} webhooks, "
            f"the Bot API server got {run.received['telegram']} alerts"
        )
    console.print(table)


if __name__ == "__main__":
    main()
