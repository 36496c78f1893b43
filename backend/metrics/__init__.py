"""Performance figures: APR, Sharpe, drawdown, win rate; computed from closed positions."""
