"""Crypto-Twitter posts labelled by hand: what a careful trader would read in each.

Written the way CT writes (lower case, emojis, slang, rhetorical questions), labelled before the rule
classifier was written, so the table measures the rules rather than describing them. A post is a signal
when it makes a directional call on one registry token that someone could trade; exits, hedged maybes,
questions, pair trades and tokens outside the registry are not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from backend.models.enums import Side
from backend.signals.types import Classification

KNOWN_TOKENS: dict[str, str] = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "SOL": "Solana",
    "HYPE": "Hyperliquid",
    "ARB": "Arbitrum",
    "AVAX": "Avalanche",
    "LINK": "Chainlink",
    "DOGE": "Dogecoin",
    "WIF": "dogwifhat",
    "SUI": "Sui",
}

CATEGORIES = (
    "cashtag",
    "plain_ticker",
    "name",
    "negation",
    "bearish",
    "non_signal",
    "unknown_token",
    "multi_token",
    "question",
)

L, S = Side.LONG, Side.SHORT


@dataclass(frozen=True)
class LabelledPost:
    text: str
    is_signal: bool
    token: str | None
    side: Side | None
    category: str
    # 1: written before the rules (the rules were developed against it); 2 and 3: written and labelled later,
    # each measured before the rules changed, so their first figures are out-of-sample estimates.
    batch: int = 1


def _p(text: str, token: str | None, side: Side | None, category: str) -> LabelledPost:
    return LabelledPost(text, token is not None, token, side, category)


def _h(text: str, token: str | None, side: Side | None, category: str) -> LabelledPost:
    return LabelledPost(text, token is not None, token, side, category, batch=2)


def _h3(text: str, token: str | None, side: Side | None, category: str) -> LabelledPost:
    return LabelledPost(text, token is not None, token, side, category, batch=3)


DEVELOPMENT: tuple[LabelledPost, ...] = (
    # cashtag
    _p("$SOL breakout confirmed on the daily. Longing here, target 250 🚀", "SOL", L, "cashtag"),
    _p("Loaded a fat bag of $HYPE under 30. This sends.", "HYPE", L, "cashtag"),
    _p("$ETH looks absolutely cooked. Shorting every bounce into 3.2k", "ETH", S, "cashtag"),
    _p("$BTC reclaiming 100k. Bid.", "BTC", L, "cashtag"),
    _p("Opened a long on $AVAX at 22.4, stop under 21. Let's see.", "AVAX", L, "cashtag"),
    _p("$WIF chart is a textbook breakdown. Fading this all day", "WIF", S, "cashtag"),
    _p("$LINK accumulating quietly while everyone sleeps. Adding more.", "LINK", L, "cashtag"),
    _p("$DOGE 🚀🚀🚀 send it", "DOGE", L, "cashtag"),
    _p("$ARB unlock next week, shorted a bag. Free money", "ARB", S, "cashtag"),
    _p("$SUI higher highs higher lows, still long", "SUI", L, "cashtag"),
    _p("$ETH top is in. Don't say I didn't warn you", "ETH", S, "cashtag"),
    _p("Added to my $ETH long at 2,950. Conviction high.", "ETH", L, "cashtag"),
    _p("$sol longs printing, adding on every dip 📈", "SOL", L, "cashtag"),
    # plain_ticker
    _p("BTC going to 150k this cycle, longing every dip", "BTC", L, "plain_ticker"),
    _p("Long ETH here. Invalidation 2900.", "ETH", L, "plain_ticker"),
    _p("SOL short from 210, tp 180", "SOL", S, "plain_ticker"),
    _p("Closed my alts, now just shorting DOGE into this euphoria", "DOGE", S, "plain_ticker"),
    _p("HYPE is the strongest chart in the market, bidding every pullback", "HYPE", L, "plain_ticker"),
    _p("LINK breakout incoming, been accumulating for months", "LINK", L, "plain_ticker"),
    _p("AVAX looks weak af, breaking down below 20. Short.", "AVAX", S, "plain_ticker"),
    _p("SUI about to send. Loaded.", "SUI", L, "plain_ticker"),
    _p("ARB rekt again lol, lower lows incoming. still short", "ARB", S, "plain_ticker"),
    _p("WIF to 5 dollars. bid it.", "WIF", L, "plain_ticker"),
    _p("hype is everywhere but eth is the one going higher. long eth", "ETH", L, "plain_ticker"),
    _p("check the link below for my BTC long entry", "BTC", L, "plain_ticker"),
    _p("longing sol here, cleanest chart on my screen", "SOL", L, "plain_ticker"),
    # name
    _p("Bitcoin breaking out of a 6 month range. Long.", "BTC", L, "name"),
    _p("ethereum is going lower, no bid anywhere. shorting it", "ETH", S, "name"),
    _p("Solana about to moon, I'm max long", "SOL", L, "name"),
    _p("Chainlink is the most undervalued asset in crypto. Accumulating.", "LINK", L, "name"),
    _p("dogecoin pump is over, fade it", "DOGE", S, "name"),
    _p("Avalanche breaking down hard. Shorting the retest.", "AVAX", S, "name"),
    _p("Hyperliquid is eating Binance's lunch. Longing more.", "HYPE", L, "name"),
    _p("Sui network down again. Shorting this garbage", "SUI", S, "name"),
    _p("Arbitrum TVL bleeding, fading every pump", "ARB", S, "name"),
    _p("dogwifhat holders about to be rich. long", "WIF", L, "name"),
    # negation
    _p("Not shorting $ETH here, too much support below", None, None, "negation"),
    _p("I wouldn't long $DOGE here tbh", None, None, "negation"),
    _p("No longer bullish on $AVAX. Sold everything.", "AVAX", S, "negation"),
    _p("Don't fade $SOL here. This is going much higher", "SOL", L, "negation"),
    _p("never shorting $HYPE again, this thing only goes up", "HYPE", L, "negation"),
    _p("$BTC not breaking down, every dip is getting bought", "BTC", L, "negation"),
    _p("Not bullish on $LINK until it reclaims 20", None, None, "negation"),
    _p("I'm not long $ETH anymore", None, None, "negation"),
    _p("ngl $BTC looks like it's going lower. shorting", "BTC", S, "negation"),
    _p("Not selling a single $SOL. Still long.", "SOL", L, "negation"),
    _p("don't short $DOGE on elon day lol", None, None, "negation"),
    # bearish
    _p("$BTC lost the 200d MA. Shorting the retest, target 88k", "BTC", S, "bearish"),
    _p("ETH/BTC making new lows, short ETH", "ETH", S, "bearish"),
    _p("Top is in for $DOGE. Memecoin season over.", "DOGE", S, "bearish"),
    _p("Opened $SUI short at 4.10. Unlock supply about to hit", "SUI", S, "bearish"),
    _p("$ARB dumping. Expect lower.", "ARB", S, "bearish"),
    _p("$LINK double top on the weekly. Taking a short here", "LINK", S, "bearish"),
    _p("$AVAX looks heavy, I'm fading this bounce", "AVAX", S, "bearish"),
    _p("Hyperliquid at these valuations? Short. $HYPE", "HYPE", S, "bearish"),
    _p("SOL bulls about to get rekt. Breakdown below 180 and it's over", "SOL", S, "bearish"),
    _p("Shorted $WIF. Memes are done.", "WIF", S, "bearish"),
    _p("$ETH 📉 bearish divergence on the 4h, going lower", "ETH", S, "bearish"),
    # non_signal
    _p("gm", None, None, "non_signal"),
    _p("GM CT ☕️ who's trading today", None, None, "non_signal"),
    _p("wagmi 🫡", None, None, "non_signal"),
    _p("just had the best ramen of my life", None, None, "non_signal"),
    _p("The market is boring. Going to touch grass.", None, None, "non_signal"),
    _p("New podcast episode on restaking is out, link in bio", None, None, "non_signal"),
    _p("Bitcoin ETF flows were +$500M yesterday", None, None, "non_signal"),
    _p("Thread on how I size positions 🧵👇", None, None, "non_signal"),
    _p("Hype cycle is real in AI land right now", None, None, "non_signal"),
    _p("Congrats to everyone who held through the dip", None, None, "non_signal"),
    _p("$ETH chart for reference", None, None, "non_signal"),
    _p("Arb bots are eating everyone's lunch on this DEX", None, None, "non_signal"),
    _p("sui generis market structure right now tbh", None, None, "non_signal"),
    _p("Bullish on coffee. Bearish on mondays.", None, None, "non_signal"),
    _p("Took profit on my $SOL long, back to cash", None, None, "non_signal"),
    _p("Stopped out of my $AVAX short. Market's a casino", None, None, "non_signal"),
    _p("might long $ETH if it reclaims 3k, idk", None, None, "non_signal"),
    _p("could see $BTC going higher maybe, no position", None, None, "non_signal"),
    _p("moon soon ser", None, None, "non_signal"),
    _p("dog wif hat was the meme of the cycle, no contest", None, None, "non_signal"),
    # unknown_token
    _p("$PEPE breakout, longing", None, None, "unknown_token"),
    _p("Longing $TIA here, cleanest chart", None, None, "unknown_token"),
    _p("$ONDO shorting this pump", None, None, "unknown_token"),
    _p("JUP about to send, bid", None, None, "unknown_token"),
    _p("Aave is undervalued, accumulating", None, None, "unknown_token"),
    _p("$BONK to the moon 🚀", None, None, "unknown_token"),
    _p("Short $OP, unlock incoming", None, None, "unknown_token"),
    _p("TAO is the AI play. long", None, None, "unknown_token"),
    _p("$ENA breakdown, fading", None, None, "unknown_token"),
    _p("Long $XRP", None, None, "unknown_token"),
    # multi_token
    _p("Rotating out of $ETH into $SOL. Long SOL, ETH is dead money", "SOL", L, "multi_token"),
    _p("$BTC and $ETH both look great, longing both", None, None, "multi_token"),
    _p("$SOL/$ETH ratio breaking out. Long SOL", "SOL", L, "multi_token"),
    _p("Long $HYPE, short $ARB", None, None, "multi_token"),
    _p("BTC dominance rising, alts bleed. Shorting $AVAX", "AVAX", S, "multi_token"),
    _p("While everyone watches $BTC, $LINK is quietly breaking out. Bid.", "LINK", L, "multi_token"),
    _p("$DOGE $WIF $BONK all pumping, memecoin szn", None, None, "multi_token"),
    _p("Sold my $ETH for $SUI. Longing SUI to 10", "SUI", L, "multi_token"),
    _p("$BTC holding fine but $SOL looks terrible, shorting SOL", "SOL", S, "multi_token"),
    _p("ETH vs SOL debate is boring. Both going higher.", None, None, "multi_token"),
    # question
    _p("Is $SOL about to break out?", None, None, "question"),
    _p("Anyone longing $ETH here?", None, None, "question"),
    _p("Should I short $DOGE or wait?", None, None, "question"),
    _p("$BTC 100k by Friday? 🤔", None, None, "question"),
    _p("What's your target for $HYPE?", None, None, "question"),
    _p("Is the top in for $LINK?", None, None, "question"),
    _p("Who else is accumulating $AVAX? 👀", "AVAX", L, "question"),
    _p("Thoughts on $ARB at these levels?", None, None, "question"),
    _p("Why is nobody talking about $SUI breaking out right now?", "SUI", L, "question"),
    _p("$WIF to $10? lol", None, None, "question"),
)

HOLDOUT: tuple[LabelledPost, ...] = (
    _h("Bought more $ETH on this dip. Not selling until 5k.", "ETH", L, "cashtag"),
    _h("$SOL 200 is the line in the sand. Lose it and we go to 150.", None, None, "non_signal"),
    _h("just aped into $WIF again, I never learn", "WIF", L, "cashtag"),
    _h("$BTC weekly close above 105k = new ATH next week. Positioned long.", "BTC", L, "cashtag"),
    _h("Scaling into $AVAX shorts here, funding is way too positive", "AVAX", S, "bearish"),
    _h("$HYPE buybacks are insane, this goes to 100", "HYPE", L, "cashtag"),
    _h("$DOGE looks like it wants to dump. Careful out there", "DOGE", S, "bearish"),
    _h("Entered $LINK long 14.2, SL 13.5, TP 17", "LINK", L, "cashtag"),
    _h("$ARB is a zombie chain, shorting it into every unlock", "ARB", S, "bearish"),
    _h("$SUI ETF filed 👀 this is going to rip", "SUI", L, "cashtag"),
    _h("I'm buying every $ETH dip below 3k. Simple as.", "ETH", L, "cashtag"),
    _h("Bears are getting squeezed on $BTC, shorts liquidated everywhere 🚀", "BTC", L, "cashtag"),
    _h("Longed $SOL at 172. Tight stop.", "SOL", L, "cashtag"),
    _h("$AVAX lower. That's the tweet.", "AVAX", S, "bearish"),
    _h("ETH bleeding against everything. Staying short.", "ETH", S, "plain_ticker"),
    _h("BTC looks ready for another leg up", "BTC", L, "plain_ticker"),
    _h("$LINK bottom is in imo", "LINK", L, "cashtag"),
    _h("Capitulation on $DOGE incoming, get out while you can", "DOGE", S, "bearish"),
    _h("Flipped long $HYPE", "HYPE", L, "cashtag"),
    _h("$WIF puked 20% today, bidding here", "WIF", L, "cashtag"),
    _h("Shorting $SUI, fully diluted value is a joke", "SUI", S, "bearish"),
    _h("solana flipping ethereum this cycle, long SOL short ETH", None, None, "multi_token"),
    _h("Not touching $ARB until the unlock is done", None, None, "negation"),
    _h("$ETH looking strong, might add", None, None, "non_signal"),
    _h("$BTC is going to 200k and there's nothing you can do about it", "BTC", L, "cashtag"),
    _h("gm to everyone except $SOL shorts", None, None, "non_signal"),
    _h("wen $HYPE 100", None, None, "non_signal"),
    _h("Who's still holding $AVAX lol", None, None, "non_signal"),
    _h("Someone explain why $LINK keeps going up without me", None, None, "non_signal"),
    _h("New all time high for $BTC. Congrats hodlers", None, None, "non_signal"),
    _h("$DOGE pumping because Elon tweeted a dog again", None, None, "non_signal"),
    _h("RT if you're long $ETH", None, None, "non_signal"),
    _h("Link to my $SOL analysis below 👇", None, None, "non_signal"),
    _h("The $ARB airdrop was the best thing that happened to me", None, None, "non_signal"),
    _h("sold all my $WIF, going to cash for the summer", None, None, "non_signal"),
    _h("Just shorted $TRUMP lmao", None, None, "unknown_token"),
    _h("$FARTCOIN is sending, longing", None, None, "unknown_token"),
    _h("Bought some $AAVE and $UNI", None, None, "unknown_token"),
    _h("Is $ETH finally bottoming?", None, None, "question"),
    _h("What are you guys longing this week?", None, None, "question"),
    _h("Do I short $BTC here or is that too obvious?", None, None, "question"),
    _h("Sui vs Aptos, which one are you bidding?", None, None, "question"),
    _h("$SOL or $AVAX for the next leg?", None, None, "question"),
    _h("Bitcoin to 80k before 120k? Short term bearish, long term bullish", None, None, "non_signal"),
    _h("Ethereum foundation sold again. Shorting $ETH", "ETH", S, "name"),
    _h("Bullish $SOL, bearish $ETH. Pair trade on.", None, None, "multi_token"),
    _h("$BTC chop chop chop. Not touching it", None, None, "non_signal"),
    _h("Avalanche subnets are underrated. Long $AVAX into the summit", "AVAX", L, "name"),
    _h("Chainlink oracle fees flipping on. Accumulation zone for $LINK", "LINK", L, "name"),
    _h("hyperliquid's the only exchange I use now", None, None, "non_signal"),
    _h("Dogecoin breaking down from the wedge, short", "DOGE", S, "name"),
    _h("Don't be the guy shorting $SOL at support", None, None, "negation"),
    _h("i'm not bearish on $ETH at all, adding", "ETH", L, "negation"),
    _h("$HYPE and $SOL the only two I'd hold", None, None, "multi_token"),
    _h("$BTC going higher, $ETH going lower. Long BTC", "BTC", L, "multi_token"),
)

HOLDOUT_B: tuple[LabelledPost, ...] = (
    _h3("$ETH 4k by end of month, loading up", "ETH", L, "cashtag"),
    _h3("Took a small $SOL short against the highs", "SOL", S, "bearish"),
    _h3("$BTC funding negative, everyone's short. squeeze incoming", "BTC", L, "cashtag"),
    _h3("Cut my $ARB long, thesis invalidated", None, None, "non_signal"),
    _h3("$AVAX chart looks like a staircase up, not fading this", "AVAX", L, "negation"),
    _h3("LINK/ETH breaking out, this is the one", "LINK", L, "multi_token"),
    _h3("Added $HYPE on the flush", "HYPE", L, "cashtag"),
    _h3("Dogecoin is a joke, shorting any rally", "DOGE", S, "name"),
    _h3("Wif season again? 😂", None, None, "question"),
    _h3("$SUI looking toppy, trimmed and opened a small short", "SUI", S, "bearish"),
    _h3("ETH underperforming for 3 years straight. Stay away.", None, None, "non_signal"),
    _h3("Bid $SOL at 150, ask at 190", "SOL", L, "cashtag"),
    _h3("$BTC ranging between 95 and 105, nothing to do", None, None, "non_signal"),
    _h3("Avax foundation unlocking 10M tokens tomorrow 🚨", None, None, "non_signal"),
    _h3("GN frens, $ETH higher tomorrow", "ETH", L, "cashtag"),
    _h3("Long $BTC, short $ETH is the trade of the year", None, None, "multi_token"),
    _h3("$PENGU and $HYPE both breaking out", None, None, "multi_token"),
    _h3("Arbitrum is dead. Short $ARB", "ARB", S, "name"),
    _h3("$LINK reclaim of 20 is huge. Longing the retest.", "LINK", L, "cashtag"),
    _h3("Just a reminder that $DOGE is up 300% this year", None, None, "non_signal"),
    _h3("Should've longed $SOL at 120 😭", None, None, "non_signal"),
    _h3("My $ETH bags are heavy", None, None, "non_signal"),
    _h3("Shorting $HYPE here is suicide", None, None, "negation"),
    _h3("$WIF 🚀🚀", "WIF", L, "cashtag"),
    _h3("Sui TVL just flipped Arbitrum's. Bullish $SUI", "SUI", L, "multi_token"),
    _h3("Is it time to long $ETH? Yes.", "ETH", L, "question"),
    _h3("BTC to 69k then 120k", None, None, "non_signal"),
    _h3("Exited all my $AVAX longs, going to cash", None, None, "non_signal"),
    _h3("Solana outage again. Short.", "SOL", S, "name"),
    _h3("$ETH breaking down from the range, bears in control", "ETH", S, "bearish"),
    _h3("I'm long $BTC and I'm not worried", "BTC", L, "cashtag"),
    _h3("nobody is bullish on $LINK and that's exactly why I'm buying", "LINK", L, "negation"),
    _h3("$DOGE, $WIF, $SOL all look weak, shorting the lot", None, None, "multi_token"),
    _h3("hyperliquid points farmers about to get dumped on", None, None, "non_signal"),
    _h3("Closing my $SOL short here, too risky", None, None, "non_signal"),
)

POSTS: tuple[LabelledPost, ...] = DEVELOPMENT + HOLDOUT + HOLDOUT_B


def outcome(post: LabelledPost, result: Classification) -> str:
    """tp/fp/fn/tn, or "wrong" for a signal on the wrong token or side (a false positive and a miss)."""
    if post.is_signal and result.is_signal:
        return "tp" if (result.token, result.side) == (post.token, post.side) else "wrong"
    if result.is_signal:
        return "fp"
    return "fn" if post.is_signal else "tn"


def precision_recall(outcomes: Iterable[str]) -> tuple[float, float, Counter[str]]:
    """Precision and recall of "a signal on the right token and side"."""
    counts = Counter(outcomes)
    tp, wrong = counts["tp"], counts["wrong"]
    called, labelled = tp + counts["fp"] + wrong, tp + counts["fn"] + wrong
    return (tp / called if called else 1.0), (tp / labelled if labelled else 1.0), counts
