"""The perps the test server lists: Hyperliquid's own names, size decimals and maximum leverage, in the
order Hyperliquid listed them (the asset index), with a plausible price level for each.

Like the real `meta`, some names carry a "k" prefix (kPEPE, kBONK, kSHIB ...): one contract is 1,000
tokens and its price the price of 1,000 tokens. Delisted perps stay in `meta`, flagged, and have no mid.
Markets the app simulates (backend.prices.markets) take their price path, size decimals and leverage
from there, so the server and the paper venue agree; the rest get their own simulated path from the level
below. The levels are per contract: kPEPE's is 1,000 PEPE's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

K_UNITS = 1000
MEME_VOLATILITY = 1.4
DEFAULT_VOLATILITY = 1.0

# coin, szDecimals, maxLeverage, price level per contract, "d" when delisted
_TABLE = """
BTC 5 40 90000
ETH 4 25 3100
ATOM 2 5 2.5
MATIC 1 20 0.38 d
DYDX 1 5 0.3
SOL 2 20 140
AVAX 2 10 14
BNB 3 10 900
APE 1 10 0.35
OP 1 10 0.35
LTC 2 10 85
ARB 1 10 0.22
DOGE 0 10 0.15
INJ 1 10 6
SUI 1 10 1.7
kPEPE 0 10 0.0045
CRV 1 10 0.42
LDO 1 10 0.6
LINK 1 10 13.5
STX 1 5 0.3
RNDR 1 20 7.5 d
CFX 0 5 0.08
FTM 0 10 0.7 d
GMX 2 5 9
SNX 1 5 0.55
XRP 0 20 2.05
BCH 3 10 560
APT 2 10 1.8
AAVE 2 10 185
COMP 2 5 30
MKR 4 5 1500
WLD 1 10 0.6
FXS 1 5 1.2
HPOS 0 3 0.05 d
RLB 0 3 0.07 d
UNIBOT 3 3 15 d
YGG 0 5 0.08
TRX 0 10 0.28
kSHIB 0 10 0.0085
UNI 1 10 5.5
SEI 0 10 0.13
RUNE 1 10 0.65
FRIEND 1 3 0.1 d
ZRO 1 5 1.4
DOT 1 10 2.2
BANANA 1 5 8
TRB 2 5 22
FTT 1 3 0.6
OGN 0 5 0.04
RDNT 0 5 0.015
ARK 0 5 0.3
REQ 0 5 0.12
BIGTIME 0 5 0.025
KAS 0 5 0.05
BLUR 0 5 0.04
TIA 1 10 0.6
BSV 2 5 20
ADA 0 10 0.4
TON 1 10 1.6
MINA 0 5 0.13
POLYX 0 5 0.06
GAS 1 5 2
PENDLE 0 5 2.4
STG 0 5 0.15
FET 0 10 0.25
NEAR 1 10 1.7
MEME 0 5 0.0012
ORDI 2 5 4.5
NEO 2 5 4
ZEN 2 5 9
FIL 1 5 1.4
PYTH 0 10 0.07
SUSHI 1 5 0.4
IMX 1 5 0.28
kBONK 0 10 0.0095
GALA 0 5 0.008
JTO 0 5 0.45
NTRN 0 5 0.04
ACE 2 5 0.3
XAI 1 5 0.02
WIF 0 10 0.38
MAV 0 5 0.03
MANTA 1 5 0.1
ONDO 0 10 0.45
ALT 0 5 0.015
ZETA 1 5 0.08
DYM 1 5 0.1
JUP 0 10 0.22
MAVIA 1 5 0.1
W 1 5 0.04
PEOPLE 0 5 0.01
STRK 1 5 0.1
ENA 0 10 0.25
AI 1 5 0.04
TAO 3 5 280
ETHFI 1 5 0.8
SAGA 1 5 0.05
MERL 0 5 0.4
HBAR 0 5 0.13
POPCAT 0 10 0.1
OMNI 2 5 1.5
EIGEN 2 5 0.45
REZ 0 5 0.006
NOT 0 5 0.0006
TURBO 0 5 0.0018
BRETT 0 5 0.02
IO 1 5 0.2
ZK 0 5 0.035
BLAST 0 5 0.001
LISTA 0 5 0.16
MEW 0 5 0.0012
RENDER 1 10 1.5
kDOGS 0 5 0.045
POL 0 10 0.13
CATI 0 5 0.07
CELO 0 5 0.15
HMSTR 0 5 0.0002
SCR 1 5 0.1
NEIROETH 0 5 0.04
kNEIRO 1 5 0.13
GOAT 0 5 0.04
MOODENG 0 5 0.07
GRASS 1 5 0.3
PURR 0 5 0.11
PNUT 1 5 0.09
XLM 0 10 0.24
CHILLGUY 0 5 0.02
SAND 0 5 0.14
IOTA 0 5 0.09
ALGO 0 5 0.13
HYPE 2 10 30
ME 1 5 0.3
MOVE 0 5 0.04
VIRTUAL 1 5 0.8
PENGU 0 5 0.011
USUAL 1 5 0.03
FARTCOIN 1 10 0.3
AI16Z 1 5 0.08
AIXBT 0 5 0.04
ZEREBRO 0 5 0.02
BIO 0 5 0.05
GRIFFAIN 0 5 0.02
SPX 1 5 0.5
S 0 10 0.1
MORPHO 1 5 1.4
TRUMP 1 10 5.5
MELANIA 1 5 0.12
ANIME 0 5 0.008
VINE 0 5 0.03
VVV 2 5 1.6
JELLY 0 3 0.02 d
BERA 1 5 0.7
TST 0 5 0.02
LAYER 0 5 0.2
IP 1 5 2.4
OM 1 5 0.08
KAITO 0 5 0.6
NIL 0 5 0.15
PAXG 3 5 4200
PROMPT 0 5 0.07
BABY 0 5 0.02
WCT 0 5 0.1
HYPER 0 5 0.15
ZORA 0 5 0.05
INIT 0 5 0.1
DOOD 0 5 0.005
NXPC 0 5 0.4
SOPH 0 5 0.02
RESOLV 0 5 0.1
SYRUP 0 5 0.35
PUMP 0 5 0.003
PROVE 0 5 0.5
kLUNC 0 5 0.04
kFLOKI 0 5 0.05
BOME 0 5 0.0008
TNSR 1 5 0.12
AR 2 5 4
ICP 2 5 4
ETC 2 5 13
XMR 3 5 400
ENS 2 5 11
UMA 1 5 0.9
ZEC 2 10 450
MNT 1 5 1.2
GMT 0 5 0.02
CAKE 1 5 2.2
RSR 0 5 0.004
WLFI 0 5 0.14
LINEA 0 5 0.01
ASTER 0 5 1
AVNT 0 5 0.4
XPL 0 10 0.2
USTC 0 5 0.01
LAUNCHCOIN 0 5 0.05
ILV 2 5 12 d
CANTO 0 3 0.05 d
STBL 0 5 0.1
"""

_MEMES = frozenset(
    """kPEPE kBONK kSHIB kFLOKI kDOGS kNEIRO kLUNC WIF DOGE POPCAT FARTCOIN TRUMP MELANIA MEME BRETT TURBO MEW
    MOODENG GOAT PNUT CHILLGUY PENGU BOME SPX NEIROETH HMSTR NOT PUMP""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Listed:
    """One row of the table: what `meta` says of a perp, and its price level per contract."""

    coin: str
    sz_decimals: int
    max_leverage: int
    level: Decimal
    delisted: bool
    volatility: float

    @property
    def symbol(self) -> str:
        """The token people write: PEPE for kPEPE."""
        return self.coin[1:] if self.units > 1 else self.coin

    @property
    def units(self) -> int:
        """Tokens per contract: 1000 for the k-prefixed names."""
        prefixed = self.coin.startswith("k") and self.coin[1:].isupper()
        return K_UNITS if prefixed else 1


def _rows() -> tuple[Listed, ...]:
    rows = []
    for line in _TABLE.strip().splitlines():
        coin, sz, lev, level, *flags = line.split()
        volatility = MEME_VOLATILITY if coin in _MEMES else DEFAULT_VOLATILITY
        rows.append(Listed(coin, int(sz), int(lev), Decimal(level), flags == ["d"], volatility))
    return tuple(rows)


UNIVERSE: tuple[Listed, ...] = _rows()
