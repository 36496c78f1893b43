"""The X API v2 source against a local HTTP server speaking X's shapes: lookups, cursors, pages, limits."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from backend.config import Settings
from backend.models import CtAccount, CtPost
from backend.models.common import utcnow
from backend.models.enums import PostSource
from backend.signals.sources.x_api import (
    XApiClient,
    XApiError,
    XAuthError,
    XRateLimited,
    XTemporaryError,
    build_x_client,
    poll_x_accounts,
)
from tests.factories import Factory

TOKEN = "AAAAtest-bearer-7f3c9d1e"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    auth: str | None


class FakeX:
    """X API v2 as far as this source uses it; scripted replies (by path prefix) go first, once each."""

    def __init__(self) -> None:
        self.url = ""
        self.users: dict[str, str] = {}  # lower-case handle -> id
        self.suspended: set[str] = set()
        self.protected: set[str] = set()  # user ids whose timelines are refused
        self.tweets: dict[str, list[dict[str, str]]] = {}
        self.script: list[tuple[str, Reply]] = []
        self.rate_headers: dict[str, str] = {}
        self.requests: list[Seen] = []
        self._next_id = 1_790_000_000_000_000_000
        self._lock = threading.Lock()

    def add_user(self, handle: str, user_id: str) -> str:
        self.users[handle.lower()] = user_id
        self.tweets.setdefault(user_id, [])
        return user_id

    def tweet(self, user_id: str, text: str, at: datetime | None = None) -> str:
        self._next_id += 1000
        at = at or T0 - timedelta(minutes=1)
        created = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.tweets[user_id].append({"id": str(self._next_id), "text": text, "created_at": created})
        return str(self._next_id)

    def then(self, path_prefix: str, reply: Reply) -> None:
        self.script.append((path_prefix, reply))

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def answer(self, path: str, query: dict[str, str], auth: str | None) -> Reply:
        with self._lock:
            self.requests.append(Seen(path, query, auth))
            if auth != f"Bearer {TOKEN}":
                return Reply(
                    401,
                    {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                )
            for i, (prefix, reply) in enumerate(self.script):
                if path.startswith(prefix):
                    del self.script[i]
                    return reply
            parts = path.strip("/").split("/")
            if parts[:3] == ["2", "users", "by"] and len(parts) == 5:
                return self._user(parts[4])
            if parts[:2] == ["2", "users"] and len(parts) == 4 and parts[3] == "tweets":
                return self._timeline(parts[2], query)
            return Reply(404, {"title": "Not Found", "detail": path})

    def _user(self, handle: str) -> Reply:
        if handle.lower() in self.suspended:
            detail = f"User has been suspended: [{handle}]."
            return Reply(200, {"errors": [{"title": "Forbidden", "detail": detail}]})
        if handle.lower() not in self.users:
            detail = f"Could not find user with username: [{handle}]."
            return Reply(200, {"errors": [{"title": "Not Found Error", "detail": detail}]})
        user = {"id": self.users[handle.lower()], "name": handle.title(), "username": handle}
        return Reply(200, {"data": user}, dict(self.rate_headers))

    def _timeline(self, user_id: str, query: dict[str, str]) -> Reply:
        if query.get("tweet.fields") != "created_at" or query.get("exclude") != "retweets,replies":
            return Reply(400, {"errors": [{"title": "Invalid Request", "detail": "bad fields"}]})
        if user_id in self.protected:
            detail = f"Sorry, you are not authorized to see the user with id: [{user_id}]."
            return Reply(200, {"errors": [{"title": "Authorization Error", "detail": detail}]})
        since = int(query.get("since_id", "0"))
        size = int(query.get("max_results", "10"))
        newest_first = sorted(
            (t for t in self.tweets.get(user_id, []) if int(t["id"]) > since), key=lambda t: -int(t["id"])
        )
        offset = int(query.get("pagination_token", "0"))
        page = newest_first[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if offset + size < len(newest_first):
            meta["next_token"] = str(offset + size)
        escaped = [{**t, "text": t["text"].replace("&", "&amp;").replace("<", "&lt;")} for t in page]
        body = {"data": escaped, "meta": meta} if page else {"meta": meta}
        return Reply(200, body, dict(self.rate_headers))


def handler_for(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            reply = fake.answer(url.path, query, self.headers.get("Authorization"))
            payload = json.dumps(reply.body).encode() if reply.body is not None else b"oops"
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def client(fake_x: FakeX, clock: Clock) -> Iterator[XApiClient]:
    c = XApiClient(fake_x.url, TOKEN, timeout=5, clock=clock, sleep=clock.sleep)
    yield c
    c.close()


def epoch(at: datetime) -> str:
    return str(int(at.timestamp()))


def x_posts(session: Session) -> list[CtPost]:
    return list(session.exec(select(CtPost).where(CtPost.source == PostSource.X_API).order_by(CtPost.id)))


# The client on its own.


def test_user_lookup_sends_the_bearer_token(fake_x: FakeX, client: XApiClient) -> None:
    fake_x.add_user("VelvetBidTrades", "1001")
    assert client.user_id("VelvetBidTrades") == "1001"
    assert fake_x.requests[-1].path == "/2/users/by/username/VelvetBidTrades"
    assert fake_x.requests[-1].auth == f"Bearer {TOKEN}"


def test_an_unknown_user_is_a_clear_error(fake_x: FakeX, client: XApiClient) -> None:
    with pytest.raises(XApiError, match=r"cannot look up @nobody on X: Not Found Error: Could not find user"):
        client.user_id("nobody")


def test_a_handle_x_cannot_have_is_refused_without_a_request(fake_x: FakeX, client: XApiClient) -> None:
    for handle in ("bad handle", "../2/tweets", "a_handle_longer_than_15"):
        with pytest.raises(XApiError, match="is not a valid X handle"):
            client.user_id(handle)
    assert fake_x.requests == []


def test_a_refused_token_says_so(fake_x: FakeX, clock: Clock) -> None:
    fake_x.add_user("TapeOwlTrades", "1002")
    wrong = XApiClient(fake_x.url, "not-the-token", clock=clock, sleep=clock.sleep)
    with pytest.raises(XAuthError, match=r"bearer token refused by X \(HTTP 401\): Unauthorized"):
        wrong.user_id("TapeOwlTrades")
    assert len(fake_x.requests) == 1  # not retried


def test_timeline_follows_pages_and_returns_oldest_first(fake_x: FakeX, client: XApiClient) -> None:
    uid = fake_x.add_user("ChartPelicanTA", "1003")
    ids = [fake_x.tweet(uid, f"$SOL note {i} & more", T0 - timedelta(minutes=30 - i)) for i in range(12)]
    posts = client.timeline(uid, "ChartPelicanTA", None, max_results=5)
    assert [p.external_id for p in posts] == ids
    assert [p.text for p in posts][:2] == ["$SOL note 0 & more", "$SOL note 1 & more"]  # &amp; unescaped
    assert posts[0].posted_at == T0 - timedelta(minutes=30)
    assert posts[0].posted_at.tzinfo is not None
    assert {p.handle for p in posts} == {"ChartPelicanTA"}
    tokens = [r.query.get("pagination_token") for r in fake_x.requests]
    assert tokens == [None, "5", "10"]
    assert all(r.query["max_results"] == "5" and "since_id" not in r.query for r in fake_x.requests)


def test_timeline_since_id_returns_only_newer_posts(fake_x: FakeX, client: XApiClient) -> None:
    uid = fake_x.add_user("lowlumen", "1004")
    first = fake_x.tweet(uid, "old")
    newer = [fake_x.tweet(uid, "new 1"), fake_x.tweet(uid, "new 2")]
    posts = client.timeline(uid, "lowlumen", first)
    assert [p.external_id for p in posts] == newer
    assert fake_x.requests[-1].query["since_id"] == first
    assert client.timeline(uid, "lowlumen", newer[-1]) == []


def test_timeline_stops_at_the_page_cap(
    fake_x: FakeX, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    uid = fake_x.add_user("AltGuidePath", "1005")
    ids = [fake_x.tweet(uid, f"chart {i}") for i in range(12)]
    capped = XApiClient(fake_x.url, TOKEN, clock=clock, max_pages=2)
    with caplog.at_level(logging.WARNING):
        posts = capped.timeline(uid, "AltGuidePath", None, max_results=5)
    assert [p.external_id for p in posts] == ids[2:]  # the ten newest
    assert "more than 2 page(s)" in caplog.text


def test_timeline_refused_for_one_user_is_an_error(fake_x: FakeX, client: XApiClient) -> None:
    uid = fake_x.add_user("MacroMothFx", "1006")
    fake_x.protected.add(uid)
    with pytest.raises(XApiError, match="cannot read @MacroMothFx's timeline: Authorization Error"):
        client.timeline(uid, "MacroMothFx", None)
    with pytest.raises(ValueError, match="between 5 and 100"):
        client.timeline(uid, "MacroMothFx", None, max_results=101)


def test_429_blocks_until_the_reset_without_sending_requests(
    fake_x: FakeX, client: XApiClient, clock: Clock
) -> None:
    fake_x.add_user("fadeclubbro", "1007")
    reset = T0 + timedelta(minutes=5)
    fake_x.then(
        "/2/users/by", Reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": epoch(reset)})
    )
    with pytest.raises(XRateLimited) as raised:
        client.user_id("fadeclubbro")
    assert raised.value.reset_at == reset
    assert client.blocked_until == reset
    sent = len(fake_x.requests)
    clock.now = reset - timedelta(seconds=1)
    with pytest.raises(XRateLimited):
        client.timeline("1007", "fadeclubbro", None)
    assert len(fake_x.requests) == sent
    clock.now = reset
    assert client.user_id("fadeclubbro") == "1007"
    assert client.blocked_until is None


def test_429_without_a_reset_waits_one_window(fake_x: FakeX, client: XApiClient) -> None:
    fake_x.then("/2/users/by", Reply(429, {"title": "Too Many Requests"}))
    with pytest.raises(XRateLimited) as raised:
        client.user_id("fadeclubbro")
    assert raised.value.reset_at == T0 + timedelta(minutes=15)


def test_an_exhausted_limit_blocks_the_next_call(fake_x: FakeX, client: XApiClient, clock: Clock) -> None:
    fake_x.add_user("TheFlowHeron", "1008")
    reset = T0 + timedelta(seconds=90)
    fake_x.rate_headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": epoch(reset)}
    assert client.user_id("TheFlowHeron") == "1008"  # this answer is still good
    with pytest.raises(XRateLimited) as raised:
        client.user_id("TheFlowHeron")
    assert raised.value.reset_at == reset
    assert len(fake_x.requests) == 1


def test_5xx_is_retried_with_backoff(fake_x: FakeX, client: XApiClient, clock: Clock) -> None:
    fake_x.add_user("WagmiWarden", "1009")
    fake_x.then("/2/users", Reply(503, {"title": "Service Unavailable"}))
    fake_x.then("/2/users", Reply(502, None))
    assert client.user_id("WagmiWarden") == "1009"
    assert len(fake_x.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_a_lasting_5xx_is_a_temporary_error(fake_x: FakeX, client: XApiClient) -> None:
    for _ in range(3):
        fake_x.then("/2/users", Reply(503, {"title": "Service Unavailable"}))
    with pytest.raises(XTemporaryError, match=r"failed 3 time\(s\), last: HTTP 503"):
        client.user_id("WagmiWarden")
    assert len(fake_x.requests) == 3


def test_an_unreachable_server_is_a_temporary_error(clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    unreachable = XApiClient(f"http://127.0.0.1:{port}", TOKEN, clock=clock, sleep=clock.sleep)
    with pytest.raises(XTemporaryError, match="ConnectError"):
        unreachable.user_id("WagmiWarden")
    assert clock.sleeps == [0.5, 1.0]


def test_build_x_client_needs_a_token() -> None:
    assert build_x_client(Settings(x_api_bearer_token=None)) is None
    assert build_x_client(Settings(x_api_bearer_token=SecretStr(""))) is None
    built = build_x_client(Settings(x_api_bearer_token=SecretStr(TOKEN), x_api_base_url="http://x.test/"))
    assert built is not None
    assert "http://x.test" in repr(built)
    assert TOKEN not in repr(built)
    with pytest.raises(ValueError, match="bearer token is required"):
        XApiClient("http://x.test", "")


# Poll cycles against the database.


def test_poll_caches_user_ids_and_stores_each_post_once(
    session: Session, factory: Factory, fake_x: FakeX, client: XApiClient
) -> None:
    velvet = factory.ct_account(handle="VelvetBidTrades")
    tapeowl = factory.ct_account(handle="TapeOwlTrades")
    paused = factory.ct_account(handle="IceVeinShill", is_active=False)
    removed = factory.ct_account(handle="lowlumen", removed_at=utcnow())
    for account, uid in ((velvet, "2001"), (tapeowl, "2002"), (paused, "2003"), (removed, "2004")):
        fake_x.add_user(account.handle, uid)
        fake_x.tweet(uid, f"$BTC long from @{account.handle}", T0 - timedelta(minutes=5))
    newest = fake_x.tweet("2001", "adding ETH 3,080", T0 - timedelta(minutes=2))

    first = poll_x_accounts(session, client, T0)
    posts = x_posts(session)
    assert [p.id for p in posts] == first
    assert [p.text for p in posts] == [
        "$BTC long from @VelvetBidTrades",
        "adding ETH 3,080",
        "$BTC long from @TapeOwlTrades",
    ]
    assert posts[1].external_id == newest
    assert posts[1].posted_at == T0 - timedelta(minutes=2)
    session.expire_all()
    assert [session.get(CtAccount, a.id).x_user_id for a in (velvet, tapeowl, paused, removed)] == [
        "2001",
        "2002",
        None,
        None,
    ]
    assert session.get(CtAccount, velvet.id).last_seen_external_id == newest
    assert not any(p.startswith(("/2/users/2003", "/2/users/2004")) for p in fake_x.paths())

    fake_x.requests.clear()
    assert poll_x_accounts(session, client, T0) == []
    assert fake_x.paths() == ["/2/users/2001/tweets", "/2/users/2002/tweets"]  # ids are not looked up again
    assert fake_x.requests[0].query["since_id"] == newest

    later = fake_x.tweet("2002", "SOL short 148", T0 + timedelta(minutes=1))
    again = poll_x_accounts(session, client, T0 + timedelta(minutes=1))
    assert [session.get(CtPost, i).external_id for i in again] == [later]
    assert poll_x_accounts(session, client, T0 + timedelta(minutes=2)) == []
    assert len(x_posts(session)) == 4


def test_first_poll_takes_one_page_then_cursoring_follows_pages(
    session: Session, factory: Factory, fake_x: FakeX, client: XApiClient
) -> None:
    factory.ct_account(handle="memeorbit07")
    uid = fake_x.add_user("memeorbit07", "2101")
    history = [fake_x.tweet(uid, f"old call {i}") for i in range(130)]
    assert len(poll_x_accounts(session, client, T0)) == 100  # the latest page, not the whole history
    assert [p.external_id for p in x_posts(session)] == history[30:]
    fresh = [fake_x.tweet(uid, f"new call {i}") for i in range(150)]
    fake_x.requests.clear()
    assert len(poll_x_accounts(session, client, T0)) == 150
    assert [r.query.get("pagination_token") for r in fake_x.requests] == [None, "100"]
    assert [p.external_id for p in x_posts(session)][100:] == fresh  # stored oldest first


def test_a_rate_limit_ends_the_cycle_and_keeps_what_was_stored(
    session: Session,
    factory: Factory,
    fake_x: FakeX,
    client: XApiClient,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handles = ("WaveCounterFx", "ChartPelicanTA", "MacroMothFx")
    for i, handle in enumerate(handles):
        factory.ct_account(handle=handle)
        fake_x.add_user(handle, f"230{i}")
        fake_x.tweet(f"230{i}", f"$LINK long from {handle}")
    reset = T0 + timedelta(minutes=7)
    fake_x.then(
        "/2/users/2301/tweets",
        Reply(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": epoch(reset)}),
    )

    with caplog.at_level(logging.WARNING):
        stored = poll_x_accounts(session, client, T0)
    assert [session.get(CtPost, i).text for i in stored] == ["$LINK long from WaveCounterFx"]
    assert "/2/users/by/username/MacroMothFx" not in fake_x.paths()
    assert f"polling resumes after {reset}" in caplog.text
    assert "(in 420s)" in caplog.text

    sent = len(fake_x.requests)
    clock.now = T0 + timedelta(minutes=1)
    assert poll_x_accounts(session, client, clock.now) == []
    assert len(fake_x.requests) == sent  # still blocked: nothing sent

    clock.now = reset
    resumed = poll_x_accounts(session, client, reset)
    assert sorted(session.get(CtPost, i).text for i in resumed) == [
        "$LINK long from ChartPelicanTA",
        "$LINK long from MacroMothFx",
    ]
    assert len(x_posts(session)) == 3


def test_one_failing_account_does_not_stop_the_others(
    session: Session, factory: Factory, fake_x: FakeX, client: XApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    for handle in ("gone_account", "suspended_one", "a_name_too_long_for_x", "locked_acct", "TapeOwlTrades"):
        factory.ct_account(handle=handle)
    fake_x.suspended.add("suspended_one")
    fake_x.protected.add(fake_x.add_user("locked_acct", "2401"))
    fake_x.tweet(fake_x.add_user("TapeOwlTrades", "2402"), "$HYPE bid. 24.2 entry")

    with caplog.at_level(logging.WARNING):
        stored = poll_x_accounts(session, client, T0)
    assert [session.get(CtPost, i).text for i in stored] == ["$HYPE bid. 24.2 entry"]
    for expected in (
        "skipping @gone_account this cycle: cannot look up @gone_account on X: Not Found Error",
        "skipping @suspended_one this cycle: cannot look up @suspended_one on X: Forbidden: User has been",
        "skipping @a_name_too_long_for_x this cycle: @a_name_too_long_for_x is not a valid X handle",
        "skipping @locked_acct this cycle: cannot read @locked_acct's timeline: Authorization Error",
    ):
        assert expected in caplog.text
    session.expire_all()
    gone = session.exec(select(CtAccount).where(CtAccount.handle == "gone_account")).one()
    assert gone.x_user_id is None


def test_a_refused_token_or_a_down_api_ends_the_cycle(
    session: Session, factory: Factory, fake_x: FakeX, clock: Clock
) -> None:
    for i, handle in enumerate(("VelvetBidTrades", "TapeOwlTrades")):
        factory.ct_account(handle=handle)
        fake_x.add_user(handle, f"250{i}")
    wrong = XApiClient(fake_x.url, "expired-token", clock=clock, sleep=clock.sleep)
    assert poll_x_accounts(session, wrong, T0) == []
    assert len(fake_x.requests) == 1

    fake_x.requests.clear()
    for _ in range(3):
        fake_x.then("/2/users", Reply(503, {"title": "Service Unavailable"}))
    down = XApiClient(fake_x.url, TOKEN, clock=clock, sleep=clock.sleep)
    assert poll_x_accounts(session, down, T0) == []
    assert len(fake_x.requests) == 3  # one account's retries, then the cycle stops


def test_the_token_never_reaches_logs_reprs_or_errors(
    session: Session,
    factory: Factory,
    fake_x: FakeX,
    client: XApiClient,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for i, handle in enumerate(("VelvetBidTrades", "nobody_here", "TapeOwlTrades")):
        factory.ct_account(handle=handle)
        if handle != "nobody_here":
            fake_x.tweet(fake_x.add_user(handle, f"260{i}"), "$BTC long 64k")
    fake_x.then("/2/users/2602/tweets", Reply(503, {"title": "Service Unavailable"}))
    poll_x_accounts(session, client, T0)
    fake_x.then("/2/users", Reply(429, {}, {"x-rate-limit-reset": epoch(T0 + timedelta(hours=1))}))
    poll_x_accounts(session, client, T0 + timedelta(minutes=1))

    errors: list[str] = []
    for call in (lambda: client.user_id("whoever"), lambda: XApiClient(fake_x.url, TOKEN + "x").user_id("a")):
        with pytest.raises(XApiError) as raised:
            call()
        errors.append(f"{raised.value!r} {raised.value}")
    assert len(x_posts(session)) == 2
    assert "HTTP Request: GET" in caplog.text  # httpx did log its requests
    for text in (caplog.text, repr(client), *errors):
        assert TOKEN not in text
