"""The Hyperliquid sandbox: a local Hyperliquid-compatible server with no real funds.

The same server the tests trade against (it verifies every signature with the SDK's own helpers); `make run`
starts it as the demo's "Hyperliquid sandbox (no real funds)" venue with a faucet. It does not exist when
ENV=prod. Nothing else in `backend` imports it.
"""
