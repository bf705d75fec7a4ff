"""Polite, bounded HTTP GETs for feeds and pages: caps on time, size, hosts, redirects, retries."""

from __future__ import annotations

import datetime as _dt
import email.utils
import ipaddress
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from digest.defaults import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S
from digest.errors import SkipDocument
from digest.urls import is_url

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

#: Status codes worth another try: the server is busy or briefly broken, not refusing us.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def user_agent() -> str:
    # httpx (with the ssl, rich and click it pulls in) is imported only by runs that fetch:
    # about 0.07 s of every folder-only run's start-up otherwise.
    import httpx

    from digest.version import __version__

    return f"digest/{__version__} (feed and page digests; python-httpx/{httpx.__version__})"


@dataclass(frozen=True)
class FetchPolicy:
    """How politely and how far a run fetches (the CLI fills it from --timeout, --max-size…)."""

    #: Seconds one request may take in all (connect, wait and the whole body).
    timeout: float = DEFAULT_TIMEOUT_S
    #: Largest body accepted, before and after gzip/deflate decoding (the --max-size rule).
    max_bytes: int = DEFAULT_MAX_BYTES
    concurrency: int = 8
    per_host: int = 2
    max_redirects: int = 5
    #: Further tries after a 429 or 5xx answer (never after other 4xx).
    retries: int = 2
    #: First backoff in seconds, doubled each try; a Retry-After header takes precedence.
    backoff: float = 1.0
    #: A Retry-After longer than this is not waited for: the source is skipped this time.
    max_retry_after: float = 60.0
    #: Sent as User-Agent; empty means digest's own (see user_agent()).
    user_agent: str = ""


@dataclass(frozen=True)
class Validators:
    """A response's cache validators, sent back as If-None-Match / If-Modified-Since."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        found = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in found.items() if value}

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class Fetched:
    """One answered GET: the final URL after redirects, and the decoded body (empty on 304)."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class FetchFailed(SkipDocument):
    """A URL could not be had; the message is the one-line reason shown under Skipped."""


class Fetcher:
    """A shared httpx client with a global and a per-host cap on requests in flight.

    Thread-safe: feeds and pages are fetched from a thread pool, and every request (retries
    and redirect hops included) holds one global slot and one slot of its host.
    """

    def __init__(
        self, policy: FetchPolicy | None = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._sleep = sleep
        self._global = threading.BoundedSemaphore(self.policy.concurrency)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        import httpx

        self._client = httpx.Client(
            # Redirects are followed here, hop by hop, so each hop takes its host's slot.
            follow_redirects=False,
            timeout=httpx.Timeout(self.policy.timeout),
            limits=httpx.Limits(max_connections=self.policy.concurrency),
            headers={
                "User-Agent": self.policy.user_agent or user_agent(),
                # Only what we decode ourselves, under the size cap (never br or zstd).
                "Accept-Encoding": "gzip, deflate",
                "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, "
                "text/html;q=0.7, */*;q=0.5",
            },
            trust_env=False,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(self.policy.per_host)
            return self._hosts[host]

    def get(
        self, url: str, validators: Validators | None = None, *, public_only: bool = False
    ) -> Fetched:
        """GET `url`, following redirects and retrying 429/5xx; raise FetchFailed if it fails.

        `public_only` refuses (at every redirect hop) hosts on loopback, private or link-local
        networks: for links found in feed text, which must not reach into the user's network.
        """
        if not is_url(url):
            raise FetchFailed(f"not an http(s) URL: {url}")
        extra = validators.headers() if validators else {}
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            if public_only and is_private(current):
                raise FetchFailed("refused: the link points into a private network")
            answer = self._with_retries(current, extra)
            if answer.status in _REDIRECTS:
                location = answer.headers.get("location")
                if not location:
                    raise FetchFailed(f"HTTP {answer.status} redirect without a Location")
                target = urljoin(current, location)
                if not is_url(target):
                    raise FetchFailed(f"redirected to a non-http(s) address: {target[:200]}")
                log.debug("%s redirects (%d) to %s", current, answer.status, target)
                current = target
                continue
            if answer.status == 304 or 200 <= answer.status < 300:
                return answer
            raise FetchFailed(_status_reason(answer))
        raise FetchFailed(f"more than {self.policy.max_redirects} redirects")

    def _with_retries(self, url: str, extra: Mapping[str, str]) -> Fetched:
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            answer = self._once(url, extra)
            if answer.status not in RETRY_STATUSES:
                return answer
            if attempt == attempts:
                raise FetchFailed(f"{_status_reason(answer)} after {attempts} tries")
            wait = retry_after(answer.headers.get("retry-after"))
            if wait is None:
                wait = self.policy.backoff * 2 ** (attempt - 1)
            elif wait > self.policy.max_retry_after:
                raise FetchFailed(
                    f"{_status_reason(answer)}; the server asks to wait {wait:.0f} s "
                    f"(more than {self.policy.max_retry_after:.0f})"
                )
            log.info("%s: HTTP %d, trying again in %.1f s", url, answer.status, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str, extra: Mapping[str, str]) -> Fetched:
        import httpx

        deadline = time.monotonic() + self.policy.timeout
        # Host first: requests queued for a busy host must not hold slots other hosts could use.
        with self._host_slot(url), self._global:
            try:
                with self._client.stream("GET", url, headers=dict(extra)) as response:
                    body = b""
                    if 200 <= response.status_code < 300:
                        body = self._read_body(response, deadline)
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    return Fetched(
                        url=str(response.url),
                        status=response.status_code,
                        headers=headers,
                        content=body,
                        validators=Validators(headers.get("etag"), headers.get("last-modified")),
                    )
            except httpx.TimeoutException:
                raise FetchFailed(f"timed out after {self.policy.timeout:g} s") from None
            except httpx.TooManyRedirects:  # pragma: no cover - redirects are ours to follow
                raise FetchFailed("too many redirects") from None
            except httpx.HTTPError as exc:
                raise FetchFailed(_network_reason(exc)) from None

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailed(f"too large ({int(declared):,} bytes; the limit is {limit:,})")
        decoder = _decoder(response.headers.get("content-encoding", ""))
        raw = 0
        out = bytearray()
        for chunk in response.iter_raw():
            raw += len(chunk)
            if raw > limit:
                raise FetchFailed(f"too large (over {limit:,} bytes; the limit is {limit:,})")
            out += decoder(chunk, limit - len(out))
            if time.monotonic() > deadline:
                # A server that trickles bytes never trips the read timeout; this does.
                raise FetchFailed(f"timed out after {self.policy.timeout:g} s")
        return bytes(out)


def is_private(url: str) -> bool:
    """Whether `url`'s host is this machine or on a private, link-local or reserved network.

    Names are resolved; one that does not resolve is not private (fetching it fails anyway).
    """
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return False  # a local feed file: not a network at all
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return False
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return any(
        a.is_private or a.is_loopback or a.is_link_local or a.is_reserved or a.is_unspecified
        for a in addresses
    )


def _decoder(encoding: str) -> Callable[[bytes, int], bytes]:
    """A function decoding one chunk, refusing to produce more than the room left."""
    name = encoding.strip().lower()
    if name in ("", "identity"):

        def plain(chunk: bytes, room: int) -> bytes:
            return chunk  # the raw count already holds this under the limit

        return plain
    if name not in ("gzip", "x-gzip", "deflate"):
        raise FetchFailed(f"unsupported Content-Encoding {encoding[:40]!r}")
    # 47: gzip or zlib header, detected; "deflate" in the wild is sometimes raw (-15), retried.
    state = {"d": zlib.decompressobj(47), "raw_tried": False}

    def decode(chunk: bytes, room: int) -> bytes:
        decompressor = state["d"]
        assert isinstance(decompressor, type(zlib.decompressobj()))
        try:
            # max_length caps the memory a small compressed chunk can expand into.
            data = decompressor.decompress(chunk, room + 1)
        except zlib.error:
            if name == "deflate" and not state["raw_tried"]:
                state["raw_tried"] = True
                state["d"] = zlib.decompressobj(-15)
                return decode(chunk, room)
            raise FetchFailed(f"corrupt {name} body") from None
        if len(data) > room or decompressor.unconsumed_tail:
            raise FetchFailed(
                f"expands past the size limit when decompressed ({name}; possibly a "
                "decompression bomb)"
            )
        return data

    return decode


def retry_after(value: str | None, *, now: _dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _status_reason(answer: Fetched) -> str:
    import httpx

    try:
        phrase = httpx.codes.get_reason_phrase(answer.status)
    except ValueError:  # pragma: no cover - unusual codes
        phrase = ""
    reason = f"HTTP {answer.status} {phrase}".strip()
    if answer.status == 410:
        reason += " (removed for good: drop it from your sources)"
    return reason


def _network_reason(exc: httpx.HTTPError) -> str:
    """One line for a transport failure; TLS problems are named as such."""
    import ssl

    import httpx

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: {cause.verify_message or 'certificate verify failed'}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return f"TLS error: {text}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({text})"
    return f"network error ({type(exc).__name__}: {text})"
