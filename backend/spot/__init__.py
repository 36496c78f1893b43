"""Spot trading through a Safe module on an EVM chain (Arbitrum): contracts, chain table, local test chain."""
