"""Which URLs a webhook may post to, checked when an endpoint is saved and again when each delivery is sent.

Everywhere: http or https, at most `MAX_URL_LENGTH` characters, a well-formed host name (letters, digits,
hyphens; an internationalised name must be valid IDNA) or an IP address, a port from 1 to 65535 if one is
given, no user name or password in it (they would be stored and shown in logs), no fragment. With `ENV=prod`
also: https only, and the host must resolve, every address it resolves to public (no loopback, private,
link-local, shared, multicast, reserved or unspecified address, nor one of those inside an IPv4-mapped, 6to4,
Teredo or NAT64 IPv6 address, nor a cloud metadata address), so a user cannot make the platform probe its own
network.

DNS rebinding: a name that was public when saved may resolve to 127.0.0.1 later. So at send time `pin`
resolves the host again, checks every address, and the request goes to the checked address itself (the URL's
host replaced by that IP, the original name kept in the Host header and as the TLS SNI name, against which the
certificate is verified). No second lookup happens between the check and the connection. Outside prod nothing
is resolved or refused: local receivers such as http://127.0.0.1:8080/hook are how tests and the demo work.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

import httpx
import idna

from backend.config import Settings

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
MAX_PORT = 65535
HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services; most are link-local or private already, listed so none is missed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRejected(ValueError):
    """The URL may not be used; the message says why and is safe to show."""


@dataclass(frozen=True)
class Pinned:
    """Where a request really goes: `url` names the checked address; `host` goes in Host and TLS SNI."""

    url: str
    host: str | None = None  # the Host header, when the URL was rewritten to an address
    sni_hostname: str | None = None


def strict(settings: Settings) -> bool:
    return settings.env == "prod"


def check_url(url: str, settings: Settings) -> str:
    """The URL, stripped, if an endpoint may use it; else `UrlRejected`. Resolves the host in prod."""
    value = (url or "").strip()
    parsed = _parse(value, https_only=strict(settings))
    if strict(settings):
        _public_addresses(parsed)
    return value


def pin(url: str, settings: Settings) -> Pinned:
    """The request target for a delivery: in prod, the URL rewritten to an address just checked."""
    parsed = _parse(url, https_only=strict(settings))
    if not strict(settings):
        return Pinned(url)
    address = _public_addresses(parsed)[0]
    if _is_ip(parsed.host):  # an address literal: checked, nothing to pin
        return Pinned(url)
    return pinned_to(parsed, address)


def pinned_to(parsed: httpx.URL, address: IPAddress) -> Pinned:
    """The URL sent to `address`, its own host name kept for the Host header, SNI and the certificate."""
    default_port = {"http": 80, "https": 443}[parsed.scheme]
    host = parsed.host if parsed.port in (None, default_port) else f"{parsed.host}:{parsed.port}"
    target = parsed.copy_with(host=str(address))
    sni = parsed.host if parsed.scheme == "https" else None
    return Pinned(str(target), host=host, sni_hostname=sni)


def is_public(address: IPAddress) -> bool:
    """True only for an address on the public internet that is not a metadata service."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if address in METADATA_ADDRESSES:
        return False
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if address.is_loopback or address.is_link_local or address.is_private:
        return False
    return address.is_global


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _parse(value: str, *, https_only: bool) -> httpx.URL:
    if not value:
        raise UrlRejected("a URL is required")
    if len(value) > MAX_URL_LENGTH:
        raise UrlRejected(f"at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UrlRejected("a URL may not contain spaces or control characters")
    try:
        parsed = httpx.URL(value)
        # httpx decodes the host (IDNA) and the port lazily: read them here, where a bad one is caught.
        scheme, host, port = parsed.scheme, parsed.host, parsed.port
        userinfo, fragment = parsed.userinfo, parsed.fragment
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise UrlRejected("not a valid URL") from None
    allowed = ("https",) if https_only else ("http", "https")
    if scheme not in allowed:
        raise UrlRejected("only https URLs are accepted" if https_only else "only http and https URLs")
    if not host:
        raise UrlRejected("the URL has no host")
    if not _is_ip(host) and not _is_host_name(parsed.raw_host):
        raise UrlRejected("the URL's host is not a valid host name")
    if port is not None and not 1 <= port <= MAX_PORT:
        raise UrlRejected(f"the port must be from 1 to {MAX_PORT}")
    if userinfo:
        raise UrlRejected("a URL may not contain a user name or password")
    if fragment:
        raise UrlRejected("a URL may not contain a #fragment")
    return parsed


def _is_host_name(raw_host: bytes) -> bool:
    """A DNS name of ASCII labels (an internationalised name arrives here IDNA-encoded); each `xn--` label
    must decode, since the resolver and the TLS name check would otherwise each read it their own way."""
    name = raw_host.decode("ascii", "replace").removesuffix(".")
    if not name or len(name) > MAX_HOST_LENGTH:
        return False
    for label in name.split("."):
        if not HOST_LABEL.fullmatch(label):
            return False
        if label.lower().startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                return False
    return True


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _public_addresses(parsed: httpx.URL) -> list[IPAddress]:
    """Every address the host resolves to, all public, in resolver order; else `UrlRejected`."""
    host = parsed.host
    if _is_ip(host):
        addresses = [ipaddress.ip_address(host)]
    else:
        try:
            infos = socket.getaddrinfo(host, parsed.port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise UrlRejected(f"the host {host} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise UrlRejected(f"the host {host} does not resolve")
    if not all(is_public(a) for a in addresses):
        raise UrlRejected("the URL must point to a public address (not loopback, private or link-local)")
    return addresses
