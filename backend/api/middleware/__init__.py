"""ASGI middleware guarding the whole HTTP surface: the API and Reflex's pages and socket mounted in it."""
