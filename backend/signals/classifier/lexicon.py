"""The rule classifier's vocabulary: weighted bullish/bearish cues, negators, hedges and ambiguous tickers."""

from __future__ import annotations

from backend.models.enums import Side

# --- vocabulary -------------------------------------------------------------------------------------------
# Phrases are normalised: lower case, apostrophes dropped ("don't" -> "dont"). The longest phrase wins at each
# position, so "higher lows" is bullish although "lows" alone would not be.

# Explicit positions weigh 2 (a trader saying what they do); trend talk weighs 1; emojis a half.
BULLISH: dict[str, float] = {
    "long": 2, "longing": 2, "longed": 2, "longs": 1.5, "went long": 2, "max long": 2.5, "still long": 2,
    "opened a long": 2, "bid": 2, "bidding": 2, "bid it": 2, "buy": 1.5, "buying": 1.5, "bought": 1,
    "loaded": 2, "loading": 2, "accumulating": 2, "accumulate": 1.5, "adding": 1, "added": 1,
    "adding more": 1.5, "aped": 1.5, "aping": 1.5, "send it": 2, "sends": 1, "sending": 1,
    "about to send": 1.5, "breakout": 1, "breaking out": 1, "break out": 1, "broke out": 1,
    "higher": 1, "higher highs": 1, "higher lows": 1, "goes up": 1, "going up": 1, "only goes up": 1.5,
    "up only": 1.5, "moon": 1, "mooning": 1, "to the moon": 1.5, "pump": 1, "pumping": 1,
    "undervalued": 1, "bullish": 1.5, "ripping": 1, "printing": 0.5, "new highs": 1, "strongest": 1,
    "short squeeze": 1, "dont fade": 1.5, "dont sleep on": 1.5, "\U0001f680": 0.5, "\U0001f4c8": 0.5,
    "leg up": 1, "bottom is in": 2, "bottomed": 1, "bottoming": 1, "accumulation": 1.5,
    "going to rip": 1.5, "about to rip": 1.5, "gonna rip": 1.5, "squeeze": 1, "squeeze incoming": 1.5,
    "everyones short": 1, "everyone is short": 1, "flipped long": 2, "flipping long": 2, "flip long": 1.5,
    # entries in the words traders use for them: getting in, scaling in, filled bids, stacking
    "im in": 2, "i am in": 2, "were in": 2, "got in": 1.5, "in at": 1.5, "entered": 1.5,
    "scaling into": 2, "scaling in": 2, "scaled into": 2, "scaled in": 2, "filled my bids": 2,
    "filled my bid": 2, "bids filled": 2, "bid filled": 2, "got filled": 1.5, "dca": 1, "dcaing": 1.5,
    "stacking": 1.5, "stacked": 1, "buy the dip": 1.5, "bought the dip": 1.5, "buying the dip": 1.5,
    "btfd": 1.5, "load up": 1.5, "loading up": 2, "loaded up": 2, "picked up": 1, "grabbed": 1,
    "starter": 1, "backing up the truck": 2, "aped in": 2, "apeing": 1.5, "is a gift": 1, "a gift": 1,
    "about to run": 1.5, "ready to run": 1.5, "gonna run": 1.5, "ready to go": 1, "wants higher": 1,
    "never fading": 1.5, "never fade": 1.5, "not fading": 1, "reversal": 1, "reclaimed": 1, "reclaiming": 1,
    "bounce incoming": 1.5, "oversold": 1, "ath soon": 1.5, "bullish reversal": 2, "new ath": 1,
    "parabolic": 1,
}  # fmt: skip

BEARISH: dict[str, float] = {
    "short": 2, "shorting": 2, "shorted": 2, "shorts": 1.5, "taking a short": 2, "opened a short": 2,
    "fade": 2, "fading": 2, "faded": 2, "top is in": 2, "topped": 1.5, "dump": 1.5, "dumping": 1.5,
    "dumped": 1, "dump incoming": 2, "capitulation": 1, "get out": 1, "pump is over": 2, "breakdown": 1,
    "breaking down": 1,
    "broke down": 1, "break down": 1, "lower": 1, "lower lows": 1, "lower highs": 1, "new lows": 1,
    "going lower": 1, "goes down": 1, "going down": 1, "rekt": 1, "bearish": 1.5, "cooked": 1.5,
    "heavy": 1, "weak": 1, "dead money": 1, "bleeding": 1, "bleed": 1, "double top": 1.5, "lost": 0.5,
    "overvalued": 1, "its over": 1, "sell": 0.5, "selling": 0.5, "sold": 0.5, "rug": 1, "rugged": 1,
    "ngmi": 0.5, "unlock": 0.5, "everyones long": 1, "everyone is long": 1, "\U0001f4c9": 0.5,
    "flipped short": 2, "flipping short": 2, "flip short": 1.5,
    # shorts in the words traders use for them
    "short entered": 2, "shorted it": 2, "sell the rip": 1.5, "selling rips": 1.5, "selling the rip": 1.5,
    "short the rip": 2, "short the bounce": 2, "shorting the bounce": 2, "short the retest": 2,
    "bought puts": 2, "buying puts": 2, "bearish reversal": 2,
    "rejection": 1, "rejected": 1, "overbought": 1, "wants lower": 1, "leg down": 1,
    "lost support": 1, "lost the level": 1, "toppy": 1, "top signal": 1.5, "exit liquidity": 1,
    "nuking": 1, "dead cat bounce": 1.5,
}  # fmt: skip

# Phrases that contain a cue word but say nothing about direction; matching them first hides the cue.
NEUTRAL: frozenset[str] = frozenset(
    {
        "long time", "long term", "long story", "long way", "how long", "so long", "as long as",
        "long weekend", "long run", "long day", "short term", "in short", "short of", "fall short",
        "bid ask", "higher timeframe", "lower timeframe", "higher time frame", "lower time frame",
        "every pump", "this pump", "the pump", "not gonna lie", "bags are heavy", "heavy bags",
        "im in cash", "im in profit", "im in the green", "im in the red", "im in loss", "were in cash",
        "in at the top", "short covering", "shorts covering", "entry ticket", "i am in cash",
        "send me", "send help", "dca bot", "stop to entry", "stop at entry", "stop to breakeven",
        "starter pack", "entered the chat", "dumped on", "get dumped on", "getting dumped on",
    }
)  # fmt: skip

# Leaving a position, or reporting one, is not a new call: "took profit on my $SOL long" is not bullish,
# "my $BTC short got stopped out" not bearish. A future version may read these as exit hints.
EXITS: frozenset[str] = frozenset(
    {
        "took profit", "took profits", "taking profit", "taking profits", "take profit", "closed",
        "closing", "stopped out", "exited", "exiting", "back to cash", "going to cash", "went to cash",
        "cut my", "invalidated", "out of my", "im out", "got out", "booked", "booking", "banked",
        "cashed out", "secured profits", "locked in", "trimmed", "trimming", "took some off", "took the loss",
        "took a loss", "taking the loss", "flattened", "flattening", "flat now", "now flat", "went flat",
        "got liquidated", "liquidated on", "got liqd", "tp hit", "tp1 hit", "tp2 hit", "tp3 hit", "hit tp",
        "hit my tp", "target hit", "targets hit", "hit my target", "stop hit", "sl hit", "hit my stop",
        "stop got hit", "sold my",
        # closing a short, bailing, a target or stop reached, in the words CT uses for them
        "covered", "covering", "covered my", "bailed", "bailed on", "bailing", "hit target", "hit the target",
        "hit targets", "target reached", "closed out", "closed at", "cut it", "cut the", "cut losses",
        "took the l", "taking the l", "scratched", "got stopped", "stopped", "tpd", "took tp", "exit",
        "exited my", "out at", "sold the top", "sold half", "sold some", "sold it", "dumped my",
        "realized profit", "realized profits", "realised profit",
        "realised profits", "profit taken", "profits taken", "closed half", "closed the",
    }
)  # fmt: skip
# Position nouns an exit phrase before them in the same clause refers to, rather than calls.
POSITION_NOUNS: frozenset[str] = frozenset({"long", "short", "longs", "shorts", "position"})
# ... unless the noun is being opened: "trimmed and opened a small short", "stopped out, re-entered long".
OPENERS: frozenset[str] = frozenset(
    {"opened", "opening", "entered", "reentered", "started", "new", "scaling", "scaled", "filled", "into"}
)
# Entry words say that a position is opened, not its side: long unless a position noun in their clause
# says otherwise ("scaling into $AVAX shorts", "I'm in, short from 3.1").
ENTRY_WORDS: frozenset[str] = frozenset(
    {"im in", "i am in", "were in", "got in", "in at", "entered", "scaling into", "scaling in", "scaled into",
     "scaled in", "got filled", "aped in", "starter"}
)  # fmt: skip
OPENER_WINDOW = 3  # words before the noun an opener reaches

NEGATORS: frozenset[str] = frozenset(
    {"not", "no", "never", "dont", "doesnt", "didnt", "wouldnt", "wont", "cant", "cannot", "isnt",
     "arent", "aint", "wasnt", "neither", "nor", "im not",
     # counterfactuals: regret about a trade not taken is not a call
     "shouldve", "couldve", "wouldve", "shoulda", "coulda", "wish"}
)  # fmt: skip
NEGATION_WINDOW = 4  # words before a cue that a negator reaches
# "No longer bullish" is a turn to the other side, not merely the absence of a view.
FLIP_NEGATORS: tuple[tuple[str, ...], ...] = (("no", "longer"),)
# ... but "no longer long" / "no longer shorting" is an exit: a position left is not a position taken.
POSITION_WORDS: frozenset[str] = POSITION_NOUNS | {"longing", "shorting", "still long", "still short"}

# A position word whose subject is other traders is their positioning, not the author's call: "everyone is
# already short", "too many people long here", "retail is all long". Up to CROWD_WINDOW words may stand
# between the crowd and the position word ("is already", "are getting").
CROWD_WORDS: frozenset[str] = frozenset(
    {"everyone", "everybody", "people", "crowd", "retail", "ct", "they", "theyre", "others", "normies",
     "tourists", "bears", "bulls", "nobody", "noone", "whales"}
)  # fmt: skip
CROWD_WINDOW = 3

# Hedged talk is not a call: a cue in a sentence with one of these counts for a quarter.
HEDGES: frozenset[str] = frozenset(
    {"might", "maybe", "perhaps", "idk", "if", "until", "unless", "could", "would", "considering",
     "possibly", "potentially", "thinking"}
)  # fmt: skip
HEDGE_PHRASES: tuple[tuple[str, ...], ...] = (("not", "sure"), ("no", "position"), ("wait", "for"))
HEDGE_FACTOR = 0.25

# Questions are not calls, except the rhetorical ones CT uses to shill ("who else is accumulating $X?").
RHETORICAL_OPENERS: tuple[tuple[str, ...], ...] = (
    ("who", "else"),
    ("why", "is", "nobody"),
    ("why", "is", "no", "one"),
    ("why", "is", "noone"),
    ("how", "is", "nobody"),
    ("am", "i", "the", "only"),
)
# A question the author answers at once ("Is it time to long $ETH? Yes.") is a statement.
ANSWERS: frozenset[str] = frozenset({"yes", "yep", "yup", "absolutely", "obviously"})

# A post naming several tokens and saying "both"/"all" makes one call on several tokens: refused.
COLLECTIVE_WORDS: frozenset[str] = frozenset({"both", "all"})
# ... but "all" before a stretch of time or a manner is not collective: "outperforming $SOL all year".
NOT_COLLECTIVE_AFTER_ALL: frozenset[str] = frozenset(
    {"year", "day", "days", "week", "weeks", "month", "months", "cycle", "season", "time", "night", "along",
     "morning", "summer", "winter"}
)  # fmt: skip

# A capitalised name that is an ordinary word, followed by an article or pronoun, is the verb ("Render the
# scene", "Fetch me the data"); followed by these, it is part of a compound noun ("Ripple effect").
DETERMINERS: frozenset[str] = frozenset(
    {"the", "a", "an", "my", "your", "our", "their", "his", "her", "this", "that", "these", "those", "it",
     "them", "me", "us", "some", "all", "every"}
)  # fmt: skip
WORD_NAME_COMPOUNDS: frozenset[str] = frozenset({"effect", "effects"})

# A token before these is a measure of the market, not the thing called: "btc dominance going up".
METRIC_WORDS: frozenset[str] = frozenset({"dominance", "dom", "d"})

# A token after these is the yardstick of a comparison ("$LTC breaking out vs BTC"): cues go to the other.
COMPARISON_WORDS: frozenset[str] = frozenset(
    {"vs", "versus", "against", "than", "following", "outperforming", "underperforming", "outperform",
     "underperform", "outperformed", "underperformed"}
)  # fmt: skip

# A verdict after a cue in its sentence overrules it: "Shorting $HYPE here is suicide".
VERDICTS: frozenset[str] = frozenset(
    {"is suicide", "is a trap", "is a mistake", "is dumb", "is stupid", "is a bad idea", "is ngmi",
     "is gambling", "is how you get rekt", "is for idiots", "is a terrible idea"}
)  # fmt: skip

# Tickers that are ordinary words: written in lower case they are not the token (link in bio, sui generis,
# hype cycle, arb bots, dog wif hat). Upper case or a cashtag still names the token.
AMBIGUOUS_WORDS: frozenset[str] = frozenset(
    {"link", "sui", "wif", "hype", "arb", "op", "near", "one", "gas", "magic", "people", "ace", "id",
     "sun", "ton", "uni", "apt", "sand", "mask", "rose", "flow", "ray", "core", "gm", "ai", "pump",
     "moon", "bonk", "pepe", "send", "ape", "bid", "long", "short", "top", "cat", "dog", "me",
     # names of the venues' tokens that are ordinary words: "render the video", "the maker of this chart",
     # "jupiter in the sky", "optimism is high", "an avalanche of sells"
     "render", "maker", "jupiter", "cosmos", "optimism", "avalanche", "fetch", "ripple", "sei", "ondo",
     "atom", "dot", "trump", "s", "not", "io", "ip", "zk", "move", "usual", "super", "blur", "anime",
     "layer", "turbo", "brett", "goat", "aero", "kaito", "bera"}
)  # fmt: skip

# Tickers that are English words even in capitals (a shouting post: "I'M NOT SELLING"): only a cashtag names
# them. A venue's registry of a few hundred markets holds such symbols.
CASHTAG_ONLY: frozenset[str] = frozenset(
    {"NOT", "ME", "S", "IT", "IS", "I", "A", "AN", "AI", "ID", "IO", "IP", "ONE", "GAS", "MOVE", "USUAL",
     "SUPER", "PEOPLE", "MAGIC", "BIG", "SAND", "MASK", "ROSE", "FLOW", "CORE", "GM", "SUN", "BLUR"}
)  # fmt: skip


def _table() -> dict[tuple[str, ...], tuple[Side | None, float, str]]:
    """Phrase (as words) -> (side or None, weight, kind), kind one of cue, neutral, exit, verdict."""
    table: dict[tuple[str, ...], tuple[Side | None, float, str]] = {}
    for phrase in NEUTRAL:
        table[tuple(phrase.split())] = (None, 0.0, "neutral")
    for phrase in EXITS:
        table[tuple(phrase.split())] = (None, 0.0, "exit")
    for phrase in VERDICTS:
        table[tuple(phrase.split())] = (None, 0.0, "verdict")
    for phrase, weight in BULLISH.items():
        table[tuple(phrase.split())] = (Side.LONG, float(weight), "cue")
    for phrase, weight in BEARISH.items():
        table[tuple(phrase.split())] = (Side.SHORT, float(weight), "cue")
    for phrase in _squeeze_phrases():
        table[phrase] = (Side.LONG if phrase[0] in ("shorts", "bears") else Side.SHORT, 1.5, "cue")
    return table


def _squeeze_phrases() -> list[tuple[str, ...]]:
    """ "Shorts getting liquidated" is bullish: traders on one side in pain is a call for the other side."""
    auxiliaries = ((), ("are",), ("getting",), ("are", "getting"), ("about", "to", "get"), ("got",), ("get",))
    pains = ("liquidated", "rekt", "wrecked", "squeezed", "trapped")
    return [
        (group, *aux, pain)
        for group in ("shorts", "bears", "longs", "bulls")
        for aux in auxiliaries
        for pain in pains
    ]


PHRASES = _table()
LONGEST_PHRASE = max(len(p) for p in PHRASES)
