"""Replay a Reflex client token on a fresh websocket, as a script (not a browser) would: no hydrate, no
cookies, just one event for the state the token names, and every state delta the server sends back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import socketio

NAMESPACE = "/_event"


def replay_event(
    backend_url: str,
    client_token: str,
    handler: str,
    path: str,
    *,
    origin: str,
    until: Callable[[str], bool],
) -> str:
    """Send `handler` (a full Reflex event name) for `client_token`; the updates the server sent back (state
    deltas and events, as JSON text) once `until` holds for them.

    A script can claim any Origin, so it claims ours: what is tested is the missing cookie, not the socket's
    origin check.
    """
    updates: list[Any] = []
    finished = threading.Event()
    client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})

    @client.on("event", namespace=NAMESPACE)
    def _update(update: Any) -> None:
        updates.append(update)
        if until(json.dumps(updates)):
            finished.set()

    client.connect(
        f"{backend_url}?token={client_token}",
        namespaces=[NAMESPACE],
        socketio_path="_event",
        transports=["websocket"],
        wait_timeout=20,
    )
    try:
        client.emit(
            "event",
            {"name": handler, "payload": {}, "router_data": {"pathname": path, "query": {}, "asPath": path}},
            namespace=NAMESPACE,
        )
        assert finished.wait(20), f"{handler} did not finish: {updates}"
    finally:
        client.disconnect()
    return json.dumps(updates)
