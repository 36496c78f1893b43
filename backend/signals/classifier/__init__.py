"""Post classifiers: the OpenAI one when a key is configured (rules as its fallback), else the rules alone."""

from __future__ import annotations

import openai

from backend.config import Settings
from backend.signals.classifier.llm import ClassifierUnavailable, FallbackClassifier, OpenAIClassifier
from backend.signals.classifier.rules import RuleClassifier
from backend.signals.types import Classifier

__all__ = [
    "ClassifierUnavailable",
    "FallbackClassifier",
    "OpenAIClassifier",
    "RuleClassifier",
    "build_classifier",
]


def build_classifier(settings: Settings) -> Classifier:
    """The classifier the settings ask for; builds an SDK client but sends nothing until a post arrives."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key:
        return RuleClassifier()
    client = openai.OpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
    )
    return FallbackClassifier(OpenAIClassifier(client, settings.openai_model), RuleClassifier())
