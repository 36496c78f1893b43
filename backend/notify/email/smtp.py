"""Hand one message to the SMTP server from the SMTP_* settings, and say whether a failure is worth a retry.

A refused connection, a timeout or a 4xx answer is temporary (the server may take it later); a 5xx refusal
of the recipient or the message is permanent. The login password is sent to the server only: never logged,
never put in an error.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from backend.config import Settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0  # per socket operation; a dead server fails a send instead of hanging a worker


class SmtpError(Exception):
    """The server did not take the message; `permanent` when retrying cannot help (a 5xx refusal)."""

    def __init__(self, message: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send_message(settings: Settings, message: EmailMessage, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Deliver `message` to its To address through the configured server, or raise SmtpError."""
    if not settings.smtp_host:
        raise SmtpError("email is not configured (SMTP_HOST is unset)", permanent=True)
    try:
        with _connect(settings, timeout) as client:
            if settings.smtp_starttls and not settings.smtp_ssl:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_username and settings.smtp_password is not None:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            client.send_message(message)
    except SmtpError:
        raise
    except Exception as e:  # every failure becomes ours at this boundary, classified
        raise _classify(e) from e


def _connect(settings: Settings, timeout: float) -> smtplib.SMTP:
    host, port = settings.smtp_host or "", settings.smtp_port
    if settings.smtp_ssl:
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    return smtplib.SMTP(host, port, timeout=timeout)


def _classify(error: Exception) -> SmtpError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        code = max(codes) if codes else None
        return SmtpError(f"recipient refused ({code})", code=code, permanent=bool(code and code >= 500))
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # The platform's credentials, not the recipient: an operator can fix it, so later tries may work.
        logger.warning("SMTP login refused (%s)", error.smtp_code)
        return SmtpError(f"mail server refused the login ({error.smtp_code})", code=error.smtp_code)
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        text = _short(error.smtp_error)
        return SmtpError(f"mail server answered {code} {text}".strip(), code=code, permanent=code >= 500)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return SmtpError("mail server does not support STARTTLS (set SMTP_STARTTLS=false?)", permanent=True)
    if isinstance(error, TimeoutError):
        return SmtpError("mail server timed out")
    if isinstance(error, (OSError, smtplib.SMTPException)):
        return SmtpError(f"mail server unreachable: {_short(str(error)) or type(error).__name__}")
    return SmtpError(f"sending failed: {type(error).__name__}")


def _short(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())[:160]
