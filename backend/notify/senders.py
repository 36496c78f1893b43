"""The channel senders this deployment has configured, built once per consumer process.

Each channel's module is imported only when it is configured, so a deployment without Telegram or SMTP
loads none of their code. The in-app inbox has no sender (its deliveries are created delivered).
"""

from __future__ import annotations

from typing import Any

from backend.config import Settings
from backend.models.enums import NotificationChannel
from backend.notify.channels import Sender


def build_senders(settings: Settings, cipher: Any) -> dict[NotificationChannel, Sender]:
    """Telegram when TELEGRAM_BOT_TOKEN is set, email when SMTP_HOST is, webhooks always.

    `cipher` decrypts webhook signing secrets (the platform's `WalletCipher`).
    """
    senders: dict[NotificationChannel, Sender] = {}
    if settings.telegram_bot_token is not None and settings.telegram_bot_token.get_secret_value():
        from backend.notify.telegram.sender import TelegramSender

        senders[NotificationChannel.TELEGRAM] = TelegramSender(settings)
    if settings.smtp_host:
        from backend.notify.email.sender import EmailSender

        senders[NotificationChannel.EMAIL] = EmailSender(settings)
    from backend.notify.webhooks.sender import WebhookSender

    senders[NotificationChannel.WEBHOOK] = WebhookSender(settings, cipher)
    return senders
