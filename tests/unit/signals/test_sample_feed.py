"""The sample feed's schedule: deterministic slots and ids, (start, end] windows, wrap-around, bad lines."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from backend.config import Settings
from backend.demo.catalog import CT_ACCOUNTS
from backend.prices.markets import MARKETS
from backend.prices.quotes import parse_price, placeholders
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.sources.sample_feed import (
    DEFAULT_EPOCH,
    SampleFeed,
    SampleFeedError,
    build_sample_feed,
    load_sample_lines,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=20)


def write_feed(path: Path, *rows: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def three(tmp_path: Path) -> SampleFeed:
    path = write_feed(
        tmp_path / "feed.jsonl",
        {"handle": "alice", "text": "$BTC long 64k"},
        {"handle": "bob", "text": "gm"},
        {"handle": "carol", "text": "$ETH short 3,150"},
    )
    return SampleFeed(path, STEP, epoch=EPOCH)


def test_slots_carry_lines_in_order_and_wrap_around(three: SampleFeed) -> None:
    posts = three.posts_between(EPOCH, EPOCH + 5 * STEP)
    assert [p.external_id for p in posts] == [f"sample-{k}" for k in range(1, 6)]
    assert [p.handle for p in posts] == ["bob", "carol", "alice", "bob", "carol"]
    assert [p.posted_at for p in posts] == [EPOCH + k * STEP for k in range(1, 6)]
    assert posts[2].text == "$BTC long 64k"
    assert all(p.posted_at.tzinfo is not None for p in posts)


def test_window_is_open_at_start_and_closed_at_end(three: SampleFeed) -> None:
    at_slot = EPOCH + 10 * STEP
    assert [p.external_id for p in three.posts_between(at_slot, at_slot + STEP)] == ["sample-11"]
    assert [p.external_id for p in three.posts_between(at_slot - timedelta(microseconds=1), at_slot)] == [
        "sample-10"
    ]
    assert three.posts_between(at_slot, at_slot) == []
    assert three.posts_between(at_slot + timedelta(seconds=1), at_slot + timedelta(seconds=19)) == []
    assert three.posts_between(at_slot + STEP, at_slot) == []


def test_slot_zero_is_the_epoch_and_nothing_comes_before_it(three: SampleFeed) -> None:
    before = EPOCH - timedelta(days=1)
    assert [p.external_id for p in three.posts_between(before, EPOCH)] == ["sample-0"]
    assert three.posts_between(before, EPOCH - timedelta(seconds=1)) == []


def test_two_feeds_on_the_same_file_produce_the_same_posts(three: SampleFeed) -> None:
    other = SampleFeed(three.path, STEP, epoch=EPOCH)
    start = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
    mine = three.posts_between(start, start + timedelta(minutes=3))
    assert mine == other.posts_between(start, start + timedelta(minutes=3))
    k = (start - EPOCH) // STEP + 1
    assert mine[0].external_id == f"sample-{k}"
    assert mine[0].handle == ["alice", "bob", "carol"][k % 3]
    assert len(mine) == 9


def test_time_zones_other_than_utc_mean_the_same_instant(three: SampleFeed) -> None:
    from zoneinfo import ZoneInfo

    start = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    local = start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert three.posts_between(local, local + STEP) == three.posts_between(start, start + STEP)


def test_naive_times_and_bad_intervals_are_refused(three: SampleFeed, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="start must be a timezone-aware"):
        three.posts_between(datetime(2026, 1, 2), EPOCH + STEP)
    with pytest.raises(ValueError, match="positive"):
        SampleFeed(three.path, timedelta(0))
    with pytest.raises(ValueError, match="epoch"):
        SampleFeed(three.path, STEP, epoch=datetime(2026, 1, 1))


def test_the_file_is_read_on_first_use_not_when_the_feed_is_built(tmp_path: Path) -> None:
    feed = SampleFeed(tmp_path / "missing.jsonl", STEP)  # builds fine
    with pytest.raises(SampleFeedError, match=r"cannot read the sample feed .*missing\.jsonl"):
        feed.posts_between(EPOCH, EPOCH + STEP)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["alice", "gm"]', 'expected an object with exactly "handle" and "text"'),
        ('{"handle": "alice"}', 'expected an object with exactly "handle" and "text"'),
        (
            '{"handle": "alice", "text": "gm", "kind": "noise"}',
            'expected an object with exactly "handle" and "text"',
        ),
        ('{"handle": "al ice", "text": "gm"}', "handle must be"),
        ('{"handle": 7, "text": "gm"}', "handle must be"),
        ('{"handle": "alice", "text": "   "}', "text must be a non-empty string"),
        ('{"handle": "alice", "text": null}', "text must be a non-empty string"),
        (json.dumps({"handle": "alice", "text": "x" * 4001}), "text is longer than 4000 characters"),
    ],
)
def test_a_bad_line_is_named_in_the_error(tmp_path: Path, line: str, message: str) -> None:
    path = write_feed(tmp_path / "feed.jsonl", {"handle": "alice", "text": "gm"}, "", line)
    with pytest.raises(SampleFeedError, match=re.escape(f"feed.jsonl:3: {message}")):
        load_sample_lines(path)
    feed = SampleFeed(path, STEP)
    with pytest.raises(SampleFeedError, match=":3:"):
        feed.posts_between(EPOCH, EPOCH + STEP)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "feed.jsonl", "", "  ")
    with pytest.raises(SampleFeedError, match="holds no posts"):
        load_sample_lines(path)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "feed.jsonl", "", {"handle": "alice", "text": "gm"}, "")
    assert [line.handle for line in load_sample_lines(path)] == ["alice"]


def test_build_sample_feed_follows_the_settings(tmp_path: Path) -> None:
    assert build_sample_feed(Settings(sample_feed_enabled=False)) is None
    path = tmp_path / "feed.jsonl"
    feed = build_sample_feed(Settings(sample_feed_path=path, sample_feed_interval_seconds=45))
    assert feed is not None
    assert (feed.path, feed.interval, feed.epoch) == (path, timedelta(seconds=45), DEFAULT_EPOCH)
    prices = SimulatedPriceFeed(seed=3)
    assert build_sample_feed(Settings(sample_feed_path=path), prices).prices is prices


# Quoted prices come from the price feed at the slot's time.


def test_placeholders_are_rendered_from_the_feed_at_the_slot_time(tmp_path: Path) -> None:
    path = write_feed(
        tmp_path / "feed.jsonl", {"handle": "alice", "text": "$BTC short {BTC}, stop {BTC*1.02}"}
    )
    prices = SimulatedPriceFeed(seed=7)
    feed = SampleFeed(path, timedelta(days=1), epoch=EPOCH, prices=prices)
    for k in (0, 1, 200):
        btc = prices.price_at("BTC", feed.slot_time(k))
        entry, stop = re.fullmatch(r"\$BTC short (\S+), stop (\S+)", feed.post(k).text).groups()
        assert abs(parse_price(entry) / btc - 1) < 0.005
        assert abs(parse_price(stop) / (btc * D("1.02")) - 1) < 0.005
    assert feed.post(0).text != feed.post(200).text, "the quotes follow the market"


def test_a_slot_the_feed_cannot_price_is_left_out(tmp_path: Path) -> None:
    path = write_feed(
        tmp_path / "feed.jsonl",
        {"handle": "alice", "text": "$NOPE long {NOPE}"},
        {"handle": "bob", "text": "$ETH long {ETH}"},
    )
    feed = SampleFeed(path, STEP, epoch=EPOCH)
    posts = feed.posts_between(EPOCH - STEP, EPOCH + 3 * STEP)
    assert [p.external_id for p in posts] == ["sample-1", "sample-3"]


@pytest.mark.parametrize("text", ["long {btc}", "long {BTC", "stop {BTC*}", "a } here", "{BTC*-1}"])
def test_a_brace_that_is_not_a_placeholder_is_a_bad_line(tmp_path: Path, text: str) -> None:
    path = write_feed(tmp_path / "feed.jsonl", {"handle": "alice", "text": text})
    with pytest.raises(SampleFeedError, match=r"feed\.jsonl:1: braces must hold a placeholder"):
        load_sample_lines(path)


# The bundled file: what `make run` replays.

DEMO_HANDLES = {handle for handle, _, _ in CT_ACCOUNTS}
REGISTRY = tuple(MARKETS)


@pytest.fixture(scope="module")
def bundled() -> SampleFeed:
    feed = build_sample_feed(Settings())
    assert feed is not None
    return feed


def test_the_bundled_feed_parses_and_uses_only_demo_handles(bundled: SampleFeed) -> None:
    lines = bundled.lines
    assert len(lines) >= 160
    assert {line.handle for line in lines} == DEMO_HANDLES
    assert all(len(line.text) <= 260 for line in lines), "rendered quotes still fit a post"
    assert len({line.text for line in lines}) == len(lines), "no post is repeated"


def test_the_bundled_feed_interleaves_authors_and_mentions_every_market(bundled: SampleFeed) -> None:
    handles = [line.handle for line in bundled.lines]
    assert all(a != b for a, b in itertools.pairwise(handles))
    text = "\n".join(line.text for line in bundled.lines)
    for symbol in REGISTRY:
        assert re.search(rf"\b{symbol}\b", text), symbol
    # Roughly half the lines name a registry token: calls, shorts and negations among chatter.
    with_token = [
        t for t in (line.text for line in bundled.lines) if re.search(rf"\b({'|'.join(REGISTRY)})\b", t)
    ]
    assert 0.4 <= len(with_token) / len(bundled.lines) <= 0.7


def test_the_bundled_feed_has_calls_non_calls_and_exit_reports(bundled: SampleFeed) -> None:
    texts = [line.text.lower() for line in bundled.lines]
    exits = [t for t in texts if re.search(r"stopped out|took profit|closed|out of my|invalidated", t)]
    negations = [t for t in texts if re.search(r"not (touching|buying|shorting|longing|adding|fading)", t)]
    assert len(exits) >= 12 and len(negations) >= 12
    calls = {match.upper() for t in texts for match in re.findall(r"\$(\w+) (?:long|short) ", t)}
    called = calls & set(REGISTRY)
    assert len(called) >= 35, sorted(set(REGISTRY) - called)


# Prices in the bundled posts: every quote is a placeholder, rendered next to the feed's price.

# A literal number that reads as a price: with k, a decimal point or thousands, or after a price word.
_LITERAL_PRICE = re.compile(
    r"(?<![\w.])(\d[\d,]*\.\d+|\d+k|\d{1,3}(?:,\d{3})+)(?![\d%])"
    r"|(?:long|short|at|stop|target|entry|invalidation|from|to|above|below)\s+\d+(?![\d.,%\w])",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"(?<![\w.$/])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?k?)(?![\w%/]|\.\d)")


def _named(text: str) -> set[str]:
    return {symbol for symbol in REGISTRY if re.search(rf"\b{symbol}\b", text, re.IGNORECASE)}


def test_the_bundled_feed_quotes_no_fixed_price(bundled: SampleFeed) -> None:
    for line in bundled.lines:
        literal = re.sub(r"\{[^}]*\}", "", line.text)
        if _named(literal) or _aliases(literal):
            assert not _LITERAL_PRICE.search(literal), line.text
        for symbol, factor in placeholders(line.text):
            assert symbol in _named(line.text) or symbol in _aliases(line.text), line.text
            assert D("0.75") <= factor <= D("1.4"), line.text


def _aliases(text: str) -> set[str]:
    names = {spec.name.lower(): symbol for symbol, spec in MARKETS.items()} | {"dogwifhat": "WIF"}
    return {symbol for name, symbol in names.items() if name in text.lower()}


@pytest.mark.parametrize("start", [DEFAULT_EPOCH, datetime(2027, 7, 14, 3, 0, 20, tzinfo=UTC)])
def test_every_quoted_price_sits_next_to_the_feed_price_at_the_slot(
    bundled: SampleFeed, start: datetime
) -> None:
    """A full round of the file: the price a call quotes is the feed's within a rounding, its stops and
    targets a few to a few tens of percent away: never the 50% gap of fixed prices beside a moving feed."""
    prices = bundled.prices
    first = (start - bundled.epoch) // bundled.interval
    quoted = 0
    for k in range(first, first + len(bundled.lines)):
        line = bundled.lines[k % len(bundled.lines)]
        marks = placeholders(line.text)
        if not marks:
            continue
        at = bundled.slot_time(k)
        post = bundled.post(k)
        literal_numbers = _QUOTE.findall(re.sub(r"\{[^}]*\}", "", line.text))
        numbers = list(_QUOTE.findall(post.text))
        for literal in literal_numbers:
            numbers.remove(literal)
        assert len(numbers) == len(marks), (line.text, post.text)
        for number, (symbol, factor) in zip(numbers, marks, strict=True):
            price = prices.price_at(symbol, at)
            ratio = parse_price(number) / price
            assert abs(ratio / factor - 1) < D("0.006"), (post.text, symbol, price)
            assert D("0.7") < ratio < D("1.45"), (post.text, symbol, price)
        if any(factor == 1 for _, factor in marks):
            quoted += 1
    assert quoted >= 150
