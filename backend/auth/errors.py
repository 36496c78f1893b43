"""Auth failures. Each message is safe to show the user: it says what failed, never a secret."""

from __future__ import annotations


class AuthError(Exception):
    """Base of every sign-in, session and permission failure."""


class InvalidAddress(AuthError):
    """Not a 20-byte hex Ethereum address."""


class SignInRejected(AuthError):
    """The SIWE message or its signature did not verify; nothing was signed in."""


class NotAuthenticated(AuthError):
    """No session, or an expired, revoked or forged one."""


class Forbidden(AuthError):
    """Signed in, but this user may not do this."""


class UserNotFound(AuthError):
    """No user has this address."""


class LastAdmin(AuthError):
    """Demoting this admin would leave the platform without one."""


class RateLimited(AuthError):
    """Too many attempts; `retry_after` seconds until the window frees up."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
