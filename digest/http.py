"""Polite, bounded HTTP GETs for feeds and pages: caps on time, size, hosts, redirects, retries,
the run's fetch budget, and which addresses remote content may reach."""

from __future__ import annotations

import datetime as _dt
import email.utils
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from digest.addresses import PublicAddresses
from digest.defaults import DEFAULT_FETCH_BUDGET_S, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S
from digest.errors import SkipDocument, UsageError
from digest.sizes import age_seconds
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

    #: Seconds one request may take in all: connecting, TLS, the headers and the whole body
    #: (time spent queued for a free slot is not counted).
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
    #: Seconds all of a run's fetching may take (queues, retries and Retry-After waits
    #: included); what is not fetched by then is skipped. math.inf: no limit.
    budget: float = DEFAULT_FETCH_BUDGET_S
    #: Networks counted as public although they are not: a seam for tests, which serve a
    #: "public" host on 127.0.0.2. Empty (nothing exempt) everywhere else.
    public_networks: tuple[str, ...] = ()


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
    #: Whether the answer came from a public address. What it lists or links may reach only
    #: public addresses when it did (True, the safe side, when not known).
    public: bool = True

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class FetchFailed(SkipDocument):
    """A URL could not be had. The message is the short reason readers see (a Skipped line,
    "could not connect"); `detail`, when there is one, is the system's own account ("[Errno
    -2] Name or service not known"), for the operator's log only."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail


class Fetcher:
    """Shared httpx clients with a global and a per-host cap on requests in flight.

    Thread-safe: feeds and pages are fetched from a thread pool, and every request (retries
    and redirect hops included) holds one global slot and one slot of its host.

    Where a request may connect is the network policy: a URL the user wrote may reach any
    address; a URL found in remote content (`public_only`), and every redirect given by a
    server at a public address, only public ones. It is checked on the address connected to:
    the two kinds of request have separate connection pools, and the guarded one resolves a
    name once and connects to the address it checked (digest.connections).
    """

    def __init__(
        self, policy: FetchPolicy | None = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._sleep = sleep
        self._global = threading.BoundedSemaphore(self.policy.concurrency)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._ends = time.monotonic() + self.policy.budget
        self.public = PublicAddresses(self.policy.public_networks)
        import httpx

        from digest.connections import guarded_transport

        limits = httpx.Limits(max_connections=self.policy.concurrency)
        # Key True: public addresses only (guarded); False: anywhere the user pointed.
        self._clients = {
            only: httpx.Client(
                transport=guarded_transport(
                    self.public if only else None,
                    limits,
                    lambda: httpx.create_ssl_context(trust_env=False),
                ),
                # Redirects are followed here, hop by hop, so each hop takes its host's slot
                # and is checked against the policy.
                follow_redirects=False,
                timeout=httpx.Timeout(self.policy.timeout),
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
            for only in (False, True)
        }

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(self.policy.per_host)
            return self._hosts[host]

    def budget_left(self) -> float:
        """Seconds left of the run's fetch budget (negative once it is spent)."""
        return self._ends - time.monotonic()

    def _queue(self, slot: threading.BoundedSemaphore) -> None:
        """Wait for a slot for as long as the budget lasts."""
        if not slot.acquire(timeout=min(max(0.0, self.budget_left()), threading.TIMEOUT_MAX)):
            raise self._budget_spent()

    def _budget_spent(self) -> FetchFailed:
        return FetchFailed(
            f"not fetched: the run's fetch budget of {self._budget_text()} was spent"
        )

    def _budget_text(self) -> str:
        return age_text(self.policy.budget)

    def get(
        self, url: str, validators: Validators | None = None, *, public_only: bool = False
    ) -> Fetched:
        """GET `url`, following redirects and retrying 429/5xx; raise FetchFailed if it fails.

        `public_only`: the URL was found in remote content, so it may reach only public
        addresses. Redirects given by a server at a public address are held to that too.
        """
        if not is_url(url):
            raise FetchFailed(f"not an http(s) URL: {url}")
        extra = validators.headers() if validators else {}
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            answer = self._with_retries(current, extra, public_only)
            if answer.status in _REDIRECTS:
                location = answer.headers.get("location")
                if not location:
                    raise FetchFailed(f"HTTP {answer.status} redirect without a Location")
                target = urljoin(current, location)
                if not is_url(target):
                    raise FetchFailed(f"redirected to a non-http(s) address: {target[:200]}")
                log.debug("%s redirects (%d) to %s", current, answer.status, target)
                # Where a public server sends us is remote content like any link it serves.
                public_only = public_only or answer.public
                current = target
                continue
            if answer.status == 304 or 200 <= answer.status < 300:
                return answer
            raise FetchFailed(_status_reason(answer))
        raise FetchFailed(f"more than {self.policy.max_redirects} redirects")

    def _with_retries(self, url: str, extra: Mapping[str, str], public_only: bool) -> Fetched:
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            answer = self._once(url, extra, public_only)
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
            if wait >= self.budget_left():
                raise FetchFailed(
                    f"{_status_reason(answer)}; waiting {wait:g} s to try again would pass "
                    f"the run's fetch budget of {self._budget_text()}"
                )
            log.info("%s: HTTP %d, trying again in %.1f s", url, answer.status, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str, extra: Mapping[str, str], public_only: bool) -> Fetched:
        # Host first: requests queued for a busy host must not hold slots other hosts could
        # use. Queueing counts against the run's budget, not against the request's --timeout.
        host = self._host_slot(url)
        self._queue(host)
        try:
            self._queue(self._global)
            try:
                return self._request(url, extra, public_only)
            finally:
                self._global.release()
        finally:
            host.release()

    def _request(self, url: str, extra: Mapping[str, str], public_only: bool) -> Fetched:
        import httpx

        from digest.connections import Deadline, Refused, within

        if self.budget_left() <= 0:
            raise self._budget_spent()
        now = time.monotonic()
        by_budget = self._ends < now + self.policy.timeout
        deadline = Deadline(min(self._ends, now + self.policy.timeout))
        try:
            with (
                within(deadline),
                self._clients[public_only].stream("GET", url, headers=dict(extra)) as response,
            ):
                body = b""
                if 200 <= response.status_code < 300:
                    body = self._read_body(response, deadline.remaining)
                headers = {k.lower(): v for k, v in response.headers.items()}
                stream = response.extensions.get("network_stream")
                address = stream.get_extra_info("server_addr") if stream else None
                return Fetched(
                    url=str(response.url),
                    status=response.status_code,
                    headers=headers,
                    content=body,
                    validators=Validators(headers.get("etag"), headers.get("last-modified")),
                    public=address is None or self.public.is_public(str(address[0])),
                )
        except Refused as exc:
            raise FetchFailed(str(exc)) from None
        # Not an HTTPError: a host name IDNA refuses ("http://\ufffd/" from an OPML list).
        except httpx.InvalidURL as exc:
            raise FetchFailed(f"not a valid address ({exc})") from None
        except (httpx.HTTPError, _Expired) as exc:
            if deadline.passed and by_budget:
                raise FetchFailed(
                    f"stopped: the run's fetch budget of {self._budget_text()} ran out"
                ) from None
            if deadline.passed or isinstance(exc, httpx.TimeoutException):
                raise FetchFailed(f"timed out after {self.policy.timeout:g} s") from None
            assert isinstance(exc, httpx.HTTPError)  # _Expired: the deadline passed
            raise FetchFailed(*_network_reason(exc)) from None

    def _read_body(self, response: httpx.Response, left: Callable[[], float]) -> bytes:
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
            try:
                left()
            except TimeoutError:
                raise _Expired from None
        return bytes(out)


class _Expired(Exception):
    """The request's deadline passed between two chunks of its body."""


def parse_budget(value: str, option: str = "--fetch-budget") -> float:
    """'10m', '90s', '1h' → seconds; 'none' (also 'never', 'off') → no limit (math.inf)."""
    if value.strip().lower() in ("none", "never", "off"):
        return math.inf
    seconds = age_seconds(value)
    if not seconds:  # None, or a budget of nothing at all
        raise UsageError(
            f"{option} must be a duration such as 10m, 90s or 1h, or 'none', not {value!r}"
        )
    return seconds


def age_text(seconds: float) -> str:
    """600 → '10m', 90 → '90s', 7200 → '2h': a duration as --fetch-budget takes it."""
    if math.isinf(seconds):
        return "none"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


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


def _network_reason(exc: httpx.HTTPError) -> tuple[str, str | None]:
    """(reason, detail) for a transport failure: a short reason for the digest ("could not
    connect", "TLS error: certificate has expired"), the exception's own text for the log."""
    import ssl

    import httpx

    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: {cause.verify_message or 'certificate verify failed'}", text
        if isinstance(cause, ssl.SSLError):
            return "TLS error", str(cause) or text
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return "TLS error", text
    if isinstance(exc, httpx.ConnectError):
        return "could not connect", text
    return "network error", f"{type(exc).__name__}: {text}"
