"""`make run` is lively: within minutes the demo's exits fire, each kind, and open positions stay bounded.

The demo's live part runs in-process on a simulated clock (`backend.demo.simulation`), over a demo seeded
with a short past (its 90-day replay is the seed's own test's business), with the default settings but
one monitor cycle a minute: the simulated feed's price changes once a minute, so a cycle every 5 s sees
the same prices and closes the same positions, only more slowly.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

from backend.config import Settings
from backend.demo.seed import seed_demo
from backend.demo.simulation import DemoSimulation
from backend.models.enums import CloseReason
from backend.prices.simulated import SimulatedPriceFeed

START = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
MINUTES = 10
MAX_OPEN = 70  # positions open at once; the untuned demo had over 200 open after half an hour


def test_stops_trailing_stops_and_take_profits_fire_within_minutes(engine, session):
    settings = Settings(_env_file=None, monitor_interval_seconds=60)
    feed = SimulatedPriceFeed(seed=settings.price_feed_seed)
    seed_demo(session, now=START, feed=feed, settings=settings, history=timedelta(hours=2))

    minutes = DemoSimulation(engine, settings, START).run(MINUTES)

    closes = Counter()
    for minute in minutes:
        closes.update(minute.closes)
    assert sum(m.opens for m in minutes) > 0
    for reason in (CloseReason.STOP_LOSS, CloseReason.TRAILING_STOP, CloseReason.TAKE_PROFIT):
        assert closes[reason.value] >= 1, (reason, closes)
    assert max(m.open_positions for m in minutes) < MAX_OPEN
