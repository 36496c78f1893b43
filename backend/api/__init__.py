"""Maxxit REST API, mounted by Reflex beside the UI: `rx.App(api_transformer=create_api())`."""

from __future__ import annotations

from backend.api.app import create_api

__all__ = ["create_api"]
