"""Classify and generate on SQLite and PostgreSQL: followers only, weights, thresholds, buckets, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.models import CtPost, Signal
from backend.models.enums import AgentStatus, Side, SignalStatus
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.classifier.rules import RuleClassifier
from backend.signals.features import feature_values, score
from backend.signals.market import bucket_start, indicators_at
from backend.signals.pipeline import classify_post, generate_signals
from backend.signals.sweep import find_unfinished
from tests.factories import Factory

FEED = SimulatedPriceFeed(seed=7)
MAX_AGE = timedelta(hours=2)
# Mid-bucket, so a few minutes either way stay in the same 6-hour bucket.
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
ONLY_TWEET = {"weight_tweet": 100, "weight_rsi": 0}


@pytest.fixture
def rules() -> RuleClassifier:
    return RuleClassifier()


@pytest.fixture
def account(factory: Factory):
    factory.tokens("BTC", "ETH", "SOL")
    return factory.ct_account(handle="VelvetBidTrades")


def _classified(session: Session, factory: Factory, account, rules, text: str, at: datetime = NOW) -> CtPost:
    post = factory.post(account, text=text, posted_at=at - timedelta(minutes=1))
    classify_post(session, post.id, rules)
    session.refresh(post)
    return post


def _signals(session: Session) -> list[Signal]:
    session.expire_all()
    return list(session.exec(select(Signal).order_by(col(Signal.agent_id))))


def test_classification_is_stored_once_with_its_classifier(session, factory, account, rules):
    post = factory.post(account, text="$SOL breaking out of the range, longing here", posted_at=NOW)

    assert classify_post(session, post.id, rules) is True
    session.refresh(post)
    assert (post.is_signal, post.token, post.side) == (True, "SOL", Side.LONG)
    assert post.classifier == rules.name and post.reasoning and 0 < post.confidence <= 1
    first = post.classified_at

    assert classify_post(session, post.id, rules) is True, "still waiting for its signals"
    session.refresh(post)
    assert post.classified_at == first


def test_a_non_signal_post_goes_no_further(session, factory, account, rules):
    post = _classified(session, factory, account, rules, "gm frens, coffee first then charts")
    agent = factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0"))

    assert post.is_signal is False
    assert generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW).signal_ids == []
    assert _signals(session) == [] and agent.id


def test_only_active_followers_get_signals(session, factory, account, rules):
    other = factory.ct_account()
    follower = factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0.1"))
    factory.agent(follows=[other], **ONLY_TWEET, signal_threshold=Decimal("0.1"))
    factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0.1"), status=AgentStatus.PAUSED)
    post = _classified(session, factory, account, rules, "Longing $ETH here, reclaim of 3k is bullish")

    generated = generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW)

    assert generated.agents_scored == 1, "the paused follower and the stranger are not scored"
    [signal] = _signals(session)
    assert signal.agent_id == follower.id and signal.post_id == post.id
    assert (signal.token, signal.side, signal.status) == ("ETH", Side.LONG, SignalStatus.PENDING)
    assert signal.bucket_start == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert set(signal.features) == {
        "tweet", "rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility"
    }  # fmt: skip


def test_threshold_decides_and_the_score_is_the_normalised_weighted_mean(session, factory, account, rules):
    weights = {"weight_tweet": 60, "weight_rsi": 20, "weight_momentum": 20}
    low = factory.agent(follows=[account], **weights, signal_threshold=Decimal("0.05"))
    factory.agent(follows=[account], **weights, signal_threshold=Decimal("0.999"))
    post = _classified(session, factory, account, rules, "$BTC short, this breakdown looks ugly. Shorting")

    generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW)

    [signal] = _signals(session)
    assert signal.agent_id == low.id and signal.side == Side.SHORT
    features = feature_values(
        indicators_at(session, FEED, "BTC", post.posted_at), Side.SHORT, post.confidence
    )
    expected = score(low.weights(), features)
    assert signal.score == expected
    assert {k: Decimal(v) for k, v in signal.features.items()} == features
    assert signal.weights == low.weights() and signal.threshold == low.signal_threshold


def test_an_agent_with_no_weights_never_signals(session, factory, account, rules):
    zero = {f"weight_{w}": 0 for w in ("tweet", "rsi")}
    factory.agent(follows=[account], **zero, signal_threshold=Decimal("0"))
    post = _classified(session, factory, account, rules, "$SOL longing, breakout confirmed")

    assert generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW).signal_ids == []


def test_one_signal_per_agent_token_and_bucket(session, factory, account, rules):
    agent = factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0.1"))
    texts = ["$SOL longing the breakout", "Adding more $SOL, bid", "$ETH long, clean reclaim"]
    for minutes, text in enumerate(texts):
        post = _classified(session, factory, account, rules, text, at=NOW + timedelta(minutes=minutes))
        generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW + timedelta(minutes=5))
    later = _classified(session, factory, account, rules, "$SOL long again", at=NOW + timedelta(hours=6))
    generate_signals(session, later.id, FEED, max_post_age=MAX_AGE, now=NOW + timedelta(hours=6))

    signals = _signals(session)
    assert {(s.token, s.bucket_start) for s in signals} == {
        ("SOL", bucket_start(NOW)),
        ("ETH", bucket_start(NOW)),
        ("SOL", bucket_start(NOW + timedelta(hours=6))),
    }
    assert all(s.agent_id == agent.id for s in signals) and len(signals) == 3


def test_generation_is_idempotent_and_stale_posts_are_not_traded(session, factory, account, rules):
    factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0.1"))
    post = _classified(session, factory, account, rules, "$BTC long, send it")
    first = generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW)
    again = generate_signals(session, post.id, FEED, max_post_age=MAX_AGE, now=NOW)
    assert len(first.signal_ids) == 1 and again.signal_ids == []

    old = _classified(session, factory, account, rules, "$ETH long here", at=NOW - timedelta(hours=3))
    stale = generate_signals(session, old.id, FEED, max_post_age=MAX_AGE, now=NOW)
    assert stale.signal_ids == [] and stale.note.startswith("stale")
    session.refresh(old)
    assert old.signals_generated_at == NOW and len(_signals(session)) == 1


def test_the_sweep_finds_what_a_crash_left_behind(session, factory, account, rules):
    grace = timedelta(seconds=30)
    unclassified = factory.post(account, text="$SOL long", ingested_at=NOW - timedelta(minutes=5))
    factory.post(account, text="$SOL long too", ingested_at=NOW - timedelta(seconds=5))  # still in flight
    unscored = _classified(session, factory, account, rules, "$ETH long, breakout")
    session.execute(
        sa.update(CtPost)
        .where(col(CtPost.id) == unscored.id)
        .values(classified_at=NOW - timedelta(minutes=2))
    )
    session.commit()

    found = find_unfinished(session, now=NOW, grace=grace)

    assert found.to_classify == [unclassified.id]
    assert found.to_generate == [unscored.id]


@pytest.mark.parametrize("same_post", [True, False], ids=["same-post", "two-posts-one-bucket"])
def test_racing_workers_store_one_signal(engine, session, factory, account, rules, same_post):
    if engine.dialect.name != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")
    agents = [
        factory.agent(follows=[account], **ONLY_TWEET, signal_threshold=Decimal("0.1")) for _ in range(3)
    ]
    first = _classified(session, factory, account, rules, "$SOL longing the breakout")
    second = first if same_post else _classified(session, factory, account, rules, "$SOL bid, long")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(post_id: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait(timeout=10)
                generate_signals(own, post_id, FEED, max_post_age=MAX_AGE, now=NOW)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(p.id,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    signals = _signals(session)
    assert sorted(s.agent_id for s in signals) == sorted(a.id for a in agents)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Render looking strong, adding", ("RENDER", Side.LONG)),
        ("RNDR breaking out, longing", ("RENDER", Side.LONG)),
        ("Lido looks heavy, shorting", ("LDO", Side.SHORT)),
        ("stopped out of my $SOL long", None),
        ("my $BTC short got stopped out", None),
        ("gonna render the video tonight, bullish on my editing skills", None),
    ],
)
def test_the_stored_registry_reads_aliases_and_exits(session, factory, text, expected):
    """Through classify_post, with the registry as known_tokens reads it from token_registry: a venue's
    registry may name a token by its symbol only ("RENDER": "RENDER"), and aliases still name it."""
    factory.tokens("BTC", "SOL", "RENDER", "LDO")
    account = factory.ct_account()
    post = factory.post(account, text=text, posted_at=NOW)

    classify_post(session, post.id, RuleClassifier())
    session.refresh(post)

    assert post.classifier == "rules-v4"
    got = (post.token, Side(post.side)) if post.is_signal else None
    assert got == expected, post.reasoning
