"""Sign-In-With-Ethereum through the service on SQLite and PostgreSQL: every way a sign-in is refused."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from backend.audit import Action
from backend.auth import messages, service
from backend.auth.errors import InvalidAddress, NotAuthenticated, SignInRejected
from backend.config import Settings
from backend.models import AuditLog, AuthNonce, AuthSession, User
from backend.models.common import utcnow
from backend.models.enums import Role
from tests.wallets import TEST_SECRET_KEY, Wallet

SITE = "https://maxxit.example"


def _settings(**overrides) -> Settings:
    return Settings(**{"maxxit_secret_key": TEST_SECRET_KEY, "public_url": SITE, **overrides})


SETTINGS = _settings()


def _count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditLog.action).order_by(AuditLog.id)).all())


def test_a_fresh_key_signs_in_and_becomes_a_trader(session: Session):
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    assert "maxxit.example wants you to sign in with your Ethereum account:" in challenge.message
    assert f"Nonce: {challenge.nonce}" in challenge.message
    assert "Chain ID: 42161" in challenge.message

    signed = service.sign_in(
        session, challenge.message, wallet.sign(challenge.message), settings=SETTINGS, ip="10.0.0.1"
    )

    assert signed.user.address == wallet.lower
    assert signed.user.role == Role.TRADER
    assert service.authenticate(session, signed.token, settings=SETTINGS).id == signed.user.id
    user = session.exec(select(User)).one()
    assert user.last_login_at is not None
    assert _actions(session) == [Action.USER_CREATED, Action.SIGN_IN]
    assert session.exec(select(AuditLog).where(AuditLog.action == Action.SIGN_IN)).one().ip == "10.0.0.1"


def test_second_sign_in_reuses_the_user(session: Session):
    wallet = Wallet()
    for _ in range(2):
        challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
        service.sign_in(session, challenge.message, wallet.sign(challenge.message), settings=SETTINGS)
    assert _count(session, User) == 1
    assert _count(session, AuthSession) == 2


def _rejected(session: Session, message: str, signature: str, reason: str, settings: Settings = SETTINGS):
    with pytest.raises(SignInRejected, match=reason):
        service.sign_in(session, message, signature, settings=settings, ip="10.0.0.9")
    assert _count(session, AuthSession) == 0 or reason == "already used"
    failures = select(AuditLog).where(AuditLog.action == Action.SIGN_IN_FAILED).order_by(AuditLog.id)
    failure = session.exec(failures).all()[-1]  # the newest: without an order PostgreSQL returns any
    assert reason in failure.details["reason"]


def test_reused_nonce_is_refused(session: Session):
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    signature = wallet.sign(challenge.message)
    service.sign_in(session, challenge.message, signature, settings=SETTINGS)
    _rejected(session, challenge.message, signature, "already used")
    assert _count(session, AuthSession) == 1


def test_expired_message_is_refused(session: Session):
    wallet = Wallet()
    past = utcnow() - timedelta(minutes=SETTINGS.auth_nonce_ttl_minutes + 1)
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS, now=past)
    _rejected(session, challenge.message, wallet.sign(challenge.message), "expired")


def test_message_expiry_is_checked_even_when_the_nonce_is_fresh(session: Session):
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    nonce = session.exec(select(AuthNonce)).one()
    nonce.expires_at = utcnow() + timedelta(hours=1)
    session.commit()
    later = challenge.expires_at + timedelta(seconds=1)
    with pytest.raises(SignInRejected, match="expired"):
        service.sign_in(
            session, challenge.message, wallet.sign(challenge.message), settings=SETTINGS, now=later
        )


@pytest.mark.parametrize(
    ("issued_with", "reason"),
    [
        (_settings(siwe_domain="evil.example"), "is for evil.example, not maxxit.example"),
        (_settings(siwe_chain_id=1), "is for chain 1, expected 42161"),
        (_settings(siwe_domain="maxxit.example", public_url="https://evil.example"), "another site's URI"),
    ],
    ids=["wrong-domain", "wrong-chain", "wrong-uri"],
)
def test_message_for_another_site_or_chain_is_refused(session: Session, issued_with: Settings, reason: str):
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=issued_with)
    _rejected(session, challenge.message, wallet.sign(challenge.message), reason)


def test_signature_by_another_key_is_refused(session: Session):
    wallet, impostor = Wallet(), Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    _rejected(session, challenge.message, impostor.sign(challenge.message), "does not match")


def test_tampered_message_is_refused(session: Session):
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    signature = wallet.sign(challenge.message)
    tampered = challenge.message.replace("Sign in to Maxxit.", "Sign in to Maxxit!")
    _rejected(session, tampered, signature, "differs from the one issued")


def test_message_naming_another_address_than_its_nonce_is_refused(session: Session):
    """A nonce issued to one wallet cannot be spent by another, even with a valid signature."""
    victim, attacker = Wallet(), Wallet()
    issued = service.issue_challenge(session, victim.address, settings=SETTINGS)
    swapped = issued.message.replace(victim.address, attacker.address)
    _rejected(session, swapped, attacker.sign(swapped), "differs from the one issued")


def test_unknown_nonce_is_refused(session: Session):
    wallet = Wallet()
    now = utcnow()
    text = messages.build_message(
        wallet.lower,
        "deadbeefdeadbeef",
        settings=SETTINGS,
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    _rejected(session, text, wallet.sign(text), "unknown sign-in request")


@pytest.mark.parametrize(
    ("message", "signature", "reason"),
    [("hello", "0x00", "unknown sign-in request"), (None, "0x1234", "signature is malformed")],
)
def test_garbage_is_refused_cleanly(session: Session, message, signature, reason):
    wallet = Wallet()
    if message is None:
        message = service.issue_challenge(session, wallet.address, settings=SETTINGS).message
    _rejected(session, message, signature, reason)


@pytest.fixture
def parser_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message handed to the real EIP-4361 parser, to prove which ones never reach it."""
    calls: list[str] = []
    real = messages.siwe_lib.SiweMessage.from_message

    def counting(message: str, *args, **kwargs):
        calls.append(message)
        return real(message, *args, **kwargs)

    monkeypatch.setattr(messages.siwe_lib.SiweMessage, "from_message", counting)
    return calls


def test_overlong_junk_is_refused_without_parsing(session: Session, parser_calls: list[str]):
    wallet = Wallet()
    issued = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    junk = issued.message + "\n" + "a" * 4000
    _rejected(session, junk, wallet.sign(junk), "longer than 2048 characters")
    assert parser_calls == []


def test_a_message_differing_from_the_issued_one_is_refused_without_parsing(
    session: Session, parser_calls: list[str]
):
    wallet = Wallet()
    issued = service.issue_challenge(session, wallet.address, settings=SETTINGS)
    for text in (
        f"junk {'x' * 1500}\nNonce: {issued.nonce}\nmore junk",
        issued.message.replace("Version: 1", "Version: 1 "),
    ):
        _rejected(session, text, wallet.sign(text), "differs from the one issued")
    _rejected(session, "Nonce: 0123456789abcdef\n" + "y" * 1000, "0x00", "unknown sign-in request")
    assert parser_calls == []
    service.sign_in(session, issued.message, wallet.sign(issued.message), settings=SETTINGS)
    assert parser_calls == [issued.message]


def test_bad_address_gets_no_nonce(session: Session):
    with pytest.raises(InvalidAddress):
        service.issue_challenge(session, "0xnope", settings=SETTINGS)
    assert _count(session, AuthNonce) == 0


def test_racing_verifications_of_one_message_open_one_session(engine: sa.Engine):
    """Two requests carrying the same signed message at once: the conditional UPDATE lets one through."""
    wallet = Wallet()
    with Session(engine) as s:
        challenge = service.issue_challenge(s, wallet.address, settings=SETTINGS)
    signature = wallet.sign(challenge.message)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                service.sign_in(s, challenge.message, signature, settings=SETTINGS)
                outcomes.append("ok")
            except SignInRejected:
                outcomes.append("rejected")
            except sa.exc.OperationalError:  # SQLite: "database is locked" is also a refusal
                outcomes.append("rejected")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected"]
    with Session(engine) as s:
        assert _count(s, AuthSession) == 1
        assert _count(s, User) == 1


def _signed_in(session: Session, settings: Settings = SETTINGS) -> service.SignedIn:
    wallet = Wallet()
    challenge = service.issue_challenge(session, wallet.address, settings=settings)
    return service.sign_in(session, challenge.message, wallet.sign(challenge.message), settings=settings)


def test_expired_session_is_refused(session: Session):
    signed = _signed_in(session)
    later = signed.expires_at + timedelta(seconds=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        service.authenticate(session, signed.token, settings=SETTINGS, now=later)


def test_signed_out_session_is_refused_and_signing_out_twice_is_fine(session: Session):
    signed = _signed_in(session)
    service.sign_out(session, signed.token, settings=SETTINGS)
    service.sign_out(session, signed.token, settings=SETTINGS)
    with pytest.raises(NotAuthenticated, match="signed out"):
        service.authenticate(session, signed.token, settings=SETTINGS)
    assert _actions(session).count(Action.SIGN_OUT) == 1


def test_tokens_signed_with_another_key_are_refused(session: Session):
    signed = _signed_in(session)
    other = _settings(maxxit_secret_key="another-key-" + "x" * 40)
    with pytest.raises(NotAuthenticated, match="invalid session token"):
        service.authenticate(session, signed.token, settings=other)
    with pytest.raises(NotAuthenticated, match="sign in required"):
        service.authenticate(session, None, settings=SETTINGS)


def test_no_token_or_key_is_stored_in_clear(session: Session, engine: sa.Engine):
    signed = _signed_in(session)
    dump = ""
    with engine.connect() as conn:
        for table in ("auth_sessions", "audit_logs", "users", "auth_nonces"):
            dump += repr(conn.execute(sa.text(f"SELECT * FROM {table}")).all())
    assert signed.token not in dump
    assert signed.token.split(".")[0] not in dump
    assert TEST_SECRET_KEY not in dump


def test_development_key_file_is_used_when_no_key_is_set(session: Session, tmp_path: Path, monkeypatch):
    import backend.secret_key as secret_key

    monkeypatch.setattr(secret_key, "DEV_KEY_FILE", tmp_path / "secret_key")
    monkeypatch.setattr(
        secret_key.load_secret_key, "__kwdefaults__", {"dev_key_file": tmp_path / "secret_key"}
    )
    settings = Settings(public_url=SITE)
    signed = _signed_in(session, settings)
    assert service.authenticate(session, signed.token, settings=settings).id == signed.user.id
    assert (tmp_path / "secret_key").exists()


def test_purge_keeps_recent_rows_and_deletes_old_ones(session: Session):
    from backend.auth.sessions import purge_expired

    live = _signed_in(session)
    old = _signed_in(session)
    service.sign_out(session, old.token, settings=SETTINGS)
    service.issue_challenge(session, Wallet().address, settings=SETTINGS, now=utcnow() - timedelta(days=30))

    kept = purge_expired(session, older_than=timedelta(days=7))
    assert (kept.nonces, kept.sessions) == (1, 0)
    later = utcnow() + timedelta(days=8)
    purged = purge_expired(session, older_than=timedelta(days=7), now=later)
    assert purged.sessions == 1  # the signed-out one; the live one expires in SESSION_TTL_HOURS
    assert service.authenticate(session, live.token, settings=SETTINGS).id == live.user.id
