"""A local Hyperliquid-compatible API: the demo's sandbox venue, and what tests and benchmarks trade against.

Serves `POST /info` and `POST /exchange` in the real API's JSON shapes, verifies every signature with the
SDK's own recovery helpers, maps agents to the users that approved them, and fills IOC orders at the mid
with Hyperliquid's rules (size and price precision, $10 minimum, margin, reduce-only, taker fee, nonces),
and builder fees (`approveBuilderFee` by the main wallet, `maxBuilderFee`, builder-coded orders; builder.py).
`meta` lists about 200 of Hyperliquid's perps under their own names (kPEPE: 1,000 PEPE a contract; a few
delisted; see universe.py); prices come from the simulated feed (`backend.prices`, the app's own markets
at the app's prices, x1000 for the k-prefixed ones), pinned with `set_mid` when a test needs an exact price.
Run it standalone with `python -m backend.sandbox.hyperliquid --port 8787 --fund 0xADDR=10000`.
"""

from backend.sandbox.hyperliquid.server import HyperliquidServer

__all__ = ["HyperliquidServer"]
