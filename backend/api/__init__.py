"""Maxxit REST API: a FastAPI app that Reflex mounts beside the UI (`rx.App(api_transformer=create_api())`)."""

from __future__ import annotations

from backend.api.app import create_api

__all__ = ["create_api"]
