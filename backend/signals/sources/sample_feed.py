"""The bundled sample CT feed, replayed as a steady trickle so `make run` shows a live pipeline.

Slot k sits at `epoch + k * interval` and carries line `k % n` of the file as post `sample-{k}`. Every
process computes the same slots and ids, so restarts and a second worker are harmless: the
(source, external_id) unique key stores each slot once.

A line quotes prices as placeholders, `{BTC}` for BTC's price at the slot's time and `{BTC*1.04}` for a
level relative to it, rendered from the price feed (`backend.prices.quotes`): a post's entry, stop and
target sit next to the price the paper venue fills at.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from backend.config import Settings
from backend.models import CtPost
from backend.models.enums import PostSource
from backend.prices.feed import PriceFeed
from backend.prices.quotes import QuoteError, placeholders, render_quotes
from backend.prices.simulated import SimulatedPriceFeed, UnknownMarket
from backend.runtime import runtime_for
from backend.signals.ingest import MAX_POST_CHARS, store_posts
from backend.signals.types import RawPost

logger = logging.getLogger(__name__)

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_FIELDS = {"handle", "text"}


class SampleFeedError(ValueError):
    """The feed file is unreadable or a line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class SampleLine:
    handle: str
    text: str


class SampleFeed:
    """The feed file as an endless, deterministic schedule of posts."""

    def __init__(
        self,
        path: Path,
        interval: timedelta,
        epoch: datetime = DEFAULT_EPOCH,
        prices: PriceFeed | None = None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("the sample feed interval must be positive")
        _require_aware(epoch, "epoch")
        self.path = Path(path)
        self.interval = interval
        self.epoch = epoch.astimezone(UTC)
        self.prices: PriceFeed = prices or SimulatedPriceFeed()
        self._lines: tuple[SampleLine, ...] | None = None

    def __repr__(self) -> str:
        return f"SampleFeed(path={str(self.path)!r}, interval={self.interval!r}, epoch={self.epoch!r})"

    @property
    def lines(self) -> tuple[SampleLine, ...]:
        """The file's posts, read and validated on first use (building the feed does no I/O)."""
        if self._lines is None:
            self._lines = load_sample_lines(self.path)
        return self._lines

    def slot_time(self, k: int) -> datetime:
        return self.epoch + k * self.interval

    def post(self, k: int) -> RawPost:
        """Slot k's post, its prices quoted from the feed at the slot's time.

        Raises `UnknownMarket` (or the feed's `ValueError`) when the feed cannot price a market it quotes.
        """
        line = self.lines[k % len(self.lines)]
        at = self.slot_time(k)
        text = render_quotes(line.text, lambda symbol: self.prices.price_at(symbol, at))
        return RawPost(external_id=f"sample-{k}", handle=line.handle, text=text, posted_at=at)

    def posts_between(self, start: datetime, end: datetime) -> list[RawPost]:
        """The posts of the slots in (start, end], oldest first; a slot whose prices the feed cannot
        quote (a market it does not list) is left out rather than posted with a made-up price."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        first = max(0, (start - self.epoch) // self.interval + 1)
        last = (end - self.epoch) // self.interval
        posts = []
        for k in range(first, last + 1):
            try:
                posts.append(self.post(k))
            except SampleFeedError:
                raise
            except (UnknownMarket, ValueError) as e:
                logger.warning("sample feed: slot %s left out, its prices cannot be quoted (%s)", k, e)
        return posts


def load_sample_lines(path: Path) -> tuple[SampleLine, ...]:
    """Every non-blank line of the JSONL file as a `SampleLine`; a bad line raises `SampleFeedError`."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SampleFeedError(f"cannot read the sample feed {path}: {e}") from e
    lines = [
        _parse_line(f"{path}:{number}", text)
        for number, text in enumerate(raw.splitlines(), start=1)
        if text.strip()
    ]
    if not lines:
        raise SampleFeedError(f"the sample feed {path} holds no posts")
    return tuple(lines)


def _parse_line(where: str, text: str) -> SampleLine:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SampleFeedError(f"{where}: not valid JSON ({e.msg})") from e
    if not isinstance(obj, dict) or set(obj) != _FIELDS:
        raise SampleFeedError(f'{where}: expected an object with exactly "handle" and "text"')
    handle, body = obj["handle"], obj["text"]
    if not isinstance(handle, str) or not _HANDLE.match(handle):
        raise SampleFeedError(f"{where}: handle must be 1-32 letters, digits or _ (got {handle!r})")
    if not isinstance(body, str) or not body.strip():
        raise SampleFeedError(f"{where}: text must be a non-empty string")
    if len(body) > MAX_POST_CHARS:
        raise SampleFeedError(f"{where}: text is longer than {MAX_POST_CHARS} characters")
    try:
        placeholders(body)
    except QuoteError as e:
        raise SampleFeedError(f"{where}: {e}") from e
    return SampleLine(handle=handle, text=body)


def ingest_sample_feed(
    session: Session, feed: SampleFeed, now: datetime, catch_up: timedelta = timedelta(minutes=10)
) -> list[int]:
    """Store the feed's posts due since the last stored one; returns the new post ids.

    At most `catch_up` is replayed, so a restart after a long pause adds a few posts, not a flood.
    """
    _require_aware(now, "now")
    newest = session.exec(select(func.max(CtPost.posted_at)).where(CtPost.source == PostSource.SAMPLE)).one()
    start = now - catch_up
    if newest is not None and newest > start:
        start = newest
    posts = feed.posts_between(start, now)
    return store_posts(session, PostSource.SAMPLE, posts) if posts else []


def build_sample_feed(settings: Settings, prices: PriceFeed | None = None) -> SampleFeed | None:
    """The feed `make run` replays, quoting `prices` (the settings' price feed when not given), or None when
    the sample feed is switched off."""
    if not settings.sample_feed_enabled:
        return None
    return SampleFeed(
        settings.sample_feed_path,
        timedelta(seconds=settings.sample_feed_interval_seconds),
        prices=prices or runtime_for(settings).price_feed,
    )


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
