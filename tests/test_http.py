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
from werkzeug import Request, Response

from digest import __version__
from digest.http import Fetcher, FetchFailed, FetchPolicy, Validators, is_private, retry_after

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


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1:8080/x", True),
        ("http://localhost/x", True),
        ("http://10.1.2.3/", True),
        ("http://192.168.0.1/admin", True),
        ("http://169.254.169.254/latest/meta-data", True),
        ("http://[::1]/", True),
        ("http://93.184.215.14/", False),
        ("/home/ana/feed.rss", False),
    ],
)
def test_private_addresses(url: str, private: bool) -> None:
    assert is_private(url) is private


def test_public_only_refuses_a_private_address_before_any_request(web: Any) -> None:
    with fetcher() as f, pytest.raises(FetchFailed, match="private network"):
        f.get(web.url_for("/anything"), public_only=True)
    assert web.log == []
