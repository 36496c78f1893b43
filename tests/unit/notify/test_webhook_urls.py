"""The webhook URL guard: what any environment refuses, what prod refuses (only public https), and the
pinned target a delivery is sent to (the checked address, the original name in Host and SNI)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from backend.config import Settings
from backend.notify.webhooks import urls
from backend.notify.webhooks.secrets import SecretCipher, WebhookSecretError, new_secret
from tests.wallets import TEST_SECRET_KEY

DEV = Settings(env="dev", maxxit_secret_key=TEST_SECRET_KEY)
PROD = Settings(env="prod", maxxit_secret_key=TEST_SECRET_KEY, public_url="https://maxxit.example")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "http://user:pass@example.com/hook",
        "https://token@example.com/hook",
        "http://example.com/hook#frag",
        "http:///nohost",
        "http://exa mple.com/",
        "https://example.com/" + "a" * urls.MAX_URL_LENGTH,
        "http://xn--/",  # httpx raised IDNAError reading this host: a 500 once
        "http://xn--a.example/",
        "https://a.xn--zz.example/",
        "http://exa\u200bmple.com/",
        "http://%41.example/",
        "http://a..example/",
        "http://-a.example/",
        "http://example.com:99999/",
        "http://example.com:65536/",
        "http://example.com:0/",
        "http://example.com\x7f/",
    ],
)
def test_refused_everywhere(url):
    for settings in (DEV, PROD):
        with pytest.raises(urls.UrlRejected):
            urls.check_url(url, settings)


def test_dev_accepts_local_receivers():
    for url in ("http://ünicode.example/x", "http://xn--nicode-2ya.example:65535/", "http://a_b.example:1/"):
        assert urls.check_url(url, DEV) == url
    assert urls.check_url(" http://127.0.0.1:8080/hook ", DEV) == "http://127.0.0.1:8080/hook"
    assert urls.pin("http://localhost:9/hook", DEV) == urls.Pinned("http://localhost:9/hook")


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # public, but plain http
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.100.100.200/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[ff02::1]/hook",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://no-such-host.invalid/hook",
    ],
)
def test_prod_refuses_anything_but_public_https(url):
    with pytest.raises(urls.UrlRejected):
        urls.check_url(url, PROD)
    with pytest.raises(urls.UrlRejected):  # and again when a delivery would be sent
        urls.pin(url, PROD)


def test_prod_accepts_a_public_address():
    assert urls.check_url("https://93.184.216.34/hook", PROD) == "https://93.184.216.34/hook"
    assert urls.pin("https://93.184.216.34:8443/hook", PROD) == urls.Pinned("https://93.184.216.34:8443/hook")
    assert urls.is_public(ipaddress.ip_address("2606:4700:4700::1111"))


def test_pinned_target_keeps_the_name_for_host_and_tls():
    address = ipaddress.ip_address("93.184.216.34")
    pinned = urls.pinned_to(httpx.URL("https://hooks.example.com/in?x=1"), address)
    assert pinned == urls.Pinned("https://93.184.216.34/in?x=1", "hooks.example.com", "hooks.example.com")
    pinned = urls.pinned_to(
        httpx.URL("http://hooks.example.com:8080/in"), ipaddress.ip_address("2606:4700::1")
    )
    assert pinned == urls.Pinned("http://[2606:4700::1]:8080/in", "hooks.example.com:8080", None)


def test_secrets_are_whsec_and_bound_to_their_endpoint():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    cipher = SecretCipher.from_settings(DEV)
    blob = cipher.encrypt(7, secret)
    assert secret.encode() not in blob and secret[6:].encode() not in blob
    assert cipher.decrypt(7, blob) == secret
    with pytest.raises(WebhookSecretError):
        cipher.decrypt(8, blob)  # copied onto another endpoint's row
    assert "whsec" not in repr(cipher) and TEST_SECRET_KEY not in repr(cipher)
