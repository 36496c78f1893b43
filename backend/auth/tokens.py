"""Session tokens: random, signed with the platform key, stored only as a keyed hash.

A token is `<random>.<signature>`. The signature lets a forged or mangled token be refused before any
database lookup; the keyed hash means a copy of the database alone cannot be turned back into sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

RANDOM_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: bytes, random_part: str) -> str:
    return _b64(hmac.new(key, b"session:" + random_part.encode(), hashlib.sha256).digest())


def new_token(key: bytes) -> str:
    random_part = _b64(secrets.token_bytes(RANDOM_BYTES))
    return f"{random_part}.{_sign(key, random_part)}"


def is_signed(key: bytes, token: str) -> bool:
    random_part, dot, signature = token.partition(".")
    if not dot or not random_part or len(token) > 200:
        return False
    return hmac.compare_digest(_sign(key, random_part), signature)


def token_hash(key: bytes, token: str) -> str:
    """64 hex characters; what `auth_sessions.token_hash` holds."""
    return hmac.new(key, b"lookup:" + token.encode(), hashlib.sha256).hexdigest()
