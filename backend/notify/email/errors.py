"""Email failures a user sees; each message is safe to show (no address of anyone else, no secret)."""

from __future__ import annotations


class EmailError(ValueError):
    """A refused email change or verification; `field` names the input at fault (422 on it)."""

    def __init__(self, message: str, field: str = "address") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class EmailNotFound(EmailError):
    """No address set, or a verification link that is unknown or another user's (404: the same to them)."""


class EmailUnavailable(EmailError):
    """Email is off (no SMTP_HOST) or the mail server would not take the message now (503, retry later)."""


class EmailOff(EmailUnavailable):
    """No SMTP server is configured: the request conflicts with how this server is set up (409, not 5xx)."""


class EmailRateLimited(EmailError):
    """Too many verification emails for this user this hour (429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
