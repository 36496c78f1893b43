"""Watching open positions: exit rules (pure) and, later, the monitor cycle."""
