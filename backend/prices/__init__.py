"""Price feeds: where mid prices and candles come from."""
