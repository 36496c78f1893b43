"""Admin: posts `/admin/posts?account=<id>`: stored CT posts with their classification, and pasting one.

A pasted post is stored through the same service as the REST API's, then handed to the classifier queue; the
page polls every few seconds while it is open, so the classification appears when the worker is done.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec

from backend.auth.identity import CurrentUser
from backend.runtime import configured_events
from backend.signals.accounts import CtAccountAdmin, list_accounts_admin
from backend.signals.errors import CtAccountNotFound, InputRejected
from backend.signals.ingest import store_manual_post
from backend.signals.posts import PostOut, PostPage, PostQuery, list_posts
from maxxit_ui.components import format as fmt
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin, PagerMixin, PollingMixin, Query, sentence

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
ALL_ACCOUNTS = "all"
POLL_MS = 4000
TEXT_MAX = 4000
NOT_QUEUED = "Post stored, but the classifier queue is unreachable: the next sweep will classify it."

STATUS_LABELS = {"signal": "Signal", "not_signal": "Not a signal", "pending": "Classifying…"}
STATUS_COLORS = {"signal": "green", "not_signal": "gray", "pending": "amber"}
SIDE_COLORS = {"long": "green", "short": "red"}


class PostRow(TypedDict):
    id: str
    handle: str
    account_href: str
    text: str
    posted: str
    source: str
    status: str
    status_label: str
    status_color: str
    token: str
    side: str
    side_color: str
    confidence: str
    classifier: str
    reasoning: str
    signals: str


class AccountOption(TypedDict):
    id: str
    label: str


def post_row(post: PostOut) -> PostRow:
    return PostRow(
        id=str(post.id),
        handle=f"@{post.handle}",
        account_href=f"/admin/posts?account={post.ct_account_id}",
        text=post.text,
        posted=fmt.timestamp(post.posted_at),
        source=fmt.label(post.source),
        status=post.status,
        status_label=STATUS_LABELS[post.status],
        status_color=STATUS_COLORS[post.status],
        token=post.token or "—",
        side=post.side or "—",
        side_color=SIDE_COLORS.get(post.side or "", "gray"),
        confidence=fmt.percent(post.confidence, fraction=True, places=0)
        if post.confidence is not None
        else "—",
        classifier=post.classifier or "—",
        reasoning=post.reasoning or "—",
        signals=fmt.count(post.signals_count),
    )


def account_option(account: CtAccountAdmin) -> AccountOption:
    paused = "" if account.status == "active" else " (paused)"
    return AccountOption(id=str(account.id), label=f"@{account.handle}{paused}")


def account_filter(value: str | None) -> str:
    """The `account` query parameter as the filter's value: an id, or all accounts for anything else."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**31:
        return ALL_ACCOUNTS
    return str(int(value))


def queue_classification(post_ids: Sequence[int]) -> None:
    """Hand stored posts to the workers, through the sink the runtime resolves from the settings."""
    configured_events.posts_stored(post_ids)


class PostsState(AdminMixin, PagerMixin, PollingMixin, rx.State):
    rows: list[PostRow] = []
    page_size: int = PAGE_SIZE
    account: str = ALL_ACCOUNTS
    signal_only: bool = False
    accounts: list[AccountOption] = []
    paste_account: str = ""
    paste_text: str = ""
    paste_account_error: str = ""
    paste_text_error: str = ""
    pasting: bool = False
    refreshing: bool = False

    # One key per filled-in form: a double submit stores the post once.
    _paste_key: str = ""

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count} · {self.total} post{'' if self.total == 1 else 's'}"

    @rx.var
    def has_pending(self) -> bool:
        return any(row["status"] == "pending" for row in self.rows)

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        self._first_page()
        self.account = account_filter(self.router.url.query_parameters.get("account"))
        self.paste_account_error = self.paste_text_error = ""
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        accounts = await self._fetch(list_accounts_admin, "admin: CT accounts")
        if accounts is UNAVAILABLE:
            return
        self.accounts = [account_option(a) for a in accounts]
        ids = [o["id"] for o in self.accounts]
        if self.paste_account not in ids:
            self.paste_account = self.account if self.account in ids else (ids[0] if ids else "")
        await self._query()

    def _posts(self) -> Query[PostPage]:
        query = PostQuery(
            ct_account_id=None if self.account == ALL_ACCOUNTS else int(self.account),
            is_signal=True if self.signal_only else None,
            limit=self.page_size,
            offset=(self.page - 1) * self.page_size,
        )
        return lambda session: list_posts(session, query)

    async def _query(self) -> None:
        page = await self._fetch(self._posts(), "admin: posts")
        if page is UNAVAILABLE:
            return
        if self._set_total(page.total):
            return await self._query()
        self._poll_apply(page)
        self._mark_refreshed()
        self._show_ready()

    async def _reload_page(self) -> EventSpec | None:
        user, redirect = await self._viewer()
        if user is None:
            return redirect
        await self._query()
        return None

    # -- the page's timer: classifications and new posts show up as they land ---------------------------

    def _can_poll(self) -> bool:
        return self.status == "ready" and not self.pasting and not self.refreshing

    def _poll_query(self, user: CurrentUser) -> Query[PostPage]:
        return self._posts()

    def _poll_apply(self, page: PostPage) -> None:
        if not self._set_total(page.total):  # else the next tick reads the last page there is now
            self.rows = [post_row(p) for p in page.items]

    @rx.event
    async def set_account(self, value: str) -> EventSpec | None:
        self.account = account_filter(value)
        self._first_page()
        return await self._reload_page()

    @rx.event
    async def set_signal_only(self, value: bool) -> EventSpec | None:
        self.signal_only = bool(value)
        self._first_page()
        return await self._reload_page()

    @rx.event
    async def refresh(self) -> AsyncIterator[EventSpec | None]:
        if self.refreshing:
            return
        self.refreshing = True
        yield
        try:
            yield await self._reload_page()
        finally:
            self.refreshing = False

    @rx.event
    def set_paste_account(self, value: str) -> None:
        if self.status == "ready":  # only once the page has checked this tab's admin
            self.paste_account, self.paste_account_error = clip(value, ID_TEXT_MAX), ""

    @rx.event
    def set_paste_text(self, value: str) -> None:
        if self.status == "ready":
            self.paste_text, self.paste_text_error = clip(value, TEXT_MAX), ""

    @rx.event
    async def paste(self) -> AsyncIterator[EventSpec | None]:
        """Store the pasted post for the chosen account, queue it for classification, show it."""
        if self.pasting:
            return
        self.paste_account_error = self.paste_text_error = ""
        if not self.paste_account.isdigit():
            self.paste_account_error = "Choose the account that wrote the post."
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        account_id, text, ip = int(self.paste_account), self.paste_text, self.router.session.client_ip or None
        key = self._paste_key = self._paste_key or uuid.uuid4().hex
        self.pasting = True
        yield
        try:
            done = await self._attempt(
                lambda session: store_manual_post(
                    session, ct_account_id=account_id, text=text, actor=user, idempotency_key=key, ip=ip
                ),
                "admin: storing a pasted post",
            )
        except CtAccountNotFound:
            self.paste_account_error = "This account is no longer followed."
            return
        except InputRejected as e:
            self.paste_text_error = sentence(e)
            return
        finally:
            self.pasting = False
        if not done.ok:
            self.error = done.message
            return
        post, is_new = done.value
        self.paste_text, self._paste_key = "", ""
        if is_new:
            yield await self._queue(post.id)
        yield rx.toast.success("Post stored; classifying…")
        self._first_page()
        yield await self._reload_page()

    async def _queue(self, post_id: int) -> EventSpec | None:
        """The post is committed whatever happens here: a queue that is down only delays it to the sweep."""
        try:
            await asyncio.to_thread(queue_classification, [post_id])
        except Exception:
            logger.exception("post %s stored but not queued", post_id)
            return rx.toast.warning(NOT_QUEUED)
        return None
