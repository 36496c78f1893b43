"""Replaying the sample feed into the database: catch-up cap, no duplicates, unfollowed handles dropped,
and never a post for an account that is not a demo one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backend.models import CtPost
from backend.models.common import utcnow
from backend.models.enums import PostSource
from backend.signals.ingest import store_posts
from backend.signals.sources.sample_feed import SampleFeed, ingest_sample_feed
from backend.signals.types import RawPost
from tests.factories import Factory

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=20)
NOW = datetime(2026, 4, 2, 15, 0, 0, tzinfo=UTC)  # a slot time: (NOW - EPOCH) is a multiple of STEP


@pytest.fixture
def feed(tmp_path: Path) -> SampleFeed:
    rows = [
        {"handle": "alice", "text": "$BTC long 64k, stop 62.8k"},
        {"handle": "Bob", "text": "gm"},
        {"handle": "ghost", "text": "$SOL long 145"},  # nobody follows @ghost
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return SampleFeed(path, STEP, epoch=EPOCH)


@pytest.fixture
def accounts(factory: Factory) -> None:
    factory.ct_account(handle="alice", is_demo=True)
    factory.ct_account(handle="bob", is_demo=True)  # the file says "Bob": handles match regardless of case


def sample_posts(session: Session) -> list[CtPost]:
    return list(session.exec(select(CtPost).where(CtPost.source == PostSource.SAMPLE).order_by(CtPost.id)))


def test_first_run_replays_only_the_catch_up_window(session: Session, feed: SampleFeed, accounts) -> None:
    new_ids = ingest_sample_feed(session, feed, NOW, catch_up=timedelta(minutes=1))
    posts = sample_posts(session)
    assert [p.id for p in posts] == new_ids
    k = (NOW - EPOCH) // STEP
    # Slots k-2, k-1, k are due; whichever of them is @ghost's is dropped.
    expected = [f"sample-{i}" for i in (k - 2, k - 1, k) if i % 3 != 2]
    assert [p.external_id for p in posts] == expected
    assert posts[-1].posted_at == NOW
    assert all(p.posted_at.tzinfo is not None for p in posts)


def test_a_second_run_over_the_same_window_stores_nothing(
    session: Session, feed: SampleFeed, accounts
) -> None:
    first = ingest_sample_feed(session, feed, NOW)
    assert len(first) == 20  # 30 slots in 10 minutes, a third of them @ghost's
    assert ingest_sample_feed(session, feed, NOW) == []
    assert ingest_sample_feed(session, feed, NOW + timedelta(seconds=19)) == []
    assert len(sample_posts(session)) == 20


def test_later_runs_continue_from_the_newest_stored_post(
    session: Session, feed: SampleFeed, accounts
) -> None:
    ingest_sample_feed(session, feed, NOW, catch_up=timedelta(seconds=40))
    later = ingest_sample_feed(session, feed, NOW + timedelta(minutes=1), catch_up=timedelta(minutes=10))
    k = (NOW - EPOCH) // STEP
    stored = {p.id: p.external_id for p in sample_posts(session)}
    assert [stored[i] for i in later] == [f"sample-{i}" for i in (k + 1, k + 2, k + 3) if i % 3 != 2]


def test_a_restart_after_a_long_pause_does_not_flood(session: Session, feed: SampleFeed, accounts) -> None:
    ingest_sample_feed(session, feed, NOW)
    week_later = NOW + timedelta(days=7)
    new_ids = ingest_sample_feed(session, feed, week_later, catch_up=timedelta(minutes=2))
    assert len(new_ids) == 4  # 6 slots in two minutes, without @ghost's
    newest = sample_posts(session)[-1]
    assert newest.posted_at == week_later


def test_paused_and_removed_accounts_get_no_posts(
    session: Session, factory: Factory, feed: SampleFeed
) -> None:
    factory.ct_account(handle="alice", is_active=False, is_demo=True)
    factory.ct_account(handle="bob", removed_at=utcnow(), is_demo=True)
    assert ingest_sample_feed(session, feed, NOW) == []
    assert sample_posts(session) == []


def test_other_sources_do_not_move_the_sample_cursor(
    session: Session, factory: Factory, feed: SampleFeed, accounts
) -> None:
    carol = factory.ct_account(handle="carol")
    factory.post(carol, source=PostSource.MANUAL, posted_at=NOW)
    assert len(ingest_sample_feed(session, feed, NOW, catch_up=timedelta(minutes=1))) == 2


def test_a_real_account_with_a_sample_handle_never_gets_a_sample_post(
    session: Session, factory: Factory, feed: SampleFeed
) -> None:
    """Followed for real (not created by the demo seed), @alice must not be credited with made-up calls."""
    real = factory.ct_account(handle="alice")
    assert real.is_demo is False
    factory.ct_account(handle="bob", is_demo=True)
    new_ids = ingest_sample_feed(session, feed, NOW)
    assert len(new_ids) == 10  # only @Bob's third of the 30 slots
    assert {p.ct_account_id for p in sample_posts(session)} != {real.id}
    assert session.exec(select(CtPost).where(CtPost.ct_account_id == real.id)).all() == []


def test_store_posts_refuses_sample_posts_for_a_non_demo_account_whoever_calls_it(
    session: Session, factory: Factory
) -> None:
    real = factory.ct_account(handle="carol")
    post = RawPost(external_id="sample-1", handle="carol", text="$BTC long", posted_at=NOW)
    assert store_posts(session, PostSource.SAMPLE, [post]) == []
    assert store_posts(session, PostSource.X_API, [post]) != []  # the real source is stored as ever
    assert [p.source for p in session.exec(select(CtPost).where(CtPost.ct_account_id == real.id))] == [
        PostSource.X_API
    ]
