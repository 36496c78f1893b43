"""Deterministic post classifier: registry tokens, a weighted bullish/bearish lexicon, negation and hedges.

It is the fallback when the LLM is absent or failing, so it errs towards "not a signal": a missed call costs
less than a trade opened on a misread joke. Cues attach to the nearest token mention (clause boundaries
count as distance); the call is the token whose net cue weight clearly dominates, or none.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from backend.models.enums import Side
from backend.signals.aliases import name_aliases, ticker_alias
from backend.signals.classifier.injection import addresses_classifier, refusal_reasoning
from backend.signals.classifier.lexicon import (
    AMBIGUOUS_WORDS,
    ANSWERS,
    CASHTAG_ONLY,
    COLLECTIVE_WORDS,
    COMPARISON_WORDS,
    CROWD_WINDOW,
    CROWD_WORDS,
    DETERMINERS,
    ENTRY_WORDS,
    FLIP_NEGATORS,
    HEDGE_FACTOR,
    HEDGE_PHRASES,
    HEDGES,
    LONGEST_PHRASE,
    METRIC_WORDS,
    NEGATION_WINDOW,
    NEGATORS,
    NOT_COLLECTIVE_AFTER_ALL,
    OPENER_WINDOW,
    OPENERS,
    PHRASES,
    POSITION_NOUNS,
    POSITION_WORDS,
    RHETORICAL_OPENERS,
    WORD_NAME_COMPOUNDS,
)
from backend.signals.types import Classification, KnownTokens

RULES_NAME = "rules-v4"


# --- decision thresholds ----------------------------------------------------------------------------------
MIN_STRENGTH = 1.0  # net cue weight a call needs: one trend word, or half an explicit position
DOMINANCE = 2.0  # the called token's weight over the runner-up's; below it the post is ambiguous
SIDE_DOMINANCE = 1.5  # the winning side's weight over the other side's on the called token
CLAUSE_DISTANCE = 10  # words a clause boundary counts for when attaching a cue to a token
MAX_REASONING = 1000

_TOKEN_RE = re.compile(
    r"(?P<sentence>[!?;\n]+|\.{2,}|\.(?=\s|$))"
    r"|(?P<clause>,(?=\s)|(?i:\bbut\b))"
    r"|(?P<word>\$?[A-Za-z0-9][A-Za-z0-9'\u2019]*)"
    r"|(?P<emoji>[\U0001f680\U0001f4c8\U0001f4c9])"
)
# "ETH/BTC", "$SOL/$ETH": a ratio is a trade on its first token, so the second is dropped before reading.
_RATIO_RE = re.compile(r"(\$?[A-Z][A-Z0-9]{1,9})/\$?[A-Z][A-Z0-9]{1,9}\b")


@dataclass(frozen=True)
class _Word:
    raw: str  # as written: "$SOL", "Bitcoin", "don't"
    norm: str  # lower case, no "$", no apostrophes
    index: int
    clause: int
    sentence: int

    @property
    def bare(self) -> str:
        """As written, without "$" or a possessive: "$GMX's" -> "GMX", "Arbitrum's" -> "Arbitrum"."""
        word = self.raw.lstrip("$")
        return word[:-2] if len(word) > 3 and word[-2:].lower() in ("'s", "\u2019s") else word

    @property
    def base(self) -> str:
        return _normalise(self.bare)

    @property
    def is_cashtag(self) -> bool:
        return self.raw.startswith("$") and len(self.raw) > 1 and self.raw[1].isalpha()


@dataclass
class _Text:
    words: list[_Word]
    questions: set[int]  # sentences ending with "?"


@dataclass(frozen=True)
class _Mention:
    symbol: str
    known: bool
    start: int
    end: int  # exclusive word index
    clause: int
    compared: bool = False  # after "vs"/"against": the yardstick of a comparison, not what is called

    @property
    def label(self) -> str:
        return f"${self.symbol}"


@dataclass(frozen=True)
class _Cue:
    phrase: str
    side: Side
    weight: float
    index: int
    clause: int
    note: str = ""  # why it was discounted: negated, hedged, question, exit


@dataclass
class _Score:
    bull: float = 0.0
    bear: float = 0.0
    cues: list[_Cue] = field(default_factory=list)

    @property
    def net(self) -> float:
        return self.bull - self.bear

    def add(self, cue: _Cue) -> None:
        # a word cue repeated on one token says it once ("unlock after unlock"); emojis add up
        if cue.phrase.isascii() and any(c.phrase == cue.phrase and c.weight for c in self.cues):
            cue = _Cue(cue.phrase, cue.side, 0.0, cue.index, cue.clause, "repeated")
        self.cues.append(cue)
        if cue.side is Side.LONG:
            self.bull += cue.weight
        else:
            self.bear += cue.weight


def _normalise(word: str) -> str:
    return word.lstrip("$").lower().replace("'", "").replace("\u2019", "")


def _tokenise(text: str) -> _Text:
    words: list[_Word] = []
    questions: set[int] = set()
    clause = sentence = 0
    for match in _TOKEN_RE.finditer(_RATIO_RE.sub(r"\1", text)):
        kind, raw = match.lastgroup, match.group()
        if kind == "sentence":
            if "?" in raw:
                questions.add(sentence)
            sentence, clause = sentence + 1, clause + 1
        elif kind == "clause":
            clause += 1
        else:
            words.append(_Word(raw, _normalise(raw), len(words), clause, sentence))
    return _Text(words, questions)


# --- tokens -----------------------------------------------------------------------------------------------


_Pattern = tuple[tuple[str, ...], str, bool]  # (name words, symbol, case-sensitive)


def _name_patterns(known_tokens: KnownTokens) -> dict[str, list[_Pattern]]:
    """Registry names and name aliases by their first word in lower case, longest first. A registry name
    that is an ordinary word keeps its case ("Render", not "render"); so does an alias the table writes
    capitalised ("Fetch", "Maker")."""
    # a name that is just the symbol ("OP": "OP", as a venue may list it) is read as the symbol is
    written = [
        (name, symbol, name.lower() in AMBIGUOUS_WORDS)
        for symbol, name in known_tokens.items()
        if name != symbol
    ]
    written += [(alias, symbol, alias != alias.lower()) for alias, symbol in name_aliases(known_tokens)]
    patterns: set[_Pattern] = set()
    for name, symbol, sensitive in written:
        parts = tuple(w.group() for w in re.finditer(r"[A-Za-z0-9]+", name))
        if parts:
            patterns.add((parts if sensitive else tuple(p.lower() for p in parts), symbol.upper(), sensitive))
    by_first: dict[str, list[_Pattern]] = {}
    for pattern in sorted(patterns, key=lambda p: (-len(p[0]), p)):
        by_first.setdefault(pattern[0][0].lower(), []).append(pattern)
    return by_first


def _plain_symbol(word: _Word, known_tokens: KnownTokens) -> str | None:
    """A registry symbol (or an old ticker of one) written without "$": upper case unless the ticker is an
    English word even when shouted ("NOT", "ME"); other cases only when not an English word at all."""
    written = word.bare.upper()
    upper = written if written in known_tokens else ticker_alias(written, known_tokens)
    if upper is None or not any(c.isalpha() for c in upper):
        return None
    if word.bare == written:
        return upper if written not in CASHTAG_ONLY else None
    if word.base not in AMBIGUOUS_WORDS and len(word.base) >= 3:
        return upper
    return None


def _name_at(words: list[_Word], i: int, patterns: dict[str, list[_Pattern]]) -> tuple[str, int]:
    for parts, symbol, sensitive in patterns.get(words[i].base, []):
        window = words[i : i + len(parts)]
        if len(window) == len(parts) and not any(w.is_cashtag for w in window):
            # only the last word of a name may carry a possessive: "Render Network's"
            seen = (*(w.raw for w in window[:-1]), window[-1].bare)
            if not sensitive:
                seen = tuple(_normalise(w) for w in seen)
            if seen == parts and not (sensitive and _word_use(words, i + len(parts))):
                return symbol, len(parts)
    return "", 0


def _word_use(words: list[_Word], after: int) -> bool:
    """Whether a capitalised name that is an ordinary word is used as the word: a verb before an article
    ("Render the scene", "Fetch the data") or a compound noun ("Ripple effect")."""
    if after >= len(words) or words[after].clause != words[after - 1].clause:
        return False
    return words[after].norm in DETERMINERS or words[after].norm in WORD_NAME_COMPOUNDS


def _mentions(words: list[_Word], known_tokens: KnownTokens) -> list[_Mention]:
    registry = {s.upper(): n for s, n in known_tokens.items()}
    patterns = _name_patterns(registry)
    mentions: list[_Mention] = []
    i = 0
    while i < len(words):
        word = words[i]
        compared = i > 0 and words[i - 1].norm in COMPARISON_WORDS
        if word.is_cashtag:
            symbol = word.base.upper()
            symbol = symbol if symbol in registry else ticker_alias(symbol, registry) or symbol
            mentions.append(_Mention(symbol, symbol in registry, i, i + 1, word.clause, compared))
            i += 1
            continue
        symbol, length = _name_at(words, i, patterns)
        if not symbol:
            symbol, length = _plain_symbol(word, registry) or "", 1
        if symbol:
            mentions.append(_Mention(symbol, True, i, i + length, word.clause, compared))
        i += max(length, 1)
    # "btc dominance going up": the token measures the market, it is not what is called
    return [m for m in mentions if m.end >= len(words) or words[m.end].norm not in METRIC_WORDS]


def mentioned_tokens(text: str, known_tokens: KnownTokens) -> list[str]:
    """The registry symbols a post names (cashtag, plain ticker, name or alias), in order of first mention."""
    seen: dict[str, None] = {}
    for mention in _mentions(_tokenise(text).words, known_tokens):
        if mention.known:
            seen.setdefault(mention.symbol, None)
    return list(seen)


# --- cues -------------------------------------------------------------------------------------------------


def _phrase_at(words: list[_Word], i: int, taken: set[int]) -> tuple[tuple[str, ...], int]:
    """The longest lexicon phrase starting at word i inside one clause and over no token mention."""
    for n in range(min(LONGEST_PHRASE, len(words) - i), 0, -1):
        span = words[i : i + n]
        if span[-1].clause != span[0].clause or any(w.index in taken for w in span):
            continue
        key = tuple(w.norm for w in span)
        if key in PHRASES:
            return key, n
    return (), 0


def _negation(words: list[_Word], i: int, hidden: set[int]) -> str:
    """Return "flip" after "no longer", "negated" after another negator close before, else ""."""
    window = [w for w in words[max(0, i - NEGATION_WINDOW) : i] if w.clause == words[i].clause]
    norms = tuple(w.norm for w in window if w.index not in hidden)
    for flip in FLIP_NEGATORS:
        if any(norms[k : k + len(flip)] == flip for k in range(len(norms))):
            return "flip"
    return "negated" if any(n in NEGATORS for n in norms) else ""


def _sentence_notes(text: _Text) -> dict[int, str]:
    """Per sentence: "question" (not rhetorical), "hedged", or nothing."""
    by_sentence: dict[int, list[str]] = {}
    for w in text.words:
        by_sentence.setdefault(w.sentence, []).append(w.norm)
    notes: dict[int, str] = {}
    for sentence, norms in by_sentence.items():
        pairs = set(pairwise(norms))
        answered = set(by_sentence.get(sentence + 1, ["-"])) <= ANSWERS
        rhetorical = answered or any(tuple(norms[: len(o)]) == o for o in RHETORICAL_OPENERS)
        if sentence in text.questions and not rhetorical:
            notes[sentence] = "question"
        elif HEDGES.intersection(norms) or any(p in pairs for p in HEDGE_PHRASES):
            notes[sentence] = "hedged"
    return notes


def _cues(text: _Text, taken: set[int]) -> tuple[list[_Cue], bool]:
    """Every directional cue with its effective weight, and whether the post speaks of an exit.

    An exit phrase anywhere in a clause makes its position nouns reports, before it or after it:
    "closed my $ETH long" and "$ETH long closed" alike; an exit sentence naming no token reports on the
    sentence before it ("$ETH long. Stopped out.").
    """
    words, notes = text.words, _sentence_notes(text)
    found: list[tuple[int, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        key, n = _phrase_at(words, i, taken)
        if n:
            found.append((i, key))
        i += max(n, 1)
    hidden: set[int] = set()  # words inside neutral phrases ("not gonna lie") negate nothing
    exit_clauses: set[int] = set()
    named = {words[t].sentence for t in taken}
    clauses_of: dict[int, set[int]] = {}
    for w in words:
        clauses_of.setdefault(w.sentence, set()).add(w.clause)
    for i, key in found:
        kind = PHRASES[key][2]
        if kind == "neutral":
            hidden.update(range(i, i + len(key)))
        elif kind == "exit":
            exit_clauses.add(words[i].clause)
            if words[i].sentence not in named:  # "$ETH long. Stopped out.": the exit of the sentence before
                exit_clauses.update(clauses_of.get(words[i].sentence - 1, ()))
    cues = [
        _weigh(" ".join(key), side, weight, words, i, hidden, notes, exit_clauses)
        for i, key in found
        for side, weight, kind in [PHRASES[key]]
        if kind == "cue" and side is not None and not _deferred(key, i, found, words)
    ]
    # "Shorting $HYPE here is suicide": a verdict overrules the cues before it in its sentence
    verdicts = [i for i, key in found if PHRASES[key][2] == "verdict"]
    cues = [
        _Cue(c.phrase, c.side, 0.0, c.index, c.clause, "negated")
        if any(v > c.index and words[v].sentence == words[c.index].sentence for v in verdicts)
        else c
        for c in cues
    ]
    return cues, bool(exit_clauses)


def _deferred(
    key: tuple[str, ...], i: int, found: list[tuple[int, tuple[str, ...]]], words: list[_Word]
) -> bool:
    """An entry word ("scaling into", "I'm in") defers to a position noun in its clause: the noun says the
    side."""
    if " ".join(key) not in ENTRY_WORDS:
        return False
    return any(
        " ".join(other) in POSITION_NOUNS and words[j].clause == words[i].clause
        for j, other in found
        if j != i
    )


def _crowd_before(words: list[_Word], i: int) -> bool:
    """Whether other traders are the subject of the position word at i ("everyone is already short")."""
    window = words[max(i - CROWD_WINDOW - 1, 0) : i]
    return any(w.norm in CROWD_WORDS and w.clause == words[i].clause for w in window)


def _opened(words: list[_Word], i: int) -> bool:
    """Whether the position noun at i is being opened ("trimmed and opened a small short")."""
    before = words[max(0, i - OPENER_WINDOW) : i]
    return any(w.norm in OPENERS and w.clause == words[i].clause for w in before)


def _weigh(
    phrase: str,
    side: Side,
    weight: float,
    words: list[_Word],
    i: int,
    hidden: set[int],
    notes: dict[int, str],
    exit_clauses: set[int],
) -> _Cue:
    word = words[i]
    if phrase in POSITION_NOUNS and word.clause in exit_clauses and not _opened(words, i):
        return _Cue(phrase, side, 0.0, i, word.clause, "exit")
    if phrase in POSITION_WORDS and _crowd_before(words, i):
        return _Cue(phrase, side, 0.0, i, word.clause, "others' positioning")
    negation = _negation(words, i, hidden)
    if negation == "negated":
        return _Cue(phrase, side, 0.0, i, word.clause, "negated")
    if negation == "flip" and phrase in POSITION_WORDS:  # "no longer long $SUI": out of it, not short
        return _Cue(phrase, side, 0.0, i, word.clause, "exit")
    if negation == "flip":
        side = Side.SHORT if side is Side.LONG else Side.LONG
    note = notes.get(word.sentence, "")
    factor = {"question": 0.0, "hedged": HEDGE_FACTOR}.get(note, 1.0)
    return _Cue(phrase, side, weight * factor, i, word.clause, note or ("flipped" if negation else ""))


# --- decision ---------------------------------------------------------------------------------------------


def _nearest(cue: _Cue, mentions: list[_Mention], starts: list[int]) -> _Mention:
    """The mention closest to the cue; mentions are in text order, so only the neighbours can be closest."""

    def distance(m: _Mention) -> tuple[int, int]:
        words_apart = m.start - cue.index if m.start > cue.index else cue.index - (m.end - 1)
        return abs(words_apart) + CLAUSE_DISTANCE * abs(m.clause - cue.clause), m.start

    at = bisect_left(starts, cue.index)
    return min(mentions[max(at - 1, 0) : at + 1], key=distance)


def _scores(cues: list[_Cue], mentions: list[_Mention]) -> dict[_Mention | None, _Score]:
    """Cue weight per symbol; keyed by the first mention of each symbol (None: no token at all)."""
    first: dict[str, _Mention] = {}
    for m in mentions:
        first.setdefault(m.symbol, m)
    starts = [m.start for m in mentions]
    scores: dict[_Mention | None, _Score] = {}
    for cue in cues:
        key = first[_nearest(cue, mentions, starts).symbol] if mentions else None
        scores.setdefault(key, _Score()).add(cue)
    return scores


def _quote(cues: Iterable[_Cue]) -> str:
    return ", ".join(f"'no longer {c.phrase}'" if c.note == "flipped" else f"'{c.phrase}'" for c in cues)


def _collective(words: list[_Word]) -> bool:
    """Whether the post speaks of its tokens together ("both", "all"), not of a time ("all year")."""
    return any(
        w.norm in COLLECTIVE_WORDS
        and not (
            w.norm == "all"
            and w.index + 1 < len(words)
            and words[w.index + 1].norm in NOT_COLLECTIVE_AFTER_ALL
        )
        for w in words
    )


def _is_call(score: _Score) -> bool:
    strong, weak = max(score.bull, score.bear), min(score.bull, score.bear)
    return abs(score.net) >= MIN_STRENGTH and strong >= SIDE_DOMINANCE * weak


def _confidence(net: float) -> Decimal:
    value = min(max(0.45 + 0.1 * abs(net), 0.5), 0.95)
    return Decimal(str(round(value, 2)))


class RuleClassifier:
    """Reads a post with the lexicon above; the same text and registry always give the same answer."""

    name = RULES_NAME

    def classify(self, text: str, known_tokens: KnownTokens) -> Classification:
        if phrase := addresses_classifier(text):
            return Classification(False, None, None, Decimal(0), refusal_reasoning(phrase), self.name)
        parsed = _tokenise(text)
        mentions = _mentions(parsed.words, known_tokens)
        cues, has_exit = _cues(parsed, {i for m in mentions for i in range(m.start, m.end)})
        return self._decide(parsed, mentions, cues, has_exit)

    def _decide(
        self, parsed: _Text, mentions: list[_Mention], cues: list[_Cue], has_exit: bool
    ) -> Classification:
        # "$LTC breaking out vs BTC": cues attach to what is compared, not to the yardstick
        scores = _scores(cues, [m for m in mentions if not m.compared] or mentions)
        calls = sorted(
            ((m, s) for m, s in scores.items() if m is not None and _is_call(s)),
            key=lambda ms: (-abs(ms[1].net), ms[0].start),
        )
        if not calls:
            return self._no(_why_not(mentions, cues, scores, has_exit))
        mention, score = calls[0]
        symbols = {m.symbol for m in mentions}
        if len(symbols) > 1 and _collective(parsed.words):
            return self._no(f"one call on several tokens ({', '.join(sorted(symbols))}); ambiguous")
        if len(calls) > 1 and abs(score.net) < DOMINANCE * abs(calls[1][1].net):
            return self._no(f"calls on both {mention.label} and {calls[1][0].label}; ambiguous")
        if not mention.known:
            return self._no(f"the call is on {mention.label}, which is not in the token registry")
        return self._signal(mention, score)

    def _signal(self, mention: _Mention, score: _Score) -> Classification:
        side = Side.LONG if score.net > 0 else Side.SHORT
        counted = [c for c in score.cues if c.side is side and c.weight > 0]
        mood = "bullish" if side is Side.LONG else "bearish"
        reasoning = f"{mood} cues {_quote(counted)} on {mention.label}"
        ignored = [c for c in score.cues if c.note in ("negated", "hedged", "question", "exit")]
        if ignored:
            reasoning += f"; discounted {', '.join(f'{c.phrase!r} ({c.note})' for c in ignored)}"
        return Classification(
            True, mention.symbol, side, _confidence(score.net), reasoning[:MAX_REASONING], self.name
        )

    def _no(self, reasoning: str) -> Classification:
        return Classification(False, None, None, Decimal(0), reasoning[:MAX_REASONING], self.name)


def _why_not(
    mentions: list[_Mention], cues: list[_Cue], scores: dict[_Mention | None, _Score], has_exit: bool
) -> str:
    if not mentions:
        return "names no token" + (f" (cues {_quote(cues)})" if cues else "")
    unknown = sorted({m.label for m in mentions if not m.known})
    if unknown and all(not m.known for m in mentions):
        return f"only tokens outside the registry: {', '.join(unknown)}"
    noted = sorted({c.note for c in cues if c.note})
    if noted:
        return f"{'/'.join(noted)} cues only: {_quote(c for c in cues if c.note)}"
    if has_exit:
        return "talks of leaving a position, not a new call"
    mixed = [f"{m.label} ({_quote(s.cues)})" for m, s in scores.items() if m is not None and s.cues]
    if mixed:
        return f"cues too weak or mixed: {'; '.join(mixed)}"
    return f"no directional cue for {', '.join(sorted({m.label for m in mentions}))}"
