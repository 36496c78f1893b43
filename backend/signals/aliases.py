"""Other ways CT writes a token: old tickers, nicknames and names the registry does not hold.

The registry gives each symbol one name ("RENDER": "Render"; a venue may give none at all), while posts
say "RNDR", "Render Network", "ether", "Ripple" or "Lido". An alias only counts when its symbol is in the
registry: the registry still decides what is a token.
"""

from __future__ import annotations

from collections.abc import Iterator

from backend.signals.types import KnownTokens

# Tickers a token used to trade under, or that venues list it under: read like the symbol itself
# (a cashtag or upper case always, lower case when three letters or more).
TICKER_ALIASES: dict[str, str] = {
    "RNDR": "RENDER",
    "XBT": "BTC",
    "KPEPE": "PEPE",
    "KBONK": "BONK",
}

# Names and nicknames, as words. Written in lower case, they match in any case; written capitalised, they
# are ordinary words too ("fetch", "maker", "render") and match only as written. The universe's own names are
# here too: a venue's registry may hold a symbol with no name, or the symbol as its name.
NAME_ALIASES: dict[str, str] = {
    "bitcoin": "BTC",
    "ether": "ETH",
    "ethereum": "ETH",
    "solana": "SOL",
    "hyperliquid": "HYPE",
    "Ripple": "XRP",
    "binance coin": "BNB",
    "doge coin": "DOGE",
    "dogecoin": "DOGE",
    "cardano": "ADA",
    "chainlink": "LINK",
    "link marines": "LINK",
    "polkadot": "DOT",
    "litecoin": "LTC",
    "near protocol": "NEAR",
    "aptos": "APT",
    "arbitrum": "ARB",
    "Optimism": "OP",
    "injective": "INJ",
    "injective protocol": "INJ",
    "celestia": "TIA",
    "uniswap": "UNI",
    "Maker": "MKR",
    "makerdao": "MKR",
    "lido": "LDO",
    "lido dao": "LDO",
    "ethena": "ENA",
    "Jupiter": "JUP",
    "Render": "RENDER",
    "render network": "RENDER",
    "bittensor": "TAO",
    "worldcoin": "WLD",
    "world coin": "WLD",
    "ondo finance": "ONDO",
    "Fetch": "FET",
    "fetch ai": "FET",
    "pendle": "PENDLE",
    "Cosmos": "ATOM",
    "cosmos hub": "ATOM",
    "dogwifhat": "WIF",
    "dog wif hat": "WIF",
    "fartcoin": "FARTCOIN",
    "trump coin": "TRUMP",
    "trumpcoin": "TRUMP",
    "official trump": "TRUMP",
    "popcat": "POPCAT",
    # the universe's names that are also words or tickers, for a registry that holds symbols only
    "Sui": "SUI",
    "Sei": "SEI",
    "Pepe": "PEPE",
    "Bonk": "BONK",
    "Ondo": "ONDO",
    "aave": "AAVE",
}


def ticker_alias(ticker: str, known_tokens: KnownTokens) -> str | None:
    """The registry symbol an old or venue ticker stands for ("RNDR" -> "RENDER"), if in the registry."""
    symbol = TICKER_ALIASES.get(ticker.upper())
    return symbol if symbol is not None and symbol in known_tokens else None


def name_aliases(known_tokens: KnownTokens) -> Iterator[tuple[str, str]]:
    """(alias as written, symbol) for every name alias whose symbol is in the registry."""
    for alias, symbol in NAME_ALIASES.items():
        if symbol in known_tokens:
            yield alias, symbol
