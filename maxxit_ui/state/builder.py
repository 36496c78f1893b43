"""Agent builder: create `/agents/new` and edit `/agents/[agent_id]/edit` with the same form.

The form holds what the inputs show (percent text, slider weights, ticked accounts). Submitting turns it
into an AgentDraft (create) or a full AgentPatch (edit); any refused value is shown beside its field and
nothing is saved. Every load and submit re-authenticates the session cookie.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Literal, TypedDict

import plotly.graph_objects as go
import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlmodel import Session

from backend.agents.drafts import AgentDraft, AgentPatch, RiskDraft
from backend.agents.editing import (
    AgentArchived,
    AgentEditError,
    DuplicateAgentName,
    UnknownCtAccounts,
    create_agent,
    get_owned_agent,
    list_ct_accounts,
    update_agent,
)
from backend.agents.schemas import CtAccountOut, OwnedAgent, RiskSettings
from backend.agents.service import AgentNotFound
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.backtest.schemas import StrategyConfig
from backend.config import get_settings
from backend.models.agents import WEIGHT_NAMES, Agent
from backend.models.enums import AgentStatus, SizingProfile, Venue, Visibility
from backend.venues.catalog import PAPER_ONLY_NOTE, trades_live, venue_label
from maxxit_ui.components import format as fmt
from maxxit_ui.components.charts import weights_chart
from maxxit_ui.state.agent_form import (
    FIELDS,
    PERCENT_FIELDS,
    FormValues,
    empty_errors,
    fraction_to_percent,
    to_payload,
    validation_errors,
)
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.backtest import BacktestMixin, Subject
from maxxit_ui.state.db import DB_ERROR
from maxxit_ui.state.inputs import CHOICE_MAX, NUMBER_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin
from maxxit_ui.state.rows import agent_href

logger = logging.getLogger(__name__)

MY_AGENTS = "/my-agents"
FORBIDDEN = "You can only edit your own agents"

ERROR_TOAST = "builder-error"  # one id: a new refusal replaces the last, a save dismisses it
SAVED_TOAST = "builder-saved"
Mode = Literal["create", "edit"]

DEFAULT_WEIGHTS: dict[str, int] = {
    "tweet": 60,
    "rsi": 30,
    "macd": 20,
    "bollinger": 10,
    "volume": 20,
    "moving_average": 20,
    "momentum": 40,
    "volatility": 10,
}
# Venues without a live adapter say so where the creator picks one.
VENUE_OPTIONS: dict[str, str] = {
    venue.value: venue_label(venue) + ("" if trades_live(venue) else f" ({PAPER_ONLY_NOTE.lower()})")
    for venue in (Venue.HYPERLIQUID, Venue.GMX, Venue.OSTIUM, Venue.SPOT, Venue.MULTI)
}
VENUE_OPTIONS[Venue.MULTI] += " (routed per signal)"
SIZING_OPTIONS: dict[str, str] = {
    SizingProfile.CONSERVATIVE: "Conservative",
    SizingProfile.MODERATE: "Moderate",
    SizingProfile.AGGRESSIVE: "Aggressive",
}


# The inputs a backtest depends on: a change to one of them reruns the panel.
BACKTESTED_FIELDS = frozenset({"venue", "sizing_profile", "leverage", *PERCENT_FIELDS})
STRATEGY_KEYS = ("venue", "weights", "ct_account_ids", "risk")

# The most each text input may hold: the database column's width, or the widest valid value.
INPUT_LIMITS: dict[str, int] = {
    "name": Agent.__table__.c.name.type.length,
    "description": Agent.__table__.c.description.type.length,
    "venue": CHOICE_MAX,
    "visibility": CHOICE_MAX,
    "sizing_profile": CHOICE_MAX,
    "leverage": NUMBER_TEXT_MAX,
    **dict.fromkeys(PERCENT_FIELDS, NUMBER_TEXT_MAX),
}


class AccountOption(TypedDict):
    id: str
    handle: str
    display_name: str
    impact: str
    impact_tone: str


def _option(account: CtAccountOut) -> AccountOption:
    return AccountOption(
        id=str(account.id),
        handle=f"@{account.handle}",
        display_name=account.display_name,
        impact=fmt.ratio(account.impact_factor),
        impact_tone=fmt.tone(account.impact_factor),
    )


def _edit_error_message(error: AgentEditError) -> str:
    if isinstance(error, DuplicateAgentName):
        return f"You already have an agent named “{error.name}”."
    if isinstance(error, UnknownCtAccounts):
        return "Some of these CT accounts can no longer be followed; untick them and try again."
    text = str(error).removeprefix("risk.")
    return text[:1].upper() + text[1:]


class BuilderState(BacktestMixin, LoadMixin, rx.State):
    """One agent form; `mode` says whether submit creates or edits, `status` which page part renders
    (loading, ready, forbidden, not_found, archived or error).

    The Backtest panel beside the weights tests the form as it stands, saved or not (BacktestMixin)."""

    mode: Mode = "create"
    editing_id: int = 0
    saving: bool = False

    name: str = ""
    description: str = ""
    venue: str = Venue.HYPERLIQUID.value
    visibility: str = Visibility.PUBLIC.value
    weights: dict[str, int] = dict(DEFAULT_WEIGHTS)
    accounts: list[AccountOption] = []
    selected: list[str] = []
    stoploss: str = ""
    take_profit: str = ""
    trailing_stop_positive_offset: str = ""
    trailing_stop_positive: str = ""
    sizing_profile: str = SizingProfile.MODERATE.value
    signal_threshold: str = ""
    leverage: str = "1"
    errors: dict[str, str] = empty_errors()
    weights_figure: go.Figure = go.Figure()

    @rx.var
    def heading(self) -> str:
        return "Edit agent" if self.mode == "edit" else "Build an agent"

    @rx.var
    def submit_label(self) -> str:
        if self.saving:
            return "Saving…"
        return "Save changes" if self.mode == "edit" else "Create agent"

    @rx.var
    def weights_total(self) -> int:
        return sum(self.weights.values())

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected)

    # -- loading -----------------------------------------------------------------------------------------

    def _reset(self, mode: Mode) -> None:
        self.mode, self.status, self.editing_id, self.error, self.saving = mode, "loading", 0, "", False
        self.name = self.description = ""
        self.venue, self.visibility = Venue.HYPERLIQUID.value, Visibility.PUBLIC.value
        self.weights = dict(DEFAULT_WEIGHTS)
        self.selected = []
        self._show_risk(RiskDraft())
        self.errors = empty_errors()
        self._bt_reset()

    def _fill(self, agent: OwnedAgent) -> None:
        self.editing_id = agent.id
        self.name, self.description = agent.name, agent.description
        self.venue, self.visibility = agent.venue.value, agent.visibility
        self.weights = {name: int(agent.weights.get(name, 0)) for name in WEIGHT_NAMES}
        self.selected = [str(i) for i in agent.ct_account_ids]
        self._show_risk(agent.risk)

    def _show_risk(self, risk: RiskDraft | RiskSettings) -> None:
        """Risk settings as the inputs show them (percent text), and the weights chart."""
        for field in PERCENT_FIELDS:
            setattr(self, field, fraction_to_percent(getattr(risk, field)))
        self.sizing_profile = str(risk.sizing_profile)
        self.leverage = format(risk.leverage.normalize(), "f")
        self.weights_figure = weights_chart(self.weights)

    def _offer(self, active: Sequence[CtAccountOut], followed: Sequence[CtAccountOut] = ()) -> None:
        """Active accounts to pick from, plus any inactive ones the agent still follows."""
        known = {a.id for a in active}
        self.accounts = [_option(a) for a in [*active, *(a for a in followed if a.id not in known)]]

    @rx.event
    async def load_new(self) -> AsyncIterator[EventSpec | None]:
        """on_load of /agents/new: a fresh form with the platform's default risk settings."""
        self._reset("create")
        yield
        if await current_user(self) is None:
            yield to_signin(self)
            return
        active = await self._fetch(list_ct_accounts, "builder: CT accounts")
        if active is UNAVAILABLE:
            return
        self._offer(active)
        self._show_ready()
        yield BuilderState.bt_open

    @rx.event
    async def load_edit(self) -> AsyncIterator[EventSpec | None]:
        """on_load of /agents/[agent_id]/edit: the owner's agent, prefilled; anyone else gets no form."""
        self._reset("edit")
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        raw_id: str = self.agent_id  # the dynamic route arg Reflex adds to the root state
        if not raw_id.isdigit():
            self.status = "not_found"
            return
        agent_id = int(raw_id)
        found = await self._fetch(
            lambda session: (get_owned_agent(session, user, agent_id), list_ct_accounts(session)),
            f"builder: agent {agent_id}",
            {Forbidden: "forbidden", AgentNotFound: "not_found"},
        )
        if found is UNAVAILABLE:
            return
        agent, active = found
        self._offer(active, agent.accounts)
        self._fill(agent)
        self.status = "archived" if agent.status == AgentStatus.ARCHIVED else "ready"
        if self.status == "ready":
            yield BuilderState.bt_open

    # -- inputs ------------------------------------------------------------------------------------------

    @rx.event
    def set_field(self, field: str, value: str) -> EventSpec | None:
        """Text, select and toggle inputs, clipped to the field's maximum; typing clears its message."""
        if self.status != "ready" or field not in INPUT_LIMITS:
            return None
        setattr(self, field, clip(value, INPUT_LIMITS[field]))
        self.errors[field] = ""
        return self._bt_touch() if field in BACKTESTED_FIELDS else None

    @rx.event
    def set_weight(self, name: str, value: list[float]) -> EventSpec | None:
        if self.status != "ready" or name not in WEIGHT_NAMES or not isinstance(value, list) or not value:
            return None
        if not isinstance(value[0], int | float) or value[0] != value[0]:  # NaN compares unequal
            return None
        self.weights[name] = max(0, min(100, round(value[0])))
        self.errors["weights"] = ""
        self.weights_figure = weights_chart(self.weights)
        return self._bt_touch()

    @rx.event
    def toggle_account(self, account_id: str, checked: bool) -> EventSpec | None:
        """Only accounts the form offers can be ticked, so `selected` never outgrows the list."""
        if self.status != "ready" or account_id not in {option["id"] for option in self.accounts}:
            return None
        if checked and account_id not in self.selected:
            self.selected.append(account_id)
        elif not checked and account_id in self.selected:
            self.selected.remove(account_id)
        self.errors["ct_account_ids"] = ""
        return self._bt_touch()

    # -- the Backtest panel (BacktestMixin) --------------------------------------------------------------

    def _bt_ready(self) -> bool:
        return self.status == "ready"

    def _bt_subject(self) -> tuple[Subject | None, str]:
        """The configuration the form holds now, saved or not; or what to fix before it can be tested."""
        return strategy_config(self._values())

    def _bt_base_subject(self) -> tuple[Subject | None, str]:
        """Compare's A: the saved agent when editing, else the result shown when Compare was switched on."""
        if self.mode == "edit" and self.editing_id:
            return {"agent_id": self.editing_id}, "A · saved"
        return super()._bt_base_subject()

    # -- submit ------------------------------------------------------------------------------------------

    def _values(self) -> FormValues:
        return FormValues(
            name=self.name,
            description=self.description,
            venue=self.venue,
            visibility=self.visibility,
            weights=dict(self.weights),
            ct_account_ids=list(self.selected),
            stoploss=self.stoploss,
            take_profit=self.take_profit,
            trailing_stop_positive_offset=self.trailing_stop_positive_offset,
            trailing_stop_positive=self.trailing_stop_positive,
            sizing_profile=self.sizing_profile,
            signal_threshold=self.signal_threshold,
            leverage=self.leverage,
        )

    def _show_errors(self, errors: dict[str, str]) -> EventSpec:
        self.errors = {**empty_errors(), **errors}
        return rx.toast.error("Nothing was saved: check the highlighted fields.", id=ERROR_TOAST)

    @rx.event
    async def submit(self) -> AsyncIterator[EventSpec | list[EventSpec] | None]:
        if self.saving or self.status != "ready":
            return
        self.errors = empty_errors()
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        payload, errors = to_payload(self._values())
        model = AgentPatch if self.mode == "edit" else AgentDraft
        try:
            draft = model.model_validate(payload)
        except ValidationError as e:
            errors = {**validation_errors(e), **errors}  # conversion messages are the more precise ones
        if errors:
            yield self._show_errors(errors)
            return
        self.saving = True
        yield
        try:
            yield await self._save(user, draft)
        finally:
            self.saving = False

    async def _save(
        self, user: CurrentUser, draft: AgentDraft | AgentPatch
    ) -> EventSpec | list[EventSpec] | None:
        ip = self.router.session.client_ip or None
        agent_id, capital = self.editing_id, get_settings().reference_capital_usd

        def save(session: Session) -> OwnedAgent:
            if isinstance(draft, AgentPatch):
                return update_agent(session, user, agent_id, draft, ip=ip)
            return create_agent(session, user, draft, ip=ip, reference_capital=capital)

        try:
            done = await self._attempt(save, "builder: saving agent")
        except AgentEditError as e:
            field = e.field.removeprefix("risk.")
            return self._show_errors({field if field in FIELDS else "form": _edit_error_message(e)})
        except Forbidden:
            self.status = "forbidden"
            return None
        except (AgentNotFound, AgentArchived) as e:
            return self._show_errors({"form": str(e)[:1].upper() + str(e)[1:] + "."})
        if done.value is None:
            return self._show_errors({"form": DB_ERROR})
        saved = done.value
        logger.info("agent %s %s from the builder", saved.id, self.mode)
        target = agent_href(saved.id) if saved.visibility == Visibility.PUBLIC else MY_AGENTS
        said = (
            f"Changes to “{saved.name}” saved." if self.mode == "edit" else f"Agent “{saved.name}” created."
        )
        # The refusals of earlier attempts no longer hold: they go, and the success says so.
        return [rx.toast.dismiss(ERROR_TOAST), rx.toast.success(said, id=SAVED_TOAST), rx.redirect(target)]


def strategy_config(values: FormValues) -> tuple[Subject | None, str]:
    """({"config": StrategyConfig}, "") from the form, or (None, the first thing to fix in it)."""
    payload, errors = to_payload(values)
    if not errors:
        try:
            config = StrategyConfig.model_validate({key: payload[key] for key in STRATEGY_KEYS})
        except ValidationError as e:
            errors = validation_errors(e)
        else:
            return {"config": config}, ""
    field, message = next(iter(errors.items()))
    if field == "form":  # about the whole configuration ("Follow at least one CT account to backtest.")
        return None, message
    return None, f"To backtest, fix the form ({field.replace('_', ' ')}): {message}"
