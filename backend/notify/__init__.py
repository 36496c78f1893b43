"""Notifications: events written in the same transaction as the change they report (an outbox), delivered
by a consumer to each of the user's channels (in-app inbox, Telegram, email, signed webhooks) exactly once
per (event, channel target), with retries, so a slow or dead channel never slows trading.

- `events`: the event names, their default channels, `emit` (the only way an event is written).
- `render`: one event as a short titled message with its figures and a link, for every channel.
- `channels`: what a channel's sender does (the `Sender` protocol) and what a send returns.
- `outbox`, `dispatch`: the consumer: fan-out to deliveries and claims; sends, records, retries with backoff.
- `preferences`, `inbox`: per-user choices; the in-app inbox.
- `telegram/`, `email/`, `webhooks/`: the channels.
"""
