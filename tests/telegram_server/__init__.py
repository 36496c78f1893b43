"""The local Telegram Bot API-compatible server for tests and the bench, and its fixtures."""

from tests.telegram_server.server import BOT_ID, DEFAULT_TOKEN, TelegramServer, WebhookDelivery

__all__ = ["BOT_ID", "DEFAULT_TOKEN", "TelegramServer", "WebhookDelivery"]
