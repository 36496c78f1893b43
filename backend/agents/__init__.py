"""Agent listing, detail and leaderboard."""
