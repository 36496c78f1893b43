"""The platform secret (MAXXIT_SECRET_KEY): signs session tokens and keys the encryption of stored secrets.

Production must set it. The embedded mode (`make run`) creates one on first use in `data/secret_key`,
readable by its owner only, so a fresh machine needs no setup and restarts keep sessions valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from backend.config import DATA_DIR, Settings

logger = logging.getLogger(__name__)

DEV_KEY_FILE = DATA_DIR / "secret_key"
MIN_KEY_BYTES = 32


class SecretKeyMissing(RuntimeError):
    """Production without MAXXIT_SECRET_KEY: refusing to invent a key nobody else knows."""


def load_secret_key(settings: Settings, *, dev_key_file: Path = DEV_KEY_FILE) -> bytes:
    """The key as bytes; at least 32 of them, so HMAC and key derivation get full strength."""
    if settings.maxxit_secret_key is not None:
        key = settings.maxxit_secret_key.get_secret_value().encode()
        if len(key) < MIN_KEY_BYTES:
            raise SecretKeyMissing(f"MAXXIT_SECRET_KEY must be at least {MIN_KEY_BYTES} characters long")
        return key
    if settings.env == "prod":
        raise SecretKeyMissing("MAXXIT_SECRET_KEY is required when ENV=prod")
    return _dev_key(dev_key_file)


def _dev_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(secrets.token_bytes(MIN_KEY_BYTES))
        # O_EXCL: two processes starting together both end up reading the one that won.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            logger.info("created a development secret key in %s", path)
    return path.read_bytes().strip()


def derive_key(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so a token signer and a wallet cipher never share key material."""
    return hmac.new(load_secret_key(settings), f"maxxit/{purpose}".encode(), hashlib.sha256).digest()
