"""Backtests: stored posts and price history replayed through `backend.trading`, deciding as live does."""
