"""Where the app sends people: sign-in redirects that can only ever land back on this site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

SIGNIN_PATH = "/signin"
HOME = "/"
MAX_NEXT_LENGTH = 512


def safe_next_path(raw: str | None) -> str:
    """`raw` when it is a same-site path ("/x", never "//host" or "/\\host"), else the home page.

    The value comes from the query string, so anyone can craft it: an open redirect after sign-in would
    hand a freshly signed-in user to another site.
    """
    value = (raw or "").strip()
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return HOME
    # Browsers read a backslash as a slash and drop tabs and newlines: "/\\evil.com" is "//evil.com".
    if value.startswith(("//", "/\\")) or any(
        ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value
    ):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    if parts.path.rstrip("/") == SIGNIN_PATH:
        return HOME  # never loop back to the sign-in page
    return value


def signin_url(next_path: str) -> str:
    """The sign-in page, told to come back to `next_path` afterwards."""
    target = safe_next_path(next_path)
    if target == HOME:
        return SIGNIN_PATH
    return f"{SIGNIN_PATH}?next={quote(target, safe='/')}"
