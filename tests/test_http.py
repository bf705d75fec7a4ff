"""digest.http against a real HTTP server on loopback: limits, retries, redirects, encodings."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PUBLIC
from hostile_servers import trickle
from werkzeug import Request, Response

from digest import __version__
from digest.http import Fetcher, FetchFailed, FetchPolicy, Validators, retry_after

pytestmark = pytest.mark.usefixtures("loopback_only")

FAST = FetchPolicy(timeout=5, backoff=0.01, max_bytes=100_000)


def fetcher(**changes: Any) -> Fetcher:
    from dataclasses import replace

    return Fetcher(replace(FAST, **changes))


def test_user_agent_names_the_tool_and_version_and_gzip_is_decoded(web: Any) -> None:
    body = b"<rss>" + b"x" * 5000 + b"</rss>"
    web.expect_request("/feed").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type="application/xml"
    )
    with fetcher() as f:
        answer = f.get(web.url_for("/feed"))
    assert answer.content == body and answer.status == 200
    request = web.log[0][0]
    assert request.headers["User-Agent"].startswith(f"digest/{__version__} ")
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_is_decoded_whether_zlib_wrapped_or_raw(web: Any, wbits: int) -> None:
    body = b"<feed>" + b"entry " * 2000 + b"</feed>"
    packer = zlib.compressobj(wbits=wbits)
    data = packer.compress(body) + packer.flush()
    web.expect_request("/f").respond_with_data(data, headers={"Content-Encoding": "deflate"})
    with fetcher() as f:
        assert f.get(web.url_for("/f")).content == body


def test_a_decompression_bomb_is_refused_without_inflating_it(web: Any) -> None:
    # 2 KB of gzip that would expand to 50 MB; the limit is 100 KB.
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    web.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    import tracemalloc

    with fetcher() as f:  # made first: the client's TLS set-up is not the body's memory
        tracemalloc.start()
        try:
            with pytest.raises(FetchFailed, match="decompress"):
                f.get(web.url_for("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 20_000_000  # never the 50 MB the body would inflate to


def test_a_declared_length_over_the_limit_is_refused(web: Any) -> None:
    web.expect_request("/big").respond_with_data(b"x" * 200_000)
    with fetcher() as f, pytest.raises(FetchFailed, match=r"too large \(200,000 bytes"):
        f.get(web.url_for("/big"))


def test_an_undeclared_length_over_the_limit_is_cut_off(web: Any) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 10_000  # 1 MB in all, chunked, no Content-Length

    web.expect_request("/stream").respond_with_response(Response(chunks()))
    with fetcher() as f, pytest.raises(FetchFailed, match="too large"):
        f.get(web.url_for("/stream"))


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (403, "403")]
)
def test_client_errors_are_never_retried(web: Any, status: int, reason: str) -> None:
    web.expect_request("/x").respond_with_data(b"no", status=status)
    with fetcher() as f, pytest.raises(FetchFailed, match=reason):
        f.get(web.url_for("/x"))
    assert len(web.log) == 1


def test_server_errors_are_retried_with_backoff_then_given_up(web: Any) -> None:
    web.expect_request("/down").respond_with_data(b"busy", status=503)
    slept: list[float] = []
    with Fetcher(FetchPolicy(retries=2, backoff=0.5), sleep=slept.append) as f:
        with pytest.raises(FetchFailed, match="HTTP 503 Service Unavailable after 3 tries"):
            f.get(web.url_for("/down"))
    assert len(web.log) == 3
    assert slept == [0.5, 1.0]  # doubled each time


def test_retry_after_is_honoured_and_a_later_success_returned(web: Any) -> None:
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "3"})
        return Response("<rss/>", status=200)

    web.expect_request("/limited").respond_with_handler(handler)
    slept: list[float] = []
    with Fetcher(FetchPolicy(backoff=0.5), sleep=slept.append) as f:
        assert f.get(web.url_for("/limited")).content == b"<rss/>"
    assert slept == [3.0]


def test_a_retry_after_beyond_the_cap_is_not_waited_for(web: Any) -> None:
    web.expect_request("/later").respond_with_data(b"", status=503, headers={"Retry-After": "3600"})
    slept: list[float] = []
    with Fetcher(FetchPolicy(max_retry_after=60), sleep=slept.append) as f:
        with pytest.raises(FetchFailed, match="asks to wait 3600 s"):
            f.get(web.url_for("/later"))
    assert slept == [] and len(web.log) == 1


def test_retry_after_as_an_http_date() -> None:
    now = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.timezone.utc)
    assert retry_after("Tue, 24 Nov 2026 06:00:30 GMT", now=now) == 30.0
    assert retry_after("120") == 120.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_redirects_are_followed_up_to_the_cap(web: Any) -> None:
    web.expect_request("/a").respond_with_data(b"", status=301, headers={"Location": "/b"})
    web.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/c"})
    web.expect_request("/c").respond_with_data(b"<feed/>")
    web.expect_request("/loop").respond_with_data(b"", status=302, headers={"Location": "/loop"})
    with fetcher(max_redirects=3) as f:
        answer = f.get(web.url_for("/a"))
        assert answer.content == b"<feed/>" and answer.url.endswith("/c")
        with pytest.raises(FetchFailed, match="more than 3 redirects"):
            f.get(web.url_for("/loop"))


def test_a_redirect_to_another_scheme_is_refused(web: Any) -> None:
    web.expect_request("/r").respond_with_data(
        b"", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with fetcher() as f, pytest.raises(FetchFailed, match="non-http"):
        f.get(web.url_for("/r"))


def test_validators_are_sent_and_a_304_is_an_answer(web: Any) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response("<rss/>", headers={"ETag": '"v1"', "Last-Modified": "x"})

    web.expect_request("/feed").respond_with_handler(handler)
    with fetcher() as f:
        first = f.get(web.url_for("/feed"))
        assert first.validators == Validators('"v1"', "x") and not first.not_modified
        second = f.get(web.url_for("/feed"), first.validators)
    assert second.not_modified and second.content == b""
    assert web.log[1][0].headers["If-Modified-Since"] == "x"


def test_a_server_that_never_answers_times_out_within_the_limit(web: Any) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(30)
        return Response("late")

    web.expect_request("/stall").respond_with_handler(stall)
    started = time.monotonic()
    try:
        with fetcher(timeout=1.0) as f, pytest.raises(FetchFailed, match="timed out after 1 s"):
            f.get(web.url_for("/stall"))
    finally:
        release.set()
    # Generous: it must end well before the 30 s the server would take.
    assert time.monotonic() - started < 15


def test_a_trickling_server_is_cut_off_at_the_timeout(web: Any) -> None:
    stop = threading.Event()

    def trickle() -> Iterator[bytes]:
        for _ in range(300):
            if stop.wait(0.1):
                return
            yield b"<"

    web.expect_request("/drip").respond_with_response(Response(trickle()))
    started = time.monotonic()
    try:
        with fetcher(timeout=1.0) as f, pytest.raises(FetchFailed, match="timed out"):
            f.get(web.url_for("/drip"))
    finally:
        stop.set()
    assert time.monotonic() - started < 15


def test_at_most_two_requests_per_host_and_n_overall(web: Any) -> None:
    lock = threading.Lock()
    now = {"all": 0, "127.0.0.1": 0, "localhost": 0}
    peak = dict.fromkeys(now, 0)

    def slow(request: Request) -> Response:
        host = request.host.split(":")[0]
        with lock:
            for key in ("all", host):
                now[key] += 1
                peak[key] = max(peak[key], now[key])
        time.sleep(0.3)
        with lock:
            now["all"] -= 1
            now[host] -= 1
        return Response("ok")

    web.expect_request("/slow").respond_with_handler(slow)
    urls = [web.url_for("/slow"), web.url_for("/slow").replace("127.0.0.1", "localhost")] * 4
    with fetcher(concurrency=3, per_host=2) as f:
        threads = [threading.Thread(target=f.get, args=(u,)) for u in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(web.log) == 8
    assert peak["127.0.0.1"] <= 2 and peak["localhost"] <= 2 and peak["all"] <= 3
    assert peak["all"] >= 2  # it did run requests side by side


def test_refused_connections_are_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with fetcher() as f, pytest.raises(FetchFailed, match="could not connect"):
        f.get(f"http://127.0.0.1:{port}/feed.xml")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Any]:
    """An HTTPS server on loopback with a self-signed certificate (no CA vouches for it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    from pytest_httpserver import HTTPServer

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    yield server
    server.stop()


def test_an_untrusted_certificate_is_a_tls_error(tls_server: Any) -> None:
    tls_server.expect_request("/feed.xml").respond_with_data(b"<rss/>")
    url = tls_server.url_for("/feed.xml")
    assert url.startswith("https://")
    with fetcher() as f, pytest.raises(FetchFailed, match="TLS error: .*certificate"):
        f.get(url)


# --- #19: one deadline per request (connect, TLS, headers, body), queueing not counted -------


def test_a_server_trickling_its_headers_is_cut_off_at_the_timeout(raw_server: Any) -> None:
    # One header byte every 0.2 s never trips a read timeout; before #19 the deadline was
    # checked only while reading the body, and this request lasted as long as the server.
    server = raw_server(trickle(b"HTTP/1.1 200 OK\r\nX-Pad: ", b"a"))
    started = time.monotonic()
    with fetcher(timeout=1.0) as f, pytest.raises(FetchFailed, match="timed out after 1 s"):
        f.get(f"http://127.0.0.1:{server.port}/feed.xml")
    assert time.monotonic() - started < 1.0 + 2.0  # --timeout and a small margin


def test_waiting_for_a_slot_of_the_host_is_not_counted_against_the_timeout(web: Any) -> None:
    # Ten requests to one host, two at a time, each answered in 0.5 s: the last pair waits
    # 2 s for its turn, as long as the 2 s timeout; none of them took longer than 0.5 s itself.
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response("<rss/>")

    web.expect_request("/slow.xml").respond_with_handler(slow)
    errors: list[Exception] = []

    def one() -> None:
        try:
            f.get(web.url_for("/slow.xml"))
        except FetchFailed as exc:
            errors.append(exc)

    with fetcher(timeout=2.0, per_host=2) as f:
        threads = [threading.Thread(target=one) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == [] and len(web.log) == 10


# --- #19: the run's fetch budget --------------------------------------------------------------


def test_nothing_is_fetched_once_the_runs_budget_is_spent(web: Any) -> None:
    release, stalling = threading.Event(), threading.Event()
    web.expect_request("/fast.xml").respond_with_data(b"<rss/>")
    web.expect_request("/stall.xml").respond_with_handler(
        lambda request: (stalling.set(), release.wait(30), Response("late"))[2]
    )
    reasons: list[str] = []

    def one(url: str) -> None:
        try:
            f.get(url)
        except FetchFailed as exc:
            reasons.append(str(exc))

    started = time.monotonic()
    try:
        with fetcher(timeout=30, budget=1.5, per_host=1) as f:
            assert f.get(web.url_for("/fast.xml")).content == b"<rss/>"
            # One request stalls until the budget ends; two more wait for the host meanwhile.
            threads = [threading.Thread(target=one, args=(web.url_for("/stall.xml"),))]
            threads[0].start()
            assert stalling.wait(10)
            threads += [
                threading.Thread(target=one, args=(web.url_for("/fast.xml"),)) for _ in range(2)
            ]
            for t in threads[1:]:
                t.start()
            for t in threads:
                t.join(30)
            # Afterwards nothing more is asked of any server.
            with pytest.raises(FetchFailed, match="not fetched: the run's fetch budget of 1.5s"):
                f.get(web.url_for("/fast.xml"))
    finally:
        release.set()
    assert time.monotonic() - started < 1.5 + 3.0
    assert sorted(reasons) == [
        "not fetched: the run's fetch budget of 1.5s was spent",
        "not fetched: the run's fetch budget of 1.5s was spent",
        "stopped: the run's fetch budget of 1.5s ran out",
    ]
    assert len(web.log) == 1  # the stalled request is never logged: it never finished


def test_a_retry_after_past_the_runs_budget_is_not_waited_for(web: Any) -> None:
    web.expect_request("/busy").respond_with_data(b"", status=503, headers={"Retry-After": "10"})
    slept: list[float] = []
    with Fetcher(FetchPolicy(budget=5.0), sleep=slept.append) as f:
        with pytest.raises(FetchFailed, match="waiting 10 s to try again would pass the run's"):
            f.get(web.url_for("/busy"))
    assert slept == [] and len(web.log) == 1


@pytest.mark.parametrize(
    ("seconds", "text"), [(600, "10m"), (90, "90s"), (7200, "2h"), (1.5, "1.5s"), (86400, "1d")]
)
def test_budgets_are_named_as_written(seconds: float, text: str) -> None:
    from digest.http import age_text

    assert age_text(seconds) == text


# --- #19: the network policy, checked on the address connected to ----------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a private address (this machine)"),
        ("::1", "a private address (this machine)"),
        ("10.1.2.3", "a private address (private network)"),
        ("192.168.0.1", "a private address (private network)"),
        ("fd00::1", "a private address (private network)"),
        ("169.254.169.254", "a private address (link-local)"),
        ("fe80::1%eth0", "a private address (link-local)"),
        ("100.100.100.200", "a private address (shared address space 100.64.0.0/10)"),
        ("100.64.0.1", "a private address (shared address space 100.64.0.0/10)"),
        ("224.0.0.1", "not a public address (multicast)"),
        ("ff02::1", "not a public address (multicast)"),
        ("240.0.0.1", "not a public address (reserved)"),
        ("0.0.0.0", "not a public address (unspecified)"),
        # IPv6 spellings of IPv4 addresses: mapped, 6to4 and NAT64 forms of 127.0.0.1.
        ("::ffff:127.0.0.1", "a private address (this machine)"),
        ("2002:7f00:1::", "a private address (this machine)"),
        ("64:ff9b::7f00:1", "a private address (this machine)"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("64:ff9b::5db8:d70e", None),
    ],
)
def test_public_means_globally_reachable(address: str, reason: str | None) -> None:
    from digest.addresses import PublicAddresses

    assert PublicAddresses().why_not(address) == reason


def test_networks_counted_as_public_are_a_seam_for_tests_only() -> None:
    from digest.addresses import PublicAddresses

    assert FetchPolicy().public_networks == ()  # production: nothing exempt
    seam = PublicAddresses(["127.0.0.2/32"])
    assert seam.is_public("127.0.0.2") and not seam.is_public("127.0.0.1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is a private address"),
        ("http://224.0.0.1/", "224.0.0.1 is not a public address (multicast)"),
        ("http://[::ffff:127.0.0.1]:9/", "::ffff:127.0.0.1 is a private address (this"),
        ("http://localhost:9/", "localhost resolves to 127.0.0.1, which is a private address"),
    ],
)
def test_links_from_remote_content_may_reach_only_public_addresses(url: str, reason: str) -> None:
    with fetcher(timeout=2) as f, pytest.raises(FetchFailed) as caught:
        f.get(url, public_only=True)
    assert str(caught.value).startswith("refused: ")
    assert reason in str(caught.value)
    assert str(caught.value).endswith(", reached from remote content")


def test_a_redirect_from_a_public_address_may_not_lead_into_the_private_network(
    web: Any, public_web: Any
) -> None:
    web.expect_request("/internal.html").respond_with_data(b"secret")
    public_web.expect_request("/feed.xml").respond_with_data(
        b"", status=302, headers={"Location": web.url_for("/internal.html")}
    )
    # The user wrote the public URL (it may go anywhere); its redirect is remote content.
    with fetcher(public_networks=PUBLIC) as f, pytest.raises(FetchFailed) as caught:
        f.get(public_web.url_for("/feed.xml"))
    assert str(caught.value) == (
        "refused: 127.0.0.1 is a private address (this machine), reached from remote content"
    )
    assert web.log == []


def test_a_redirect_within_the_users_own_network_is_followed(web: Any) -> None:
    # A URL the user wrote, on a private address: its redirects may stay there (an intranet).
    web.expect_request("/old").respond_with_data(b"", status=301, headers={"Location": "/new"})
    web.expect_request("/new").respond_with_data(b"<rss/>")
    with fetcher() as f:
        answer = f.get(web.url_for("/old"))
    assert answer.content == b"<rss/>" and answer.public is False


def test_an_answer_says_whether_it_came_from_a_public_address(web: Any, public_web: Any) -> None:
    web.expect_request("/a").respond_with_data(b"a")
    public_web.expect_request("/b").respond_with_data(b"b")
    with fetcher(public_networks=PUBLIC) as f:
        assert f.get(web.url_for("/a")).public is False
        assert f.get(public_web.url_for("/b"), public_only=True).public is True


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    public_web: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name whose first answer is public and whose next is private must not
    pass the check with the first and connect with the second."""
    import socket

    from pytest_httpserver import HTTPServer

    port = public_web.port
    private = HTTPServer(host="127.0.0.1", port=port, threaded=True)  # same port, other address
    try:
        private.start()
    except OSError:
        pytest.skip(f"127.0.0.1:{port} is taken")
    try:
        private.expect_request("/feed.xml").respond_with_data(b"private text")
        public_web.expect_request("/feed.xml").respond_with_data(b"public text")
        real = socket.getaddrinfo
        asked: list[str] = []

        def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host == "feeds.test":
                asked.append(host)
                host = "127.0.0.2" if len(asked) == 1 else "127.0.0.1"
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        with fetcher(public_networks=PUBLIC) as f:
            answer = f.get(f"http://feeds.test:{port}/feed.xml", public_only=True)
        assert answer.content == b"public text" and asked == ["feeds.test"]
        assert private.log == []
        # The name, not the address, is what the server is told it was asked for.
        assert public_web.log[0][0].headers["Host"] == f"feeds.test:{port}"
    finally:
        private.clear()
        private.stop()


def test_tls_is_checked_against_the_name_not_the_address_connected_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guarded request connects to the address it checked, yet TLS is still told the name
    (SNI) and checks the certificate against it."""
    import socket

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    from pytest_httpserver import HTTPServer

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    server = HTTPServer(host="127.0.0.2", port=0, ssl_context=context, threaded=True)
    server.start()
    real = socket.getaddrinfo

    def named(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.2" if host == "feeds.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", named)
    url = f"https://feeds.test:{server.port}/feed.xml"
    try:
        with fetcher(public_networks=PUBLIC) as f:
            with pytest.raises(FetchFailed, match="TLS error: .*certificate"):
                f.get(url, public_only=True)
    finally:
        server.stop()
    assert names == ["feeds.test"]
