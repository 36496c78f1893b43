"""Venues behind one protocol (`base.VenueAdapter`): paper, Hyperliquid; a registry picks by name."""
