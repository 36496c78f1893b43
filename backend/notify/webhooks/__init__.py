"""Webhooks after the Standard Webhooks spec: users' endpoints, their signing secrets, the URL guard and the
sender the notification consumer uses (`sender.WebhookSender`)."""
