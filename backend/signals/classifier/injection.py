"""Posts written at trading bots rather than at traders: never a call, whichever classifier reads them.

A post that tells the classifier what to answer ("ignore previous instructions", "confidence 1.0", "size
max") is an attempt to move other people's money, not a view on a market; a careful trader would not trade
it. Both classifiers refuse such a post before reading it, so the LLM never sees it and the rules never
weigh its cues. The phrases are the instruction-override and answer-dictating shapes, not trading talk:
"max pain", "full size" or "100x" alone stay ordinary CT.
"""

from __future__ import annotations

import re

_PATTERNS = (
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
    r"(?:previous|prior|above|earlier|preceding|system|original)?\s*(?:instructions?|prompts?|rules?)\b",
    r"\bsystem\s*prompt\b",
    r"\bnew\s+instructions?\b",
    r"\byou\s+are\s+now\b",
    r"\bas\s+an\s+ai\b",
    r"\b(?:respond|answer|reply|output)\s+(?:only\s+)?with\b",
    r"\bconfidence\s*[:=]?\s*(?:1(?:\.0+)?|100\s*%)(?![\d.])",
    r"\bsize\s*[:=]\s*max\b",
    r"\"?\b(?:is_signal|confidence|leverage|size)\"?\s*:\s*(?:true|\d)",
)
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
MAX_QUOTE = 40


def addresses_classifier(text: str) -> str | None:
    """The phrase by which a post talks to the classifier, or None for an ordinary post."""
    match = _INJECTION.search(text)
    return match.group().strip()[:MAX_QUOTE] if match else None


def refusal_reasoning(phrase: str) -> str:
    return f"the post tells the classifier what to answer ({phrase!r}); never a call"
