"""Plain values passed between the pipeline's parts: a fetched post, a classification, a classifier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from backend.models.enums import Side

# Upper-case token symbol -> its name ("BTC" -> "Bitcoin"), from the token registry.
KnownTokens = Mapping[str, str]


@dataclass(frozen=True)
class RawPost:
    """A post as a source delivers it, before it is stored."""

    external_id: str
    handle: str
    text: str
    posted_at: datetime


@dataclass(frozen=True)
class Classification:
    """What a classifier read in a post. `classifier` names the classifier and its version."""

    is_signal: bool
    token: str | None
    side: Side | None
    confidence: Decimal
    reasoning: str
    classifier: str

    def __post_init__(self) -> None:
        if self.is_signal and (self.token is None or self.side is None):
            raise ValueError("a signal names its token and side")
        if not Decimal(0) <= self.confidence <= Decimal(1):
            raise ValueError("confidence is a fraction in [0, 1]")


class Classifier(Protocol):
    name: str

    def classify(self, text: str, known_tokens: KnownTokens) -> Classification: ...
