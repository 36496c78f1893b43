"""The token registry and the venues' markets: filled from the venues' listings, read by the rest."""
