"""`digest make` over feeds, OPML lists and pages served by a real HTTP server on loopback."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_path
from fake_engine import FakeSummariser
from feed_fixtures import Item, Outline, article_page, full_article, json_feed, opml, prose, rss
from typer.testing import CliRunner
from werkzeug import Request, Response

from digest import cli, executing
from digest.state import STATE_FILENAME

pytestmark = pytest.mark.usefixtures("loopback_only")

DATE = "2026-11-24"


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeSummariser:
    engine = FakeSummariser("fake", "fake-model")
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


class Site:
    """Feeds and pages on the loopback server, with ETags and 304s like a real web server."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.lock = threading.Lock()
        server.expect_request(re.compile(r"^/site/.*")).respond_with_handler(self._serve)

    def url(self, path: str) -> str:
        return self.server.url_for(f"/site/{path}")

    def put(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        with self.lock:
            self.bodies[path] = (body, content_type)
        return self.url(path)

    def _serve(self, request: Request) -> Response:
        path = request.path.removeprefix("/site/")
        with self.lock:
            found = self.bodies.get(path)
        if found is None:
            return Response("not found", status=404)
        body, content_type = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=content_type, headers={"ETag": etag})

    def requests(self, path: str) -> list[tuple[Request, Response]]:
        return [(q, r) for q, r in self.server.log if q.path == f"/site/{path}"]


@pytest.fixture
def site(web: Any) -> Site:
    return Site(web)


def make(*args: str) -> Any:
    return CliRunner().invoke(
        cli.app, ["make", *args, "--no-cache", "--date", DATE, "-f", "md,json"]
    )


def documents(out: Path, name: str = f"digest-{DATE}.json") -> list[dict[str, Any]]:
    return json.loads((out / name).read_text(encoding="utf-8"))["documents"]


def full_items(prefix: str, count: int, *, start: int = 0) -> list[Item]:
    return [
        Item(
            f"{prefix} story {i}",
            link=f"https://{prefix.lower()}.example/{i}",
            guid=f"https://{prefix.lower()}.example/?p={i}",
            content=full_article(i + 100 * len(prefix)),
            author=f"Writer {i}",
        )
        for i in range(start, start + count)
    ]


# --- the "done when" run: a feed URL, a local OPML list of feeds, and a folder ---------------


@pytest.fixture
def subscriptions(site: Site, tmp_path: Path) -> dict[str, Any]:
    """Three feeds: full-content RSS by URL; via a local OPML, a JSON Feed and a teaser-only
    RSS whose entries link to article pages on the same server; and a folder of text."""
    main = site.put("feed.xml", rss("Harbour News", full_items("Harbour", 2)))
    site.put("data/feed.json", json_feed("Rail Weekly", full_items("Rail", 1)), "application/json")
    teasers = []
    for i in range(2):
        page = site.put(
            f"articles/{i}.html", article_page(f"Museum story {i}", 50 + i), "text/html"
        )
        teasers.append(Item(f"Museum story {i}", link=page, description="Read the full story."))
    site.put("teasers.rss", rss("Museum Notes", teasers))
    local = tmp_path / "local.opml"
    local.write_bytes(
        opml([Outline(site.url("data/feed.json"), "Rail"), Outline(site.url("teasers.rss"))])
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Council notes\n\n" + prose(7, 10) + "\n", encoding="utf-8")
    return {"feed": main, "opml": local, "docs": docs, "out": tmp_path / "out"}


def test_one_digest_of_every_feed_grouped_by_feed(
    subscriptions: dict[str, Any], site: Site, fake_engine: FakeSummariser
) -> None:
    s = subscriptions
    # The layout before stories: as read, grouped by feed, one entry per document.
    args = ("-o", str(s["out"]), "--order", "feed", "--no-merge")
    result = make(s["feed"], str(s["opml"]), str(s["docs"]), *args)
    assert result.exit_code == 0, result.output
    docs = documents(s["out"])
    assert [(d["feed"], d["title"]) for d in docs] == [
        (None, "Council notes"),
        ("Harbour News", "Harbour story 0"),
        ("Harbour News", "Harbour story 1"),
        ("Rail Weekly", "Rail story 0"),
        ("Museum Notes", "Museum story 0"),
        ("Museum Notes", "Museum story 1"),
    ]
    harbour = docs[1]
    assert harbour["link"] == "https://harbour.example/0" and harbour["author"] == "Writer 0"
    assert harbour["date"] == "2026-11-23T18:00+00:00"
    # Part 1 says nothing new: the fake engine makes its bullet and the article summary from
    # the same first words, and an entry never says a sentence twice (digest.repeats). Its
    # heading keeps its place all the same, with a sentence of its own not yet said.
    assert [x["title"] for x in harbour["sections"]] == [
        "Part 1 of story 700",
        "Part 2 of story 700",
        "Part 3 of story 700",
    ]
    part_1 = harbour["sections"][0]["summary"]
    assert part_1.startswith("The council report") and part_1 not in harbour["summary"]
    # A teaser-only entry is summarised from the article page its link leads to.
    museum = docs[4]
    assert museum["link"] == site.url("articles/0.html")
    assert museum["words"] > 200 and museum["summary"].startswith("article: The ")
    assert "Part 2 of story 50" in [x["title"] for x in museum["sections"]]
    assert len(site.requests("articles/0.html")) == 1

    md = (s["out"] / f"digest-{DATE}.md").read_text(encoding="utf-8")
    for group in ("## Other documents", "## Harbour News", "## Rail Weekly", "## Museum Notes"):
        assert group in md
    assert md.index("## Harbour News") < md.index("### 2. Harbour story 0")
    assert "[harbour.example](https://harbour.example/0) · Writer 0 · 2026-11-23T18:00+00:00" in md
    assert md.count("](http") == 5  # one link per feed entry, to its original


def test_second_run_sends_conditional_requests_and_writes_nothing(
    subscriptions: dict[str, Any], site: Site, fake_engine: FakeSummariser
) -> None:
    s = subscriptions
    args = [s["feed"], str(s["opml"]), str(s["docs"]), "-o", str(s["out"]), "--since", "last"]
    assert make(*args).exit_code == 0
    first = s["out"] / f"digest-{DATE}.md"
    assert first.exists()
    state = json.loads((s["out"] / STATE_FILENAME).read_text(encoding="utf-8"))
    assert site.url("feed.xml") in state["http"]
    site.server.clear_log()

    result = make(*args, "--skip-empty")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # nothing written
    assert sorted(p.name for p in s["out"].glob("digest-*")) == [
        f"digest-{DATE}.json",
        f"digest-{DATE}.md",
    ]
    feeds = ["feed.xml", "data/feed.json", "teasers.rss"]
    for path in feeds:
        ((request, response),) = site.requests(path)
        assert request.headers.get("If-None-Match"), path
        assert response.status_code == 304, path
    assert site.requests("articles/0.html") == []  # no article was fetched again

    # The feed gains one entry: exactly that one is new.
    site.put("feed.xml", rss("Harbour News", full_items("Harbour", 3)))
    result = make(*args, "--skip-empty")
    assert result.exit_code == 0, result.output
    assert [d["title"] for d in documents(s["out"], f"digest-{DATE}-2.json")] == ["Harbour story 2"]


def test_reordered_and_republished_entries_are_not_new(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    items = full_items("Bay", 4)
    url = site.put("bay.xml", rss("Bay", items))
    out = tmp_path / "out"
    assert make(url, "-o", str(out), "--since", "last").exit_code == 0
    # Re-ordered, one re-published with a new date, one gone: nothing is new.
    from dataclasses import replace

    republished = replace(items[0], published=items[0].published.replace(day=24))
    site.put("bay.xml", rss("Bay", [items[2], republished, items[1]]))
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output


def test_updated_entries_are_sent_again_only_when_asked(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    from dataclasses import replace

    items = full_items("Dock", 2)
    url = site.put("dock.xml", rss("Dock", items))
    out = tmp_path / "out"
    assert make(url, "-o", str(out), "--since", "last").exit_code == 0
    changed = replace(items[1], content=full_article(999))
    site.put("dock.xml", rss("Dock", [items[0], changed]))
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output

    changed_again = replace(items[1], content=full_article(998))
    site.put("dock.xml", rss("Dock", [items[0], changed_again]))
    result = make(url, "-o", str(out), "--since", "last", "--include-updated")
    assert result.exit_code == 0, result.output
    (doc,) = documents(out, f"digest-{DATE}-2.json")
    assert doc["title"] == "Dock story 1" and "Updated" in doc["note"]


def test_a_teaser_whose_page_cannot_be_had_falls_back_with_a_note(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    url = site.put(
        "t.rss", rss("T", [Item("Gone", link=site.url("missing.html"), description=prose(3, 3))])
    )
    result = make(url, "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (doc,) = documents(tmp_path / "out")
    assert doc["note"] == "Page unavailable; summarised from the feed's teaser."
    md = (tmp_path / "out" / f"digest-{DATE}.md").read_text(encoding="utf-8")
    assert "*Page unavailable; summarised from the feed's teaser.*" in md
    # Why, for the operator: on stderr.
    assert f"({site.url('missing.html')}) could not be had: HTTP 404 Not Found" in result.stderr


def test_a_web_page_url_is_read_like_an_html_file(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    url = site.put("news/story.html", article_page("Tram line opens", 9), "text/html")
    result = make(url, "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (doc,) = documents(tmp_path / "out")
    assert doc["title"] == "Tram line opens" and doc["link"] == url and doc["feed"] is None
    # Part 1's bullet would repeat the summary (same first words from the fake engine): it
    # keeps its place with a sentence not yet said.
    assert [x["title"] for x in doc["sections"]][:2] == ["Part 1 of story 9", "Part 2 of story 9"]
    assert doc["sections"][0]["summary"] not in doc["summary"]


def test_links_in_a_feed_from_elsewhere_never_reach_into_the_private_network(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    # A feed file (not on this network) whose teaser links at a loopback page: not fetched.
    page = site.put("admin.html", article_page("Router admin", 5), "text/html")
    feed = tmp_path / "elsewhere.rss"
    feed.write_bytes(rss("Elsewhere", [Item("Look", link=page, description="A teaser.")]))
    result = make(str(feed), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (doc,) = documents(tmp_path / "out")
    assert doc["note"] == "Page unavailable; summarised from the feed's teaser."
    assert doc["words"] == 2
    assert "refused: 127.0.0.1 is a private address" in result.stderr
    assert site.requests("admin.html") == []


def test_a_url_that_is_neither_feed_nor_page_is_skipped(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    url = site.put("report", b"%PDF-1.4 binary", "application/pdf")
    result = make(url, "-o", str(tmp_path / "out"))
    assert result.exit_code == 3, result.output
    (skipped,) = json.loads((tmp_path / "out" / f"digest-{DATE}.json").read_text())["skipped"]
    assert skipped["reason"].startswith("neither a feed nor a web page (application/pdf)")


def test_a_page_url_is_new_again_only_when_its_text_changed(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    url = site.put("page.html", article_page("Ferry timetable", 1), "text/html")
    out = tmp_path / "out"
    assert make(url, "-o", str(out), "--since", "last").exit_code == 0
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert site.requests("page.html")[-1][1].status_code == 304
    site.put("page.html", article_page("Ferry timetable", 2), "text/html")
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0, result.output
    assert [d["title"] for d in documents(out, f"digest-{DATE}-2.json")] == ["Ferry timetable"]


def test_local_feed_files_are_sources(tmp_path: Path, fake_engine: FakeSummariser) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.rss").write_bytes(rss("Local RSS", full_items("Pier", 1)))
    (folder / "b.json").write_bytes(json_feed("Local JSON", full_items("Quay", 1)))
    (folder / "data.json").write_text('{"unrelated": true}', encoding="utf-8")  # ignored
    (folder / "c.atom").write_bytes(b"")  # empty: skipped
    result = make(str(folder), "-o", str(tmp_path / "out"), "--engine", "extractive")
    assert result.exit_code == 3, result.output
    docs = documents(tmp_path / "out")
    assert [d["feed"] for d in docs] == ["Local RSS", "Local JSON"]
    skipped = json.loads((tmp_path / "out" / f"digest-{DATE}.json").read_text())["skipped"]
    assert [s["reason"] for s in skipped] == ["empty file"]


# --- bad sources: each a Skipped line with a reason, the rest of the digest written, exit 3 ---


def _bomb() -> bytes:
    return gzip.compress(b"<rss>" + b" " * 30_000_000, compresslevel=9)


BAD: dict[str, tuple[Any, str]] = {
    "malformed XML": (
        lambda s: s.put("bad.xml", b"<rss><channel><title>x</title></chan"),
        "malformed XML",
    ),
    "HTML where a feed was expected": (
        lambda s: s.put("html.xml", b"<!DOCTYPE html><html><body>Sign in</body></html>"),
        "an HTML page where a feed was expected",
    ),
    "404": (lambda s: s.url("nowhere.xml"), "HTTP 404 Not Found"),
    "410": (
        lambda s: (
            s.server.expect_request("/gone.xml").respond_with_data(b"", status=410)
            or s.server.url_for("/gone.xml")
        ),
        "HTTP 410 Gone",
    ),
    "5xx after retries": (
        lambda s: (
            s.server.expect_request("/busy.xml").respond_with_data(
                b"", status=503, headers={"Retry-After": "0"}
            )
            or s.server.url_for("/busy.xml")
        ),
        "HTTP 503 Service Unavailable after 3 tries",
    ),
    "too large": (lambda s: s.put("huge.xml", rss("Huge", full_items("Huge", 200))), "too large"),
    "decompression bomb": (
        lambda s: (
            s.server.expect_request("/bomb.xml").respond_with_data(
                _bomb(), headers={"Content-Encoding": "gzip"}
            )
            or s.server.url_for("/bomb.xml")
        ),
        "decompression bomb",
    ),
    "OPML with a dead feed": (
        lambda s: s.put("list.opml", opml([Outline(s.url("dead.xml"))]), "text/x-opml"),
        "HTTP 404",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_source_is_skipped_with_a_reason(
    kind: str, site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    good = site.put("good.xml", rss("Good", full_items("Good", 1)))
    make_url, reason = BAD[kind]
    bad = make_url(site)
    out = tmp_path / "out"
    result = make(good, bad, "-o", str(out), "--max-size", "150KB")
    assert result.exit_code == 3, result.output
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in data["documents"]] == ["Good story 0"]
    (skipped,) = data["skipped"]
    assert reason in skipped["reason"] and "\n" not in skipped["reason"]
    assert bad in skipped["path"]
    md = (out / f"digest-{DATE}.md").read_text(encoding="utf-8")
    assert "## Skipped" in md


def test_a_timeout_is_skipped_within_the_configured_time(
    site: Site, web: Any, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    import time

    release = threading.Event()
    web.expect_request("/slow.xml").respond_with_handler(
        lambda request: (release.wait(60), Response("late"))[1]
    )
    good = site.put("good.xml", rss("Good", full_items("Good", 1)))
    started = time.monotonic()
    try:
        result = make(good, web.url_for("/slow.xml"), "-o", str(tmp_path / "out"), "--timeout", "1")
    finally:
        release.set()
    assert result.exit_code == 3, result.output
    assert time.monotonic() - started < 30  # generous: far less than the server's 60 s
    (skipped,) = json.loads((tmp_path / "out" / f"digest-{DATE}.json").read_text())["skipped"]
    assert skipped["reason"] == "timed out after 1 s"


def test_a_feed_of_ten_thousand_entries_is_capped(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    items = [
        Item(f"Item {i}", link=f"https://big.example/{i}", description=f"Entry {i} text.")
        for i in range(10_000)
    ]
    url = site.put("big.xml", rss("Big", items))
    out = tmp_path / "out"
    result = make(url, "-o", str(out), "--max-entries", "5", "--since", "last")
    assert result.exit_code == 3, result.output
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    assert len(data["documents"]) == 5
    (skipped,) = data["skipped"]
    assert "9,995 older entries left out" in skipped["reason"]
    assert "--max-entries" in skipped["reason"]


def test_a_tls_error_is_skipped(tmp_path: Path, site: Site, fake_engine: FakeSummariser) -> None:
    # A TLS handshake with a plain-HTTP server fails in the TLS layer, as a bad certificate
    # does (test_http.py has the self-signed certificate).
    good = site.put("good.xml", rss("Good", full_items("Good", 1)))
    port = site.server.port
    result = make(good, f"https://127.0.0.1:{port}/site/good.xml", "-o", str(tmp_path / "o"))
    assert result.exit_code == 3, result.output
    (skipped,) = json.loads((tmp_path / "o" / f"digest-{DATE}.json").read_text())["skipped"]
    assert skipped["reason"].startswith("TLS error")


# --- the real feeds and pages in ../shared, served over loopback ------------------------------


@pytest.fixture
def real_site(site: Site) -> Iterator[Site]:
    feeds = shared_path("data", "feeds")
    pages = shared_path("data", "html-readability")
    guardian = (feeds / "guardian.rss").read_bytes()
    # The Guardian's entries are teasers linking to theguardian.com: point them at a real
    # Guardian page served here. Heise's links stay offline and fall back to their teasers.
    page = (pages / "guardian-1" / "source.html").read_bytes()
    links = re.findall(rb"<link>(https://www\.theguardian\.com/[^<]+)</link>", guardian)
    for i, link in enumerate(links):
        local = site.put(f"guardian/{i}.html", page, "text/html; charset=utf-8").encode()
        guardian = guardian.replace(b"<link>%s</link>" % link, b"<link>%s</link>" % local)
    site.put("guardian.rss", guardian)
    for name in ("heise.atom", "content-encoded.rss", "encoding.rss", "reddit.rss"):
        site.put(name, (feeds / name).read_bytes(), "application/xml")
    site.put("uol.rss", (feeds / "uolNoticias.rss").read_bytes(), "text/xml")
    yield site


def test_real_feeds_over_http(real_site: Site, tmp_path: Path, fake_engine: FakeSummariser) -> None:
    names = ["guardian.rss", "heise.atom", "content-encoded.rss", "uol.rss", "encoding.rss"]
    subscriptions = tmp_path / "subs.opml"
    subscriptions.write_bytes(opml([Outline(real_site.url(n)) for n in names]))
    out = tmp_path / "out"
    result = make(str(subscriptions), "-o", str(out), "--max-entries", "10")
    assert result.exit_code == 3, result.output  # every feed above has more than 10 entries
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    feeds = [d["feed"] for d in data["documents"]]
    assert (
        feeds.count("The Guardian") == 10 and feeds.count("heise developer neueste Meldungen") == 10
    )
    assert "Jornal de Notícias - Últimas Notícias" in feeds and "UOL Noticias" in feeds
    guardian = [d for d in data["documents"] if d["feed"] == "The Guardian"]
    assert all("/site/guardian/" in d["link"] for d in guardian)
    # Teasers were replaced by the page (one entry carries 167 words itself: not a teaser).
    assert all(not d["note"] for d in guardian)
    assert sum(d["words"] == 1229 for d in guardian) == 9
    heise = [d for d in data["documents"] if d["feed"] == "heise developer neueste Meldungen"]
    assert all(d["note"] == "Page unavailable; summarised from the feed's teaser." for d in heise)
    capped = [s for s in data["skipped"] if s["reason"].endswith("per feed: --max-entries)")]
    assert len(capped) == 4  # all but the Medium feed's 7
    # UOL lists some entries with a title and nothing else, linking to sites not reachable here.
    empty = [s for s in data["skipped"] if s not in capped]
    assert empty and all(
        s["reason"] == "the entry has no text and its page is unavailable" for s in empty
    )


# --- digest schedule with URL sources ---------------------------------------------------------


def test_schedule_keeps_urls_and_makes_paths_absolute(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "local.opml").write_bytes(opml([Outline("https://example.org/feed.xml")]))
    result = CliRunner().invoke(
        cli.app,
        [
            "schedule",
            "https://example.org/feed.xml",
            "local.opml",
            "--at",
            "06:30",
            "--out",
            "digests",
            "--since",
            "last",
            "--engine",
            "extractive",
        ],
    )
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[0]
    assert " https://example.org/feed.xml " in line
    assert f" {tmp_path / 'local.opml'} " in line


def test_real_pages_over_http_read_as_the_html_files_are(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    from digest.errors import SkipDocument
    from digest.sources import read_document

    pages = sorted(shared_path("data", "html-readability").glob("*/source.html"))
    urls, expected = [], {}
    for page in pages:
        url = site.put(f"pages/{page.parent.name}.html", page.read_bytes(), "text/html")
        urls.append(url)
        try:
            expected[url] = read_document(page, max_bytes=5_000_000).title
        except SkipDocument:
            expected[url] = None
    out = tmp_path / "out"
    result = make(*urls, "-o", str(out))
    assert result.exit_code in (0, 3), result.output
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    got = {d["link"]: d["title"] for d in data["documents"]}
    assert len(got) >= len(pages) - 3
    for url, title in got.items():
        assert title == expected[url], url
    assert {s["path"] for s in data["skipped"]} == {u for u in urls if u not in got}
