"""The Backtest panel's state, mixed into the pages that show it (the builder, the agent page).

A page says what is tested (`_bt_subject`: an agent id, or the configuration being edited) and, for
Compare, what it is compared with (`_bt_base_subject`). Every input change calls `_bt_touch`, which
schedules `bt_debounced`: a background event that waits DEBOUNCE_SECONDS and runs only if no later change
came meanwhile, so a slider that keeps moving costs one backtest once it stops. The service runs in a worker
thread outside the state lock; a result is shown only if it is still the newest one asked for.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any, Literal

import plotly.graph_objects as go
import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.agents.editing import UnknownCtAccounts
from backend.agents.service import AgentNotFound
from backend.auth.errors import AuthError, Forbidden, NotAuthenticated, RateLimited
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import shared_counter
from backend.backtest.limits import count_backtest
from backend.backtest.schemas import BacktestRequest, BacktestResult, Period
from backend.backtest.service import BacktestError, NotSignedIn, run_backtest
from backend.backtest.sources import build_sources
from backend.config import get_settings
from backend.monitor.equity import EquityCurve
from maxxit_ui.components.charts import backtest_figure
from maxxit_ui.state import backtest_rows as rows
from maxxit_ui.state.auth import current_user
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import CHOICE_MAX, NUMBER_TEXT_MAX, clip

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.6
DATE_TEXT_MAX = 10  # 2026-12-06
SIGN_IN = "Sign in to backtest."
FAILED = "The backtest could not run. Please try again in a moment."

Subject = dict[str, Any]  # {"agent_id": 5} or {"config": StrategyConfig}
PanelStatus = Literal["idle", "open", "ready"]  # not opened yet; opened, no result to show; a result


def request_for(subject: Subject, period: Period, capital: Decimal) -> BacktestRequest:
    return BacktestRequest(period=period, capital=capital, **subject)


def failure_message(error: Exception) -> str:
    """What the panel says when the service refuses or fails; never a stack trace."""
    if isinstance(error, NotAuthenticated | NotSignedIn):
        return SIGN_IN
    if isinstance(error, UnknownCtAccounts):
        return "Some followed CT accounts can no longer be backtested; untick them and try again."
    if isinstance(error, RateLimited):
        return f"Too many backtests just now: try again in {error.retry_after} s."
    if isinstance(error, Forbidden | AgentNotFound):
        return "This agent cannot be backtested: it is not yours or no longer exists."
    if isinstance(error, ValidationError):
        first = error.errors()[0] if error.errors() else {}
        return _sentence(str(first.get("msg", "invalid backtest request")).removeprefix("Value error, "))
    if isinstance(error, AuthError | BacktestError | ValueError):
        return _sentence(str(error) or FAILED)
    return DB_ERROR if isinstance(error, SQLAlchemyError) else FAILED


def _sentence(text: str) -> str:
    text = text[:300]
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class BacktestMixin(rx.State, mixin=True):
    """Inputs, status and the formatted result of one Backtest panel (plus run A when comparing)."""

    bt_period: str = rows.DEFAULT_PERIOD
    bt_start: str = ""
    bt_end: str = ""
    bt_capital: str = rows.DEFAULT_CAPITAL
    bt_errors: dict[str, str] = rows.empty_errors()
    bt_status: PanelStatus = "idle"
    bt_running: bool = False
    bt_window: str = ""
    bt_cached: bool = False
    bt_tiles: list[rows.Tile] = []
    bt_summary: list[rows.SummaryRow] = []
    bt_by_reason: list[rows.GroupRow] = []
    bt_by_token: list[rows.GroupRow] = []
    bt_trades: list[rows.TradeRow] = []
    bt_skips: list[rows.SkipRow] = []
    bt_notice: str = ""
    bt_figure: go.Figure = go.Figure()
    bt_compare: bool = False
    bt_compare_rows: list[rows.CompareRow] = []
    bt_label_a: str = ""
    bt_label_b: str = ""

    bt_post_open: bool = False
    bt_post_author: str = ""
    bt_post_text: str = ""
    bt_post_time: str = ""
    bt_post_trade: str = ""

    _bt_seq: int = 0  # bumped by every change: only the newest request's answer is shown
    _bt_reference: EquityCurve | None = None  # the agent page's reference book, drawn beside the run
    _bt_shown: Subject | None = None  # the configuration of the result on screen
    # What Compare keeps as A by default: the result on screen when Compare was switched on.
    _bt_kept: Subject | None = None

    # -- what a page tests: overridden by the page state ---------------------------------------------------

    def _bt_subject(self) -> tuple[Subject | None, str]:
        """({"agent_id": ...} or {"config": ...}, "") or (None, why the panel cannot run yet)."""
        return None, "Nothing to backtest."

    def _bt_base_subject(self) -> tuple[Subject | None, str]:
        """Compare's A and its label: by default the result on screen when Compare was switched on."""
        return self._bt_kept, "A · kept"

    def _bt_ready(self) -> bool:
        """Whether the page has loaded what the panel needs (inputs are ignored until then)."""
        return True

    def _bt_subject_label(self) -> str:
        """Compare's name for the panel's own subject, B."""
        return "B · edited"

    # -- inputs --------------------------------------------------------------------------------------------

    def _bt_reset(self) -> None:
        """A fresh panel for a newly loaded page; pending runs of the previous page are dropped."""
        self._bt_seq += 1
        self.bt_period, self.bt_start, self.bt_end = rows.DEFAULT_PERIOD, "", ""
        self.bt_capital = rows.DEFAULT_CAPITAL
        self.bt_errors = rows.empty_errors()
        self.bt_status, self.bt_running, self.bt_compare = "idle", False, False
        self._bt_shown = self._bt_kept = None
        self._bt_clear()

    def _bt_clear(self) -> None:
        self.bt_window, self.bt_cached, self.bt_notice = "", False, ""
        self.bt_tiles, self.bt_summary, self.bt_trades, self.bt_skips = [], [], [], []
        self.bt_by_reason, self.bt_by_token, self.bt_compare_rows = [], [], []
        self.bt_label_a = self.bt_label_b = ""
        self.bt_post_open = False
        self.bt_figure = go.Figure()

    def _bt_touch(self) -> EventSpec | None:
        """Something the backtest depends on changed: run again once the inputs have been still a moment."""
        if not self._bt_ready() or self.bt_status == "idle":
            return None  # the panel has not been opened (agent page) or the page is not loaded
        self._bt_seq += 1
        self.bt_running = True  # the spinner shows from the change on, so no stale figure reads as current
        return type(self).bt_debounced(self._bt_seq)

    @rx.event
    def bt_set(self, field: str, value: str) -> EventSpec | None:
        """Period choice, dates and capital, clipped; the field's message clears as the user types."""
        limits = {"bt_period": CHOICE_MAX, "bt_start": DATE_TEXT_MAX, "bt_end": DATE_TEXT_MAX}
        limit = limits.get(field, NUMBER_TEXT_MAX if field == "bt_capital" else 0)
        if not limit or not self._bt_ready():
            return None
        setattr(self, field, clip(value, limit))
        self.bt_errors["capital" if field == "bt_capital" else "period"] = ""
        return self._bt_touch()

    @rx.event
    def bt_toggle_compare(self, on: bool) -> EventSpec | None:
        if not self._bt_ready() or not isinstance(on, bool):
            return None
        self.bt_compare = on
        self._bt_kept = self._bt_shown if on else None  # A: what the panel shows now
        return self._bt_touch()

    @rx.event
    def bt_open(self) -> EventSpec | None:
        """Open the panel (the agent page's "Backtest this agent", the builder's load): run now."""
        if not self._bt_ready():
            return None
        if self.bt_status == "idle":
            self.bt_status = "open"
        self.bt_running = True
        self._bt_seq += 1
        return type(self).bt_debounced(self._bt_seq, 0)

    @rx.event
    def bt_show_post(self, row_id: str) -> None:
        """Open the post that made a trade's signal, with its author."""
        row = next((r for r in self.bt_trades if r["id"] == row_id), None)
        if row is None or not row["has_post"]:
            return
        self.bt_post_author, self.bt_post_text = row["author"], row["post_text"]
        self.bt_post_time = f"Posted {row['posted_at']}"
        self.bt_post_trade = f"{row['side']} {row['market']} · entry {row['entry_at']} · {row['pnl']}"
        self.bt_post_open = True

    @rx.event
    def bt_post_open_change(self, is_open: bool) -> None:
        self.bt_post_open = bool(is_open) and self.bt_post_open

    # -- running -------------------------------------------------------------------------------------------

    def _bt_requests(self) -> tuple[BacktestRequest | None, BacktestRequest | None, str]:
        """The request for the panel's subject, run A's when comparing, and why none could be made."""
        period, capital, errors = rows.parse_form(
            rows.FormInput(self.bt_period, self.bt_start, self.bt_end, self.bt_capital)
        )
        self.bt_errors = {**rows.empty_errors(), **errors}
        if period is None or capital is None:
            return None, None, ""
        subject, why = self._bt_subject()
        if subject is None:
            return None, None, why
        base = None
        if self.bt_compare:
            base_subject, self.bt_label_a = self._bt_base_subject()
            base = None if base_subject is None else request_for(base_subject, period, capital)
        return request_for(subject, period, capital), base, ""

    @rx.event(background=True)
    async def bt_debounced(self, seq: int, delay: float = DEBOUNCE_SECONDS) -> None:
        """Run the backtest if nothing changed during `delay` seconds; drop the answer if something did.

        Scheduled by the server (`_bt_touch`, `bt_open`); a client sending it gets no more than that."""
        if not isinstance(seq, int) or not isinstance(delay, int | float) or delay != delay:
            return
        await asyncio.sleep(max(0.0, min(float(delay), DEBOUNCE_SECONDS)))
        async with self:
            if seq != self._bt_seq or not self._bt_ready():
                return
            try:
                request, base, why = self._bt_requests()
            except ValidationError as e:
                request, base, why = None, None, failure_message(e)
            try:
                user = await current_user(self) if request is not None else None
            except SQLAlchemyError:
                logger.exception("backtest: the session could not be checked")
                self._bt_fail(DB_ERROR)
                return
            if request is None or user is None:
                self._bt_fail(why if request is None else SIGN_IN)
                return
            self.bt_running = True
        outcome = await _run(user, request, base)
        async with self:
            self._bt_settle(seq, outcome)

    def _bt_settle(self, seq: int, outcome: tuple[BacktestResult, BacktestResult | None] | str) -> None:
        """Show run `seq`'s answer (a result, or the message instead), unless a newer change came since: a
        slower earlier run finishing late must not overwrite what the newer one shows or will show."""
        if seq != self._bt_seq:
            return  # a newer change is on its way; it clears `bt_running`
        if isinstance(outcome, str):
            self._bt_fail(outcome)
            return
        self._bt_show(*outcome)

    def _bt_fail(self, message: str) -> None:
        """No result matches the inputs: drop the last one (it would mislead) and say why."""
        self.bt_running = False
        self.bt_errors["form"] = message
        if self.bt_status == "ready":
            self.bt_status = "open"
            self._bt_clear()

    def _bt_show(self, result: BacktestResult, base: BacktestResult | None) -> None:
        self._bt_shown = {"config": result.config}
        if self.bt_compare and self._bt_kept is None:
            self._bt_kept = self._bt_shown  # switched on before any result: the first one is A
        self.bt_running = False
        self.bt_errors["form"] = ""
        self.bt_status = "ready"
        self.bt_window = rows.window(result)
        self.bt_cached = result.cached
        self.bt_tiles = rows.tiles(result.summary)
        self.bt_summary = rows.summary_rows(result.summary)
        self.bt_by_reason = [rows.group_row(g, words=True) for g in result.by_reason]
        self.bt_by_token = [rows.group_row(g) for g in result.by_token]
        self.bt_trades = [rows.trade_row(i, t) for i, t in enumerate(result.trades)]
        self.bt_skips = rows.skip_rows(result.skips)
        self.bt_notice = result.notice
        if base is None:
            self.bt_compare_rows, self.bt_label_a, self.bt_label_b = [], "", ""
            self.bt_figure = backtest_figure([("Backtest", result.equity)], reference=self._bt_reference)
            return
        self.bt_label_b = self._bt_subject_label()
        self.bt_compare_rows = rows.compare_rows(base.summary, result.summary)
        self.bt_figure = backtest_figure([(self.bt_label_a, base.equity), (self.bt_label_b, result.equity)])


async def _run(
    user: CurrentUser, request: BacktestRequest, base: BacktestRequest | None
) -> tuple[BacktestResult, BacktestResult | None] | str:
    """The run (and run A) from the service, or the message to show instead.

    Each run is stored for the user (the service's cache answers an unchanged configuration at once)."""
    try:
        result, before = await read(lambda session: _both(session, user, request, base))
    except (AuthError, BacktestError, AgentNotFound, ValueError) as e:
        return failure_message(e)
    except SQLAlchemyError as e:
        logger.exception("backtest failed on the database")
        return failure_message(e)
    return result, before


def _both(
    session: Session, user: CurrentUser, request: BacktestRequest, base: BacktestRequest | None
) -> tuple[BacktestResult, BacktestResult | None]:
    settings = get_settings()
    # The panel counts against the same per-user quota as the API: one count per rerun, A and B together.
    count_backtest(shared_counter(settings.redis_url), settings, user.id)
    sources = build_sources(settings)  # the feed's candle source is built once per process
    result = run_backtest(session, request, viewer=user, sources=sources)
    before = None if base is None else run_backtest(session, base, viewer=user, sources=sources)
    return result, before
