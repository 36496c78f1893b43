"""Spot trading through a Safe module: chain-specific code, no UI."""
