"""Maxxit's Reflex UI: pages render, states call backend services; no SQL or venue calls here."""
