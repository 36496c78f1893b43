"""EIP-4361 (Sign-In-With-Ethereum) messages: built by the server, checked field by field on the way back.

The `siwe` package parses the text and recovers the signer; this module decides what the platform accepts:
its own domain and URI, its chain, a message that has not expired.
"""

from __future__ import annotations

import re
from datetime import datetime

from eth_utils import to_checksum_address
from siwe import siwe as siwe_lib

from backend.auth.errors import SignInRejected
from backend.config import Settings

# An externally owned account's ECDSA signature: r, s, v. Contract wallets (EIP-1271) are not supported.
SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
# The nonce line of a message we issued (build_message writes 32 hex characters); found without parsing.
NONCE_LINE = re.compile(r"^Nonce: ([0-9a-zA-Z]{8,64})$", re.MULTILINE)
STATEMENT = "Sign in to Maxxit. This request will not trigger a blockchain transaction or cost any gas."


def build_message(
    address: str, nonce: str, *, settings: Settings, issued_at: datetime, expires_at: datetime
) -> str:
    """The text the wallet shows and signs; every field the verifier checks is fixed here."""
    message = siwe_lib.SiweMessage(
        domain=settings.sign_in_domain,
        address=to_checksum_address(address),
        statement=STATEMENT,
        uri=settings.frontend_url,
        version="1",
        chain_id=settings.siwe_chain_id,
        nonce=nonce,
        issued_at=siwe_lib.ISO8601Datetime.from_datetime(issued_at),
        expiration_time=siwe_lib.ISO8601Datetime.from_datetime(expires_at),
    )
    return message.prepare_message()


def parse_message(text: str) -> siwe_lib.SiweMessage:
    """The message's fields, or SignInRejected when it is not an EIP-4361 message at all."""
    try:
        return siwe_lib.SiweMessage.from_message(text)
    except Exception as e:  # the ABNF parser and pydantic raise many types; all mean "malformed"
        raise SignInRejected("the sign-in message is malformed") from e


def check_message(
    message: siwe_lib.SiweMessage, signature: str, *, settings: Settings, nonce: str, now: datetime
) -> str:
    """The lower-case signer address once domain, URI, chain, nonce, times and signature all check out."""
    if not SIGNATURE.fullmatch(signature or ""):
        raise SignInRejected("the signature is malformed: expected 0x and 65 bytes of hex")
    if message.domain != settings.sign_in_domain:
        raise SignInRejected(f"the message is for {message.domain}, not {settings.sign_in_domain}")
    if message.uri.rstrip("/") != settings.frontend_url:
        raise SignInRejected("the message names another site's URI")
    if message.chain_id != settings.siwe_chain_id:
        expected = settings.siwe_chain_id
        raise SignInRejected(f"the message is for chain {message.chain_id}, expected {expected}")
    try:
        message.verify(signature, domain=settings.sign_in_domain, nonce=nonce, timestamp=now)
    except siwe_lib.ExpiredMessage as e:
        raise SignInRejected("the sign-in message has expired; sign in again") from e
    except siwe_lib.NotYetValidMessage as e:
        raise SignInRejected("the sign-in message is not valid yet") from e
    except siwe_lib.VerificationError as e:
        raise SignInRejected("the signature does not match the message's address") from e
    except Exception as e:  # malformed hex, wrong length: eth-account raises assorted errors
        raise SignInRejected("the signature is malformed") from e
    return message.address.lower()
