"""Agent (API) wallets: created per deployment, keys encrypted at rest, approved by the user's own wallet."""
