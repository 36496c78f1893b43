"""The emails themselves: one event, a day's digest, the address check. Each has a plain-text and an HTML
part built from `render.render`, so an email says what the other channels say.

Everything that comes from a payload is HTML-escaped in the HTML part, and header values are stripped of
line breaks: a hostile agent name cannot add markup, a link or a header.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from backend.config import Settings
from backend.notify.render import Message, render

PREFERENCES_PATH = "/settings/notifications"
INBOX_PATH = "/notifications"
VERIFY_PATH = "/settings/notifications/verify-email"
DIGEST_MAX_ITEMS = 50  # a digest lists at most this many events; the rest are "and N more" with a link
SUBJECT_MAX = 160
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class DigestItem:
    event_type: str
    payload: dict[str, Any]
    created_at: datetime


def event_email(settings: Settings, to: str, event_type: str, payload: dict[str, Any]) -> EmailMessage:
    """One event as an email: the title as subject, its figures as a list and a table, a link to the site."""
    message = render(event_type, payload)
    url = settings.frontend_url + message.path
    text = "\n".join(
        [message.title, "", *_text_lines(message), "", f"View: {url}", "", _footer_text(settings)]
    )
    body = (
        f'<h2 style="margin:0 0 12px;font-size:18px">{_e(message.title)}</h2>'
        f"{_html_table(message)}{_button(url, 'Open Maxxit')}"
    )
    return _email(settings, to, message.title, text, _page(settings, body))


def digest_email(settings: Settings, to: str, items: Sequence[DigestItem]) -> EmailMessage:
    """A day's events in one email, grouped by type (the most recent group first), newest first in each;
    past `DIGEST_MAX_ITEMS` the rest are counted with a link to the inbox."""
    total = len(items)
    newest = sorted(items, key=lambda i: i.created_at, reverse=True)
    shown, hidden = newest[:DIGEST_MAX_ITEMS], total - min(total, DIGEST_MAX_ITEMS)
    groups: dict[str, list[tuple[DigestItem, Message]]] = {}
    for item in shown:  # dicts keep insertion order: the group with the newest event comes first
        groups.setdefault(item.event_type, []).append((item, render(item.event_type, item.payload)))
    subject = f"Your Maxxit day: {total} event{'' if total == 1 else 's'}"
    inbox = settings.frontend_url + INBOX_PATH
    text_parts: list[str] = [subject, ""]
    html_parts: list[str] = [f'<h2 style="margin:0 0 12px;font-size:18px">{_e(subject)}</h2>']
    for event_type, entries in groups.items():
        heading = f"{event_type} ({len(entries)})"
        text_parts += [heading, "-" * len(heading)]
        html_parts.append(f'<h3 style="margin:18px 0 6px;font-size:15px">{_e(heading)}</h3>')
        for item, message in entries:
            when = item.created_at.strftime("%H:%M UTC")
            text_parts += [f"{when}  {message.title}", *(f"    {line}" for line in _text_lines(message)), ""]
            html_parts.append(
                f'<p style="margin:10px 0 4px"><b>{_e(message.title)}</b> '
                f'<span style="color:#666">{_e(when)}</span></p>{_html_table(message)}'
            )
    if hidden:
        text_parts += [f"and {hidden} more: {inbox}", ""]
        html_parts.append(f'<p>and {hidden} more: <a href="{_e(inbox)}">see them all</a></p>')
    text_parts += [f"Inbox: {inbox}", "", _footer_text(settings)]
    html_parts.append(_button(inbox, "Open your inbox"))
    return _email(settings, to, subject, "\n".join(text_parts), _page(settings, "".join(html_parts)))


def verification_email(settings: Settings, to: str, token: str, hours: int) -> EmailMessage:
    """The link that proves the address is the user's; nothing is sent to it until it is followed."""
    url = verify_url(settings, token)
    subject = "Confirm your email address for Maxxit"
    text = (
        f"{subject}\n\nOpen this link (signed in to Maxxit) to receive notifications at {to}:\n\n{url}\n\n"
        f"The link works for {hours} hours. If you did not ask for this, ignore this email: nothing will be "
        f"sent to this address.\n"
    )
    body = (
        f'<h2 style="margin:0 0 12px;font-size:18px">{_e(subject)}</h2>'
        f"<p>Open this link, signed in to Maxxit, to receive notifications at <b>{_e(to)}</b>.</p>"
        f"{_button(url, 'Confirm this address')}"
        f'<p style="color:#666">The link works for {hours} hours. If you did not ask for this, ignore this '
        f"email: nothing will be sent to this address.</p>"
    )
    return _email(settings, to, subject, text, _page(settings, body, footer=False))


def verify_url(settings: Settings, token: str) -> str:
    return f"{settings.frontend_url}{VERIFY_PATH}?token={token}"


def _text_lines(message: Message) -> list[str]:
    width = max((len(label) for label, _ in message.lines), default=0)
    return [f"{label + ':':<{width + 1}} {_one_line(value)}" for label, value in message.lines]


def _html_table(message: Message) -> str:
    rows = "".join(
        f'<tr><td style="padding:3px 14px 3px 0;color:#666">{_e(label)}</td>'
        f'<td style="padding:3px 0">{_e(_one_line(value))}</td></tr>'
        for label, value in message.lines
    )
    return f'<table style="border-collapse:collapse;font-size:14px">{rows}</table>'


def _button(url: str, label: str) -> str:
    return (
        f'<p style="margin:18px 0"><a href="{_e(url)}" style="background:#3e63dd;color:#fff;'
        f'padding:9px 16px;border-radius:6px;text-decoration:none;display:inline-block">{_e(label)}</a></p>'
    )


def _footer_text(settings: Settings) -> str:
    return f"--\nChoose which notifications you get, and how: {settings.frontend_url}{PREFERENCES_PATH}"


def _page(settings: Settings, body: str, *, footer: bool = True) -> str:
    foot = ""
    if footer:
        url = settings.frontend_url + PREFERENCES_PATH
        foot = (
            f'<hr style="border:none;border-top:1px solid #ddd;margin:24px 0 8px">'
            f'<p style="font-size:12px;color:#666">Choose which notifications you get, and how: '
            f'<a href="{_e(url)}">notification settings</a>.</p>'
        )
    return (
        '<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;'
        f'color:#111;margin:0;padding:20px"><div style="max-width:600px">{body}{foot}</div></body></html>'
    )


def _email(settings: Settings, to: str, subject: str, text: str, html_body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = Address(addr_spec=to)
    message["Subject"] = _one_line(subject)[:SUBJECT_MAX]
    message["Date"] = format_datetime(datetime.now().astimezone())
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "maxxit.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html_body, subtype="html")
    return message


def _one_line(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


def _e(value: str) -> str:
    return html.escape(value, quote=True)
