"""The Telegram channel: a plain-httpx Bot API client, linking a chat to a user, the bot's commands, alert
formatting, the consumer's sender, and updates in by long polling or webhook (`poller`)."""
