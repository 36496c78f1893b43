"""The webhooks card's edit form: it opens with what the endpoint has, edits URL, events and on/off in
place, and puts a refusal beside the field it names. Saving itself goes through `endpoints.update_endpoint`
(tested with the API); here the state alone."""

from __future__ import annotations

from reflex.event import EventSpec

from backend.notify.webhooks.endpoints import DEFAULT_EVENTS, WebhookError
from maxxit_ui.state.webhooks import WebhooksState
from tests.unit.ui.test_input_bounds import _handle, _state

ROW = {
    "id": "7",
    "url": "https://example.com/hook",
    "events": "position.closed, position.opened",
    "description": "",
    "enabled": False,
    "status": "Disabled: turned off by you",
    "created": "",
    "event_types": ["position.closed", "position.opened"],
}


def _webhooks() -> WebhooksState:
    state = _state(WebhooksState)
    state.items = [ROW, {**ROW, "id": "8", "event_types": [], "enabled": True}]
    return state


def _checked(state: WebhooksState) -> list[str]:
    return [c["event_type"] for c in state.edit_events if c["checked"]]


def test_the_form_opens_with_the_endpoints_url_events_and_state_and_the_same_button_closes_it():
    state = _webhooks()
    _handle(WebhooksState, "start_edit", state, "7")
    assert (state.edit_id, state.edit_url, state.edit_enabled) == ("7", ROW["url"], False)
    assert _checked(state) == ["position.opened", "position.closed"]  # in the page's order
    _handle(WebhooksState, "start_edit", state, "8")  # an endpoint stored with no list: the defaults
    assert state.edit_id == "8" and _checked(state) == list(DEFAULT_EVENTS)
    assert "position.opened" not in _checked(state)
    _handle(WebhooksState, "start_edit", state, "8")
    assert (state.edit_id, state.edit_events) == ("", [])


def test_edits_change_only_the_form_and_clear_their_fields_error():
    state = _webhooks()
    _handle(WebhooksState, "start_edit", state, "7")
    state.edit_url_error, state.edit_events_error = "bad", "bad"
    _handle(WebhooksState, "set_edit_url", state, "https://example.com/" + "x" * 5000)
    _handle(WebhooksState, "toggle_edit_event", state, "position.opened", False)
    _handle(WebhooksState, "set_edit_enabled", state, True)
    assert len(state.edit_url) == 2048 and state.edit_url_error == "" and state.edit_events_error == ""
    assert _checked(state) == ["position.closed"] and state.edit_enabled is True
    assert state.items[0] == ROW  # nothing saved until Save


def test_nothing_edits_without_an_open_form_or_a_ready_page():
    state = _webhooks()
    _handle(WebhooksState, "set_edit_url", state, "https://elsewhere.example/")
    _handle(WebhooksState, "toggle_edit_event", state, "position.closed", True)
    assert (state.edit_url, state.edit_events) == ("", [])
    _handle(WebhooksState, "start_edit", state, "99")  # not one of mine
    assert state.edit_id == ""
    state.status = "loading"
    _handle(WebhooksState, "start_edit", state, "7")
    assert state.edit_id == ""


def test_a_refusal_goes_beside_its_field_and_anything_else_is_a_toast():
    state = _webhooks()
    _handle(WebhooksState, "start_edit", state, "7")
    assert state._show_edit_error(WebhookError("url", "the port must be from 1 to 65535")) is None
    assert state.edit_url_error == "the port must be from 1 to 65535"
    assert state._show_edit_error(WebhookError("events", "an event type is listed twice")) is None
    assert state.edit_events_error == "an event type is listed twice"
    assert isinstance(state._show_edit_error(WebhookError("delivery_id", "busy")), EventSpec)
    _handle(WebhooksState, "cancel_edit", state)
    assert (state.edit_id, state.edit_url_error, state.edit_events_error) == ("", "", "")
