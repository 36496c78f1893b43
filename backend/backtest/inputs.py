"""A backtest's inputs: the followed accounts' posts in the window, and each post's eight feature values.

Posts are read as the generator found them: their stored classification (or, when asked, a fresh one by the
classifier configured now). A post's features are the live generator's (`signals.indicators` over the hourly
candles that had closed by the post's hour, then `signals.features`), so a backtest scores a post exactly as
live scoring did. They do not depend on the strategy, so they are computed once per post and kept in memory:
rerunning with other weights or another threshold only re-scores.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from backend.backtest.candles import HOUR, CandleSource, floor_to
from backend.models import CtAccount, CtPost
from backend.models.enums import Side
from backend.prices.simulated import UnknownMarket
from backend.signals.features import feature_values
from backend.signals.indicators import compute_indicators
from backend.signals.market import CANDLE_COUNT
from backend.signals.types import Classification, Classifier, KnownTokens

FEATURE_CACHE_SIZE = 200_000
NEUTRAL_CONFIDENCE = Decimal("0.5")  # the generator's stand-in for a post stored without one


@dataclass(frozen=True)
class PostCall:
    """One post that calls a trade: who, when, what, how sure, and when the generator would have seen it."""

    post_id: int
    account_id: int
    author: str
    text: str
    posted_at: datetime
    decided_at: datetime  # classified_at (the generator runs then), or posted_at when reclassified here
    token: str
    side: Side
    confidence: Decimal


def load_calls(
    session: Session,
    account_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    known_tokens: KnownTokens | None = None,
    classifier: Classifier | None = None,
) -> list[PostCall]:
    """The calls the followed accounts made in [start, end), in time order.

    With `classifier`, every post is read again by it (stored readings ignored), against `known_tokens`.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return []
    # The columns a call needs, not whole rows: building 1,500 ORM objects cost more than the query.
    query = (
        sa.select(*_CALL_COLUMNS, col(CtAccount.handle).label("handle"))
        .join(CtAccount, col(CtAccount.id) == col(CtPost.ct_account_id))
        .where(
            col(CtPost.ct_account_id).in_(ids), col(CtPost.posted_at) >= start, col(CtPost.posted_at) < end
        )
        .order_by(col(CtPost.posted_at), col(CtPost.id))
    )
    if classifier is None:
        query = query.where(col(CtPost.is_signal).is_(True))
    calls = []
    for post in session.execute(query).all():
        handle = post.handle
        if classifier is None:
            call = stored_call(post, handle)
        else:
            reading = READINGS.reading(classifier, post.id, post.text, known_tokens or {})
            call = None
            if reading.is_signal and reading.token is not None and reading.side is not None:
                call = replace(
                    stored_call(post, handle, token=reading.token, side=reading.side),
                    confidence=reading.confidence or NEUTRAL_CONFIDENCE,
                    decided_at=post.posted_at,  # read now, as if on arrival
                )
        if call is not None:
            calls.append(call)
    calls.sort(key=lambda c: (c.decided_at, c.post_id))
    return calls


class StoredPost(Protocol):
    """What a call is read from: a `CtPost`, or a row of its `_CALL_COLUMNS`."""

    id: int | None
    ct_account_id: int
    text: str
    posted_at: datetime
    classified_at: datetime | None
    token: str | None
    side: str | None
    confidence: Decimal | None


_CALL_COLUMNS = tuple(
    col(getattr(CtPost, name))
    for name in ("id", "ct_account_id", "text", "posted_at", "classified_at", "token", "side", "confidence")
)


def stored_call(
    post: StoredPost, author: str = "", *, token: str | None = None, side: str | None = None
) -> PostCall | None:
    """The call a classified post makes, as the live generator reads it (a missing confidence counts as
    neutral, as there); None when it names no token and side."""
    token, side = token or post.token, side or post.side
    if token is None or side is None:
        return None
    return PostCall(
        post_id=post.id,
        account_id=post.ct_account_id,
        author=author,
        text=post.text,
        posted_at=post.posted_at,
        decided_at=post.classified_at or post.posted_at,
        token=token.upper(),
        side=Side(side),
        confidence=post.confidence or NEUTRAL_CONFIDENCE,
    )


class FeatureCache:
    """Each call's features, keyed by everything they depend on; least recently used dropped first."""

    def __init__(self, size: int = FEATURE_CACHE_SIZE) -> None:
        self._size = size
        self._values: OrderedDict[tuple, dict[str, Decimal] | None] = OrderedDict()
        self._lock = threading.Lock()

    def features(self, call: PostCall, candles: CandleSource) -> dict[str, Decimal] | None:
        """The live generator's features for the call; None when the market has too little history."""
        key = (candles.name, call.token, call.side, call.confidence, floor_to(call.posted_at, HOUR))
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = features_at(call, candles)
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


def features_at(call: PostCall, candles: CandleSource) -> dict[str, Decimal] | None:
    """Indicators from the `CANDLE_COUNT` hourly candles that closed by the post's hour, as
    `signals.market.indicators_at` reads them live; nothing from after the post can reach them."""
    end = floor_to(call.posted_at, HOUR)
    try:
        history = candles.hourly(call.token, end - CANDLE_COUNT * HOUR, end)
        indicators = compute_indicators(call.token, history)
    except (UnknownMarket, ValueError):  # no such market, or a gap in its stored history
        return None
    return feature_values(indicators, call.side, call.confidence)


FEATURES = FeatureCache()


class ReadingCache:
    """A classifier's reading of each post, kept per classifier (name and version) and post: reclassifying a
    90-day window with an LLM costs one request per post the first time, and nothing when rerun."""

    def __init__(self, size: int = FEATURE_CACHE_SIZE) -> None:
        self._size = size
        self._readings: OrderedDict[tuple[str, int, str], Classification] = OrderedDict()
        self._lock = threading.Lock()

    def reading(self, classifier: Classifier, post_id: int, text: str, known: KnownTokens) -> Classification:
        key = (classifier.name, post_id, text)
        with self._lock:
            if key in self._readings:
                self._readings.move_to_end(key)
                return self._readings[key]
        reading = classifier.classify(text, known)
        with self._lock:
            self._readings[key] = reading
            while len(self._readings) > self._size:
                self._readings.popitem(last=False)
        return reading

    def has(self, classifier: Classifier, post_id: int, text: str) -> bool:
        """Whether this post's reading by `classifier` is kept: asking for it costs nothing."""
        with self._lock:
            return (classifier.name, post_id, text) in self._readings


READINGS = ReadingCache()
