"""Maxxit domain: models, services, API. Importable and testable without Reflex."""
