"""Servers on loopback that misbehave below HTTP: answers no HTTP library would send (headers
one byte at a time), for the tests of digest.http's deadline."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Talk = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A TCP server on loopback that runs `talk(connection, stop)` for each client, each on
    a thread of its own; `stop` is set when the test ends."""

    def __init__(self, talk: Talk, host: str = "127.0.0.1") -> None:
        self.stop = threading.Event()
        self._talk = talk
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection:
            try:
                self._talk(connection, self.stop)
            except OSError:
                pass  # the client hung up: what the tests want

    def close(self) -> None:
        self.stop.set()
        self._thread.join(5)
        self._listener.close()


def trickle(first: bytes, then: bytes, every: float = 0.2) -> Talk:
    """A conversation: read the request, send `first`, then `then` a byte at a time, for
    up to 60 s (far past any timeout a test sets)."""

    def talk(connection: socket.socket, stop: threading.Event) -> None:
        connection.recv(65536)
        connection.sendall(first)
        for _ in range(int(60 / every)):
            if stop.wait(every):
                return
            connection.sendall(then)

    return talk
