"""The demo's live part (`make run` after the seed) in-process, on a simulated clock.

What the worker does, minute by minute, with the same services its tasks call: the sample feed is
ingested every minute (`tasks.signals.ingest_sample_feed_task`), each new post classified by the rules and
scored for its followers (`classify_post`, `generate_signals`), each post's signals handed to their
deployments and executed on the paper venue (`tasks.execution.fan_out`), and the monitor runs a cycle every
`MONITOR_INTERVAL_SECONDS` (`tasks.monitor.monitor_task`), its closes finished right after the cycle
(`close_position_task`). Only the clock differs: it is a variable that `step` moves on, so an hour of the
demo runs in seconds and the same seed gives the same trades. Used by `bench/demo_liveliness.py` and the
liveliness test to see how often the demo's exits fire.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.billing.trade_fee import fee_policy
from backend.config import Settings
from backend.execution.dispatch import deployments_for_signals
from backend.execution.service import Executor
from backend.models import Position
from backend.models.enums import ExecutionVenue, PositionStatus
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.classifier.rules import RuleClassifier
from backend.signals.pipeline import classify_post, generate_signals
from backend.signals.sources.sample_feed import SampleFeed, ingest_sample_feed
from backend.trading.fills import FillModel
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher


@dataclass
class Minute:
    """What happened in one simulated minute (ending at `at`)."""

    at: datetime
    posts: int = 0
    signals: int = 0
    opens: int = 0
    closes: Counter[str] = field(default_factory=Counter)  # by close reason
    open_positions: int = 0  # at the end of the minute


class DemoSimulation:
    """The demo worker's loop over a seeded database; `run(minutes)` returns one `Minute` per minute."""

    def __init__(self, engine: sa.Engine, settings: Settings, start: datetime) -> None:
        self.engine = engine
        self.now = start.replace(second=0, microsecond=0)
        self.start = self.now
        clock = self.clock
        feed = SimulatedPriceFeed(seed=settings.price_feed_seed)
        fills = FillModel.from_bps(settings.paper_slippage_bps, settings.paper_taker_fee_bps)
        paper = PaperVenue(engine, feed, fills=fills, clock=clock)
        self.venues = VenueRegistry({ExecutionVenue.PAPER: paper})
        # Paper deployments have no agent wallet: the cipher is never asked to decrypt anything.
        cipher = WalletCipher(hashlib.sha256(b"maxxit demo simulation").digest())
        self.fees = fee_policy(settings)
        self.cipher = cipher
        self.executor = Executor(self.venues, cipher, clock=clock, fees=self.fees)
        hours = settings.monitor_time_limit_hours
        self._closing: list[int] = []
        self.monitor = Monitor(
            self.venues,
            close=self._closing.append,
            time_limit=timedelta(hours=hours) if hours else None,
            holder="demo-simulation",
            clock=clock,
        )
        self.sample = SampleFeed(
            settings.sample_feed_path, timedelta(seconds=settings.sample_feed_interval_seconds), prices=feed
        )
        self.classifier = RuleClassifier()
        self.max_post_age = timedelta(minutes=settings.signal_max_post_age_minutes)
        self.tick = timedelta(seconds=settings.monitor_interval_seconds)

    def clock(self) -> datetime:
        return self.now

    def run(self, minutes: int, on_minute=None) -> list[Minute]:
        """Simulate `minutes` minutes; `on_minute(minute)` is called after each (a progress bar)."""
        out = []
        with Session(self.engine, expire_on_commit=False) as session:
            for _ in range(minutes):
                minute = self._minute(session)
                out.append(minute)
                if on_minute is not None:
                    on_minute(minute)
        return out

    def _minute(self, session: Session) -> Minute:
        end = self.now + timedelta(minutes=1)
        minute = Minute(at=end)
        before = self.now
        # Huey's periodic tasks run at the top of the minute: ingest first, the monitor loops through it.
        self._ingest(session, minute)
        while self.now < end:
            self.monitor.run_cycle(session)
            self._finish_closes()
            self.now = min(end, self.now + self.tick)
        minute.opens = session.exec(
            select(func.count()).where(col(Position.opened_at) >= before, col(Position.opened_at) < end)
        ).one()
        reasons = session.exec(
            select(Position.close_reason, func.count())
            .where(col(Position.closed_at) >= before, col(Position.closed_at) < end)
            .group_by(Position.close_reason)
            .order_by(Position.close_reason)
        ).all()
        minute.closes.update({str(reason): n for reason, n in reasons})
        minute.open_positions = session.exec(
            select(func.count()).where(Position.status != PositionStatus.CLOSED)
        ).one()
        session.commit()
        return minute

    def _ingest(self, session: Session, minute: Minute) -> None:
        post_ids = ingest_sample_feed(session, self.sample, self.now)
        minute.posts = len(post_ids)
        for post_id in post_ids:
            if not classify_post(session, post_id, self.classifier):
                continue
            signal_ids = generate_signals(
                session, post_id, self.sample.prices, max_post_age=self.max_post_age, now=self.now
            ).signal_ids
            if not signal_ids:
                continue
            minute.signals += len(signal_ids)
            pairs = deployments_for_signals(session, signal_ids)
            session.commit()
            self.executor.execute_pairs(session, pairs)

    def _finish_closes(self) -> None:
        closing, self._closing[:] = list(self._closing), []
        for position_id in closing:
            with Session(self.engine, expire_on_commit=False) as session:
                finish_close(
                    session, position_id, venues=self.venues, cipher=self.cipher, fees=self.fees, now=self.now
                )
