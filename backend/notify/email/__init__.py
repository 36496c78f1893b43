"""Email: a verified address per user, one email per event or a daily digest, sent over SMTP."""
