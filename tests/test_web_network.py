"""Feeds, OPML lists and pages under the network policy and the run's fetch budget (#19): hostile
servers on loopback, with 127.0.0.2 standing in for the public internet."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PUBLIC
from fake_engine import FakeSummariser
from feed_fixtures import Item, Outline, article_page, full_article, opml, rss
from hostile_servers import trickle
from typer.testing import CliRunner
from werkzeug import Response

from digest import cli, executing
from digest.http import FetchPolicy
from digest.sources.memory import Everything
from digest.sources.web import WebOptions, WebReader

pytestmark = pytest.mark.usefixtures("loopback_only")

DATE = "2026-11-24"
REFUSED = "refused: 127.0.0.1 is a private address (this machine), reached from remote content"


def feed(title: str, count: int = 1) -> bytes:
    items = [
        Item(
            f"{title} story {i}",
            link=f"https://{title.lower()}.example/{i}",
            content=full_article(i),
        )
        for i in range(count)
    ]
    return rss(title, items)


def read(*sources: str | Path, **policy: Any) -> tuple[list[Any], list[Any]]:
    """The documents and Skipped lines of `sources`, with 127.0.0.2 counted as public."""
    http = FetchPolicy(**{"timeout": 5.0, "public_networks": PUBLIC, **policy})
    return WebReader(WebOptions(http=http), Everything()).read(list(sources))


# --- case 4: nothing found in remote content reaches into the private network -----------------


@pytest.fixture
def internal(web: Any) -> Any:
    """The private network: a feed and a page that must never reach a digest from elsewhere."""
    web.expect_request("/internal.rss").respond_with_data(
        feed("Internal"), content_type="application/rss+xml"
    )
    web.expect_request("/internal.html").respond_with_data(
        article_page("Internal memo", 3), content_type="text/html"
    )
    return web


@pytest.mark.parametrize("where", ["a public host", "a file on disk", "your own network"])
def test_an_opml_list_reaches_the_private_network_only_if_you_keep_it(
    where: str, internal: Any, public_web: Any, tmp_path: Path
) -> None:
    public_web.expect_request("/good.rss").respond_with_data(feed("Good"))
    body = opml(
        [Outline(internal.url_for("/internal.rss")), Outline(public_web.url_for("/good.rss"))]
    )
    if where == "a public host":
        public_web.expect_request("/list.opml").respond_with_data(body, content_type="text/x-opml")
        source: str | Path = public_web.url_for("/list.opml")
    elif where == "a file on disk":
        source = tmp_path / "list.opml"
        source.write_bytes(body)
    else:
        internal.expect_request("/list.opml").respond_with_data(body, content_type="text/x-opml")
        source = internal.url_for("/list.opml")
    documents, skipped = read(source)
    titles = [d.title for d in documents]
    if where == "a public host":
        assert titles == ["Good story 0"]
        assert [(s.path, s.reason) for s in skipped] == [
            (f"{internal.url_for('/internal.rss')} (in {source})", REFUSED)
        ]
        assert [q.path for q, _ in internal.log] == []  # never asked
    else:
        assert titles == ["Internal story 0", "Good story 0"] and skipped == []


def test_a_public_url_redirecting_into_the_private_network_is_refused(
    internal: Any, public_web: Any
) -> None:
    public_web.expect_request("/news").respond_with_data(
        b"", status=302, headers={"Location": internal.url_for("/internal.html")}
    )
    public_web.expect_request("/good.rss").respond_with_data(feed("Good"))
    documents, skipped = read(public_web.url_for("/news"), public_web.url_for("/good.rss"))
    assert [d.title for d in documents] == ["Good story 0"]
    assert [(s.path, s.reason) for s in skipped] == [(public_web.url_for("/news"), REFUSED)]
    assert internal.log == []


def test_links_in_a_feed_from_a_public_host_never_reach_the_private_network(
    internal: Any, public_web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    teaser = Item("Look here", link=internal.url_for("/internal.html"), description="A teaser.")
    public_web.expect_request("/teasers.rss").respond_with_data(rss("Teasers", [teaser]))
    documents, skipped = read(public_web.url_for("/teasers.rss"))
    (document,) = documents
    assert document.note == "Page unavailable; summarised from the feed's teaser."
    assert "Internal memo" not in document.text
    assert any(REFUSED in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert internal.log == []


# --- item 2: the run's fetch budget ------------------------------------------------------------


@pytest.fixture
def stall(web: Any) -> Iterator[str]:
    release = threading.Event()
    web.expect_request("/stall.rss").respond_with_handler(
        lambda request: (release.wait(30), Response("late"))[1]
    )
    yield web.url_for("/stall.rss")
    release.set()


def test_sources_not_fetched_within_the_budget_are_skipped(web: Any, stall: str) -> None:
    for name in ("first", "third", "fourth"):
        web.expect_request(f"/{name}.rss").respond_with_data(feed(name.title()))
    sources = [
        web.url_for("/first.rss"),
        stall,
        web.url_for("/third.rss"),
        web.url_for("/fourth.rss"),
    ]
    started = time.monotonic()
    # One at a time, in order: the stalled feed holds the run until the budget ends.
    documents, skipped = read(*sources, timeout=30.0, budget=1.5, concurrency=1)
    assert time.monotonic() - started < 1.5 + 5.0
    assert [d.title for d in documents] == ["First story 0"]
    assert [(s.path, s.reason) for s in skipped] == [
        (stall, "stopped: the run's fetch budget of 1.5s ran out"),
        (sources[2], "not fetched: the run's fetch budget of 1.5s was spent"),
        (sources[3], "not fetched: the run's fetch budget of 1.5s was spent"),
    ]


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeSummariser:
    engine = FakeSummariser("fake", "fake-model")
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


def make(*args: str) -> Any:
    return CliRunner().invoke(cli.app, [*args, "--no-cache", "--date", DATE, "-f", "md,json"])


def test_a_server_trickling_headers_costs_one_skipped_line_within_the_timeout(
    web: Any, raw_server: Any, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    web.expect_request("/good.rss").respond_with_data(feed("Good"))
    drip = raw_server(trickle(b"HTTP/1.1 200 OK\r\nX-Pad: ", b"a"))
    out = tmp_path / "out"
    started = time.monotonic()
    result = make(
        "make", web.url_for("/good.rss"), f"http://127.0.0.1:{drip.port}/feed.xml",
        "-o", str(out), "--timeout", "2",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert time.monotonic() - started < 2 + 8  # not the 60 s the server would go on for
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in data["documents"]] == ["Good story 0"]
    assert [s["reason"] for s in data["skipped"]] == ["timed out after 2 s"]


def test_the_fetch_budget_is_an_option_and_a_config_key(
    web: Any, stall: str, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    web.expect_request("/good.rss").respond_with_data(feed("Good"))
    config = tmp_path / "digest.toml"
    config.write_text('fetch_budget = "2s"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = make("--config", str(config), "make", web.url_for("/good.rss"), stall, "-o", str(out))
    assert result.exit_code == 3, result.output
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in data["documents"]] == ["Good story 0"]
    assert [s["reason"] for s in data["skipped"]] == [
        "stopped: the run's fetch budget of 2s ran out"
    ]

    result = make("make", str(tmp_path), "--fetch-budget", "soon", "-o", str(out))
    assert result.exit_code == 2
    assert "--fetch-budget must be a duration such as 10m, 90s or 1h, or 'none'" in result.output
