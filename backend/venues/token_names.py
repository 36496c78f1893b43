"""Human names of the tokens venues list by symbol only (Hyperliquid's `meta` has no names).

The simulated markets' names (backend.prices.markets) come first; this table covers the rest of what
Hyperliquid lists; a symbol in neither is its own name.
"""

from __future__ import annotations

from backend.prices.markets import MARKETS

NAMES: dict[str, str] = {
    "AAVE": "Aave", "ACE": "Fusionist", "ADA": "Cardano", "AI": "Sleepless AI", "AI16Z": "ai16z",
    "AIXBT": "aixbt", "ALGO": "Algorand", "ALT": "AltLayer", "ANIME": "Animecoin", "APE": "ApeCoin",
    "APT": "Aptos", "AR": "Arweave", "ARB": "Arbitrum", "ARK": "Ark", "ASTER": "Aster", "ATOM": "Cosmos",
    "AVAX": "Avalanche", "AVNT": "Avantis", "BABY": "Babylon", "BANANA": "Banana Gun", "BCH": "Bitcoin Cash",
    "BERA": "Berachain", "BIGTIME": "Big Time", "BIO": "Bio Protocol", "BLAST": "Blast", "BLUR": "Blur",
    "BNB": "BNB", "BOME": "Book of Meme", "BONK": "Bonk", "BRETT": "Brett", "BTC": "Bitcoin",
    "CAKE": "PancakeSwap", "CATI": "Catizen", "CELO": "Celo", "CFX": "Conflux",
    "CHILLGUY": "Just a chill guy",
    "COMP": "Compound", "CRV": "Curve DAO", "CYBER": "Cyber", "DOGE": "Dogecoin", "DOGS": "Dogs",
    "DOOD": "Doodles", "DOT": "Polkadot", "DYDX": "dYdX", "DYM": "Dymension", "EIGEN": "EigenLayer",
    "ENA": "Ethena", "ENS": "Ethereum Name Service", "ETC": "Ethereum Classic", "ETH": "Ethereum",
    "ETHFI": "ether.fi", "FARTCOIN": "Fartcoin", "FET": "Fetch.ai", "FIL": "Filecoin", "FLOKI": "Floki",
    "FTM": "Fantom", "FTT": "FTX Token", "FXS": "Frax Share", "GALA": "Gala", "GAS": "Gas", "GMT": "STEPN",
    "GMX": "GMX", "GOAT": "Goatseus Maximus", "GRASS": "Grass", "GRIFFAIN": "Griffain", "HBAR": "Hedera",
    "HMSTR": "Hamster Kombat", "HYPE": "Hyperliquid", "HYPER": "Hyperlane", "ICP": "Internet Computer",
    "IMX": "Immutable", "INIT": "Initia", "INJ": "Injective", "IO": "io.net", "IOTA": "IOTA",
    "IP": "Story", "JTO": "Jito", "JUP": "Jupiter", "KAITO": "Kaito", "KAS": "Kaspa", "LAYER": "Solayer",
    "LDO": "Lido DAO", "LINEA": "Linea", "LINK": "Chainlink", "LISTA": "Lista DAO", "LTC": "Litecoin",
    "LUNC": "Terra Classic", "MANTA": "Manta Network", "MATIC": "Polygon", "MAV": "Maverick Protocol",
    "MAVIA": "Heroes of Mavia", "ME": "Magic Eden", "MELANIA": "Official Melania Meme", "MEME": "Memecoin",
    "MERL": "Merlin Chain", "MEW": "cat in a dogs world", "MINA": "Mina", "MKR": "Maker", "MNT": "Mantle",
    "MOODENG": "Moo Deng", "MORPHO": "Morpho", "MOVE": "Movement", "NEAR": "NEAR Protocol", "NEIRO": "Neiro",
    "NEO": "NEO", "NIL": "Nillion", "NOT": "Notcoin", "NTRN": "Neutron", "NXPC": "NEXPACE", "OM": "MANTRA",
    "OMNI": "Omni Network", "ONDO": "Ondo", "OP": "Optimism", "ORDI": "ORDI", "PAXG": "PAX Gold",
    "PENDLE": "Pendle", "PENGU": "Pudgy Penguins", "PEOPLE": "ConstitutionDAO", "PEPE": "Pepe",
    "PNUT": "Peanut the Squirrel", "POL": "Polygon", "POLYX": "Polymesh", "POPCAT": "Popcat",
    "PROMPT": "Wayfinder", "PROVE": "Succinct", "PUMP": "Pump.fun", "PURR": "Purr", "PYTH": "Pyth Network",
    "RENDER": "Render", "RESOLV": "Resolv", "REZ": "Renzo", "RNDR": "Render", "RSR": "Reserve Rights",
    "RUNE": "THORChain", "S": "Sonic", "SAGA": "Saga", "SAND": "The Sandbox", "SCR": "Scroll", "SEI": "Sei",
    "SHIB": "Shiba Inu", "SNX": "Synthetix", "SOL": "Solana", "SOPH": "Sophon", "SPX": "SPX6900",
    "STG": "Stargate Finance", "STRK": "Starknet", "STX": "Stacks", "SUI": "Sui", "SUSHI": "SushiSwap",
    "SYRUP": "Maple Finance", "TAO": "Bittensor", "TIA": "Celestia", "TNSR": "Tensor", "TON": "Toncoin",
    "TRB": "Tellor", "TRUMP": "Official Trump", "TRX": "TRON", "TST": "Test", "TURBO": "Turbo",
    "UMA": "UMA", "UNI": "Uniswap", "USUAL": "Usual", "VINE": "Vine", "VIRTUAL": "Virtuals Protocol",
    "VVV": "Venice Token", "W": "Wormhole", "WCT": "WalletConnect", "WIF": "dogwifhat", "WLD": "Worldcoin",
    "WLFI": "World Liberty Financial", "XAI": "Xai", "XLM": "Stellar", "XMR": "Monero", "XPL": "Plasma",
    "XRP": "XRP", "YGG": "Yield Guild Games", "ZEC": "Zcash", "ZEN": "Horizen", "ZETA": "ZetaChain",
    "ZK": "ZKsync", "ZORA": "Zora", "ZRO": "LayerZero",
}  # fmt: skip


def token_name(symbol: str) -> str:
    """The name people know a token by: the simulated markets' first, then this table, else the symbol."""
    spec = MARKETS.get(symbol)
    if spec is not None:
        return spec.name
    return NAMES.get(symbol, symbol)
