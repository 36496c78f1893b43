"""A TCP server that accepts connections and never answers: a hung peer (a Redis or a webhook receiver that
stopped responding without refusing connections). `stop` closes every connection it holds."""

from __future__ import annotations

import socket
import threading


class Blackhole:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._accepted = 0
        self._thread = threading.Thread(target=self._accept, name="blackhole", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._accepted

    def start(self) -> Blackhole:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            held, self._held = self._held, []
        self._listener.close()
        for connection in held:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop
                return
            with self._lock:
                if self._stopped:
                    connection.close()
                    return
                self._held.append(connection)
                self._accepted += 1
