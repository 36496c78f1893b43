"""Agents: marketplace listing, detail and leaderboard; the builder's create, edit and archive."""
