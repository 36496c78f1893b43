"""Deployments: a user's running copies of agents on their own venue accounts."""
