"""Signal pipeline tasks: ingest -> classify -> generate, event-driven, with periodic ingestion and a sweep.

Each task takes ids, opens a session and calls one backend service. The classifier and X client are built
once per worker process (the X client remembers its rate-limit reset between polls); the price feed is the
process's, from `backend.runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from functools import cache

from huey import crontab

from backend.config import get_settings
from backend.db import session_scope
from backend.models.common import utcnow
from backend.runtime import price_feed
from backend.signals.classifier import build_classifier
from backend.signals.errors import PostNotFound
from backend.signals.market import refresh_indicators
from backend.signals.pipeline import classify_post, generate_signals
from backend.signals.sources.sample_feed import SampleFeed, build_sample_feed, ingest_sample_feed
from backend.signals.sources.x_api import XApiClient, build_x_client, poll_x_accounts
from backend.signals.sweep import find_unfinished
from backend.signals.tokens import known_tokens
from backend.signals.types import Classifier
from tasks.app import huey
from tasks.execution import execute_signals_task

logger = logging.getLogger(__name__)


@cache
def _classifier() -> Classifier:
    return build_classifier(get_settings())


@cache
def _sample_feed() -> SampleFeed | None:
    return build_sample_feed(get_settings(), price_feed())


@cache
def _x_client() -> XApiClient | None:
    return build_x_client(get_settings())


class HueyPipelineEvents:
    """Stored posts go straight to the classifier queue."""

    def posts_stored(self, post_ids: Sequence[int]) -> None:
        for post_id in post_ids:
            classify_post_task(post_id)


pipeline_events = HueyPipelineEvents()


@huey.task(retries=3, retry_delay=2)
def classify_post_task(post_id: int) -> bool:
    """Classify one post; a signal goes on to the generator at once."""
    try:
        with session_scope() as session:
            needs_signals = classify_post(session, post_id, _classifier())
    except PostNotFound:
        logger.warning("post %s vanished before classification", post_id)
        return False
    if needs_signals:
        generate_signals_task(post_id)
    return needs_signals


@huey.task(retries=3, retry_delay=2)
def generate_signals_task(post_id: int) -> list[int]:
    """Score one signal post for every follower; each new signal goes on to execution at once."""
    max_age = timedelta(minutes=get_settings().signal_max_post_age_minutes)
    try:
        with session_scope() as session:
            signal_ids = generate_signals(session, post_id, price_feed(), max_post_age=max_age).signal_ids
    except PostNotFound:
        logger.warning("post %s vanished before scoring", post_id)
        return []
    if signal_ids:
        execute_signals_task(signal_ids)  # together: their deployments share chunks
    return signal_ids


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("ingest-sample-feed")
def ingest_sample_feed_task() -> int:
    """Replay the bundled feed: the demo's steady trickle of posts."""
    feed = _sample_feed()
    if feed is None:
        return 0
    with session_scope() as session:
        new_ids = ingest_sample_feed(session, feed, utcnow())
    pipeline_events.posts_stored(new_ids)
    return len(new_ids)


@huey.periodic_task(crontab(minute=f"*/{get_settings().x_api_poll_minutes}"))
@huey.lock_task("poll-x-api")
def poll_x_api_task() -> int:
    """Fetch new posts of every followed account from X (when a bearer token is set)."""
    client = _x_client()
    if client is None:
        return 0
    with session_scope() as session:
        new_ids = poll_x_accounts(session, client, utcnow())
    pipeline_events.posts_stored(new_ids)
    return len(new_ids)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("signal-sweep")
def sweep_signal_pipeline_task() -> int:
    """Hand out again whatever a crash or a lost message left unfinished."""
    grace = timedelta(seconds=get_settings().signal_sweep_grace_seconds)
    with session_scope() as session:
        unfinished = find_unfinished(session, now=utcnow(), grace=grace)
    for post_id in unfinished.to_classify:
        classify_post_task(post_id)
    for post_id in unfinished.to_generate:
        generate_signals_task(post_id)
    handed_out = len(unfinished.to_classify) + len(unfinished.to_generate)
    if handed_out:
        logger.info("sweep handed out %d unfinished post(s)", handed_out)
    return handed_out


@huey.periodic_task(crontab(minute="5"))
@huey.lock_task("refresh-indicators")
def refresh_indicators_task() -> int:
    """Hourly indicator rows for every registry token, so the market table fills without posts too."""
    with session_scope() as session:
        return refresh_indicators(session, price_feed(), sorted(known_tokens(session)), utcnow())
