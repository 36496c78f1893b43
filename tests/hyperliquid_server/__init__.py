"""The local Hyperliquid-compatible server for tests (`backend.sandbox.hyperliquid`) and its fixtures."""

from backend.sandbox.hyperliquid import HyperliquidServer

__all__ = ["HyperliquidServer"]
