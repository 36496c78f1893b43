"""The trading core: every rule about money, sizes and exits, once, for live trading, the demo and replays.

Pure on purpose (Freqtrade's `LocalTrade` lesson): no database session, no settings object, no clock, no
venue SDK. Callers pass `now`, prices and settings in; frozen dataclasses and Decimals come out. If you are
about to compute a fee, a size or a PnL anywhere else, call a function here instead.

- `types`: sides, close reasons, sizing profiles (the enums every layer shares)
- `money`: the one money quantum
- `market`: a market's rules (size step, tick, minimum, maximum leverage) and an account's balance
- `decision`: does a score make a signal
- `sizing`: how big a trade is
- `fills`: the fill model (slippage, venue fee) for the paper venue and replays
- `margin`: notional, initial margin, liquidation price (isolated, Hyperliquid's maintenance rule)
- `book`: realised PnL, net positions with partial closes, a position's full breakdown
- `fees`: the platform's trade fee and profit share as billing lines
- `exits`: stop loss, take profit, trailing stop, time limit; per price and per candle
- `returns`: time-weighted returns, APR, Sharpe, Sortino, drawdown, win rate, profit factor
- `figures`: a book's figures (APR, Sharpe, Sortino, drawdown, win rate, profit factor) from its closes
- `impact`: a CT account's impact factor from the reference-book outcomes of its calls
- `replay`: stored signals and prices in, trades and an equity curve out, through the calls above
"""
