"""The sockets under digest.http: resolve a name once, check the address, connect to that one
address, and hold every wait of a request to the request's one deadline."""

from __future__ import annotations

import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from digest.addresses import PublicAddresses, parse_address
from digest.errors import SkipDocument

_local = threading.local()


class Refused(SkipDocument):
    """A connection the network policy does not allow; the message is the Skipped reason."""


class Deadline:
    """When one request must be over: connecting, TLS, the headers and the body together.

    There is no timer to cut a request off: every wait of the request is a socket operation
    (or the name lookup) given only what is left of the deadline as its timeout, and one
    started after the deadline fails at once. CPython holds a TLS handshake or read to its
    socket's timeout as a whole, not per packet, so a server trickling bytes gains nothing.
    """

    def __init__(self, at: float) -> None:
        self.at = at

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def remaining(self, at_most: float | None = None) -> float:
        """Seconds left (raising TimeoutError when none are), capped at `at_most`."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        return left if at_most is None else min(at_most, left)


@contextmanager
def within(deadline: Deadline) -> Iterator[Deadline]:
    """Run this thread's network I/O under `deadline` (httpx's sync client does all of a
    request's I/O on the calling thread)."""
    _local.deadline = deadline
    try:
        yield deadline
    finally:
        _local.deadline = None


def _current() -> Deadline | None:
    return getattr(_local, "deadline", None)


@contextmanager
def _mapped(timeout_error: type[Exception], other_error: type[Exception]) -> Iterator[None]:
    """Socket errors as httpcore's (which httpx maps to its own), the cause kept for TLS."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except OSError as exc:
        raise other_error(str(exc) or type(exc).__name__) from exc


class GuardedStream(httpcore.NetworkStream):
    """httpcore's sync socket stream, with every wait bounded by the request's deadline."""

    def __init__(self, sock: socket.socket, address: tuple[Any, ...]) -> None:
        self._sock = sock
        self.address = address

    def _left(self, timeout: float | None) -> float | None:
        deadline = _current()
        return deadline.remaining(timeout) if deadline else timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(self._left(timeout))
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            while buffer:
                self._sock.settimeout(self._left(timeout))
                sent = self._sock.send(buffer)
                buffer = buffer[sent:]

    def connect(
        self,
        address: tuple[Any, ...],
        timeout: float | None,
        local_address: str | None,
        options: Iterable[Any],
    ) -> None:
        self._sock.settimeout(timeout)
        if local_address:
            self._sock.bind((local_address, 0))
        self._sock.connect(address)
        for option in options:
            self._sock.setsockopt(*option)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            self._sock.settimeout(self._left(timeout))
            try:
                # The name we were asked for, not the address: the certificate is checked
                # against it and it goes out as SNI.
                wrapped = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
            except BaseException:
                self.close()
                raise
        return GuardedStream(wrapped, self.address)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock  # what httpcore asks of it (the ALPN protocol) it answers too
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self.address
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


def _readable(sock: socket.socket) -> bool:
    """Whether a read would not block (an idle pooled connection the server closed is)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if sys.platform == "win32" or not hasattr(select, "poll"):  # pragma: no cover
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class GuardedBackend(httpcore.NetworkBackend):
    """Connects where the check was made: the name is resolved once, every address it gave is
    checked (when `public` is set, only public addresses pass), and the socket is connected
    to those addresses, never to a second lookup's answer."""

    def __init__(self, public: PublicAddresses | None) -> None:
        self.public = public

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        deadline = _current()

        def left() -> float | None:
            return deadline.remaining(timeout) if deadline else timeout

        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            addresses = resolve(host, port, left)
        if self.public is not None:
            for *_, address in addresses:
                why = self.public.why_not(str(address[0]))
                if why is not None:
                    where = str(address[0])
                    if parse_address(host) is None:
                        where = f"{host} resolves to {where}, which"
                    raise Refused(f"refused: {where} is {why}, reached from remote content")
        last: OSError = OSError(f"{host}: no address to connect to")
        for family, kind, proto, address in addresses:
            stream = GuardedStream(socket.socket(family, kind, proto), address)
            try:
                stream.connect(address, left(), local_address, socket_options or ())
            except OSError as exc:  # a timeout too: the next address gets what is left
                stream.close()
                last = exc
                continue
            except BaseException:
                stream.close()
                raise
            return stream
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - digest never asks for one
        raise httpcore.ConnectError("digest connects over TCP only")


def resolve(
    host: str, port: int, left: Callable[[], float | None]
) -> list[tuple[Any, Any, Any, Any]]:
    """(family, type, proto, sockaddr) for each address of `host`: an address as written is
    used as it is; a name is looked up once, within `left()` seconds (a lookup cannot be
    interrupted, so it runs on a thread of its own)."""
    literal = parse_address(host)
    if literal is not None:
        text = host.strip("[]")
        if literal.version == 4:
            return [(socket.AF_INET, socket.SOCK_STREAM, 0, (text, port))]
        return [(socket.AF_INET6, socket.SOCK_STREAM, 0, (text, port, 0, 0))]
    infos = _lookup(host, port, left())
    found = [(f, t, p, a) for f, t, p, _name, a in infos if f in (socket.AF_INET, socket.AF_INET6)]
    if not found:
        raise OSError(f"{host}: no IPv4 or IPv6 address")
    return found


def _lookup(host: str, port: int, wait: float | None) -> list[Any]:
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="digest-resolve", daemon=True).start()
    if not done.wait(wait):
        raise TimeoutError(f"looking up {host} took too long")
    if "error" in box:
        raise box["error"]
    return list(box["infos"])


def guarded_transport(
    public: PublicAddresses | None, limits: httpx.Limits, make_context: Callable[[], ssl.SSLContext]
) -> httpx.HTTPTransport:
    """httpx's own transport (its exception mapping and streaming) over a GuardedBackend."""
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    # httpx offers no network_backend argument: its pool is replaced by one that has ours.
    # test_http's re-resolving-name test fails if this stops being the pool httpx uses.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=make_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(public),
    )
    return transport
