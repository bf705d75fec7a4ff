"""Web pages across runs (digest.pages): teaser pages cached and re-validated, failed pages left
alone for a while, --refresh, and a page that is new only when its article changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_engine import FakeSummariser
from feed_fixtures import Item, article_page, prose, rss
from typer.testing import CliRunner
from werkzeug import Request, Response

from digest import cli, executing, pages
from digest.http import Validators
from digest.model import Document, Section
from digest.pages import PAGES_FILENAME, PageCache, article_fingerprint
from digest.sources import web as web_module
from digest.state import STATE_FILENAME

DATE = "2026-11-24"
NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeSummariser:
    engine = FakeSummariser("fake", "fake-model")
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


class Pages:
    """Pages on the loopback server, each validated by ETag or by Last-Modified as a real
    server does, or failing with a status; every request is logged."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.bodies: dict[str, tuple[bytes, str, str]] = {}  # path → body, type, validation
        self.failing: dict[str, int] = {}
        self.lock = threading.Lock()
        server.expect_request(re.compile(r"^/p/.*")).respond_with_handler(self._serve)

    def put(
        self, path: str, body: bytes, content_type: str = "text/html", *, by: str = "etag"
    ) -> str:
        with self.lock:
            self.bodies[path] = (body, content_type, by)
            self.failing.pop(path, None)
        return self.url(path)

    def fail(self, path: str, status: int) -> str:
        with self.lock:
            self.failing[path] = status
        return self.url(path)

    def url(self, path: str) -> str:
        return str(self.server.url_for(f"/p/{path}"))

    def _serve(self, request: Request) -> Response:
        path = request.path.removeprefix("/p/")
        with self.lock:
            status, found = self.failing.get(path), self.bodies.get(path)
        if status is not None or found is None:
            return Response("no", status=status or 404)
        body, content_type, by = found
        digest = hashlib.sha256(body).hexdigest()
        tag = f'"{digest[:16]}"'
        # A Last-Modified that moves with the body, as a file's time would.
        stamp = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=int(digest[:5], 16)
        )
        modified = stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")
        if by == "etag":
            if request.headers.get("If-None-Match") == tag:
                return Response(status=304, headers={"ETag": tag})
            return Response(body, content_type=content_type, headers={"ETag": tag})
        if request.headers.get("If-Modified-Since") == modified:
            return Response(status=304, headers={"Last-Modified": modified})
        return Response(body, content_type=content_type, headers={"Last-Modified": modified})

    def requests(self, path: str) -> list[tuple[Request, Response]]:
        return [(q, r) for q, r in self.server.log if q.path == f"/p/{path}"]


@pytest.fixture
def site(web: Any, loopback_only: None) -> Pages:
    return Pages(web)


def make(*args: str, date: str = DATE) -> Any:
    return CliRunner().invoke(
        cli.app, ["make", *args, "--no-cache", "--date", date, "-f", "md,json"]
    )


def documents(out: Path, name: str = f"digest-{DATE}.json") -> list[dict[str, Any]]:
    return json.loads((out / name).read_text(encoding="utf-8"))["documents"]


def teaser_feed(site: Pages, links: dict[str, str]) -> str:
    """A teaser-only feed whose entries link to `links` (title → URL)."""
    items = [
        Item(title, link=url, description="Read the full story.") for title, url in links.items()
    ]
    return site.put("teasers.rss", rss("Museum Notes", items), "application/rss+xml")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the pages read (parsed) by the web reader, in order."""
    seen: list[str] = []
    real = web_module.read_page

    def counting(fetched: Any) -> Document:
        seen.append(fetched.url)
        return real(fetched)

    monkeypatch.setattr(web_module, "read_page", counting)
    return seen


# -- teaser pages: stored, re-validated, reused -------------------------------------------------


def test_a_second_run_revalidates_teaser_pages_and_reuses_their_article(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser, reads: list[str]
) -> None:
    tagged = site.put("a.html", article_page("Museum story A", 50))
    dated = site.put("b.html", article_page("Museum story B", 51), by="last-modified")
    feed = teaser_feed(site, {"Museum story A": tagged, "Museum story B": dated})
    out = tmp_path / "out"
    assert make(feed, "-o", str(out)).exit_code == 0
    first = documents(out)
    assert [d["words"] > 200 for d in first] == [True, True]
    assert sorted(reads) == [tagged, dated]
    site.server.clear_log()
    reads.clear()

    # Every entry is wanted again (no --since): each page is asked only whether it changed.
    result = make(feed, "-o", str(out), date="2026-11-25")
    assert result.exit_code == 0, result.output
    ((request, answer),) = site.requests("a.html")
    assert request.headers.get("If-None-Match") and answer.status_code == 304
    ((request, answer),) = site.requests("b.html")
    assert request.headers.get("If-Modified-Since") and answer.status_code == 304
    assert reads == []  # the stored article is reused, not the page parsed again
    again = documents(out, "digest-2026-11-25.json")
    assert [(d["title"], d["words"], d["sections"]) for d in again] == [
        (d["title"], d["words"], d["sections"]) for d in first
    ]

    # A page that changed is fetched and read in full.
    site.put("a.html", article_page("Museum story A", 60))
    assert make(feed, "-o", str(out), date="2026-11-26").exit_code == 0
    assert reads == [tagged]
    assert "Part 2 of story 60" in [
        s["title"] for s in documents(out, "digest-2026-11-26.json")[0]["sections"]
    ]


def test_a_page_that_failed_is_not_asked_again_within_its_backoff(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    link = site.fail("gone.html", 404)
    feed = teaser_feed(site, {"Gone": link})
    out = tmp_path / "out"
    result = make(feed, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert documents(out)[0]["note"] == "Page unavailable; summarised from the feed's teaser."
    assert f"({link}) could not be had: HTTP 404 Not Found" in result.stderr
    assert len(site.requests("gone.html")) == 1

    # A minute later: the entry is summarised from its teaser without asking the page again.
    result = make(feed, "-o", str(out), date="2026-11-25")
    assert result.exit_code == 0, result.output
    assert len(site.requests("gone.html")) == 1
    (doc,) = documents(out, "digest-2026-11-25.json")
    assert doc["note"] == "Page unavailable; summarised from the feed's teaser."
    assert re.search(
        r"not fetched \(.*\): not retried until (\d{4}-\d\d-\d\d )?\d\d:\d\d: HTTP 404 Not Found",
        result.stderr,
    ), result.stderr

    # --refresh asks again (and the page is back).
    site.put("gone.html", article_page("Gone", 7))
    assert make(feed, "-o", str(out), "--refresh", date="2026-11-26").exit_code == 0
    assert len(site.requests("gone.html")) == 2
    (doc,) = documents(out, "digest-2026-11-26.json")
    assert doc["note"] is None and doc["words"] > 200


def test_unreachable_pages_and_feeds_reach_readers_as_a_few_words_and_the_log_in_full(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    # Names that do not resolve (the loopback guard answers as a machine offline would:
    # "[Errno -2] …"): a teaser's page, the page of an entry with no text, and a feed.
    items = [
        Item("Teaser", link="https://news.invalid/story", description="Read the full story."),
        Item("Title only", link="https://news.invalid/empty"),
    ]
    feed = site.put("teasers.rss", rss("Museum Notes", items), "application/rss+xml")
    dead_feed = "https://feeds.invalid/rss.xml"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.app,
        [
            "make",
            feed,
            dead_feed,
            "-o",
            str(out),
            "--no-cache",
            "--date",
            DATE,
            "-f",
            "md,json,eml",
        ],
    )
    assert result.exit_code == 3, result.output
    (doc,) = documents(out)
    assert (doc["title"], doc["note"]) == (
        "Teaser",
        "Page unavailable; summarised from the feed's teaser.",
    )
    skipped = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))["skipped"]
    assert {s["path"]: s["reason"] for s in skipped} == {
        "https://news.invalid/empty": "the entry has no text and its page is unavailable",
        dead_feed: "could not connect",
    }
    # No system error text in any of the three outputs; all of it on stderr.
    from digest.email import read_message

    message = read_message(out / f"digest-{DATE}.eml")
    outputs = {
        "md": (out / f"digest-{DATE}.md").read_text(encoding="utf-8"),
        "json": (out / f"digest-{DATE}.json").read_text(encoding="utf-8"),
        **{
            kind: message.get_body(preferencelist=(kind,)).get_content()  # type: ignore[union-attr]
            for kind in ("plain", "html")
        },
    }
    for name, text in outputs.items():
        assert "Errno" not in text and "stay on loopback" not in text, name
        assert "could not be had" not in text, name
    assert "Page unavailable; summarised from the feed's teaser." in outputs["md"]
    errors = [line for line in result.stderr.splitlines() if "Errno" in line]
    assert len(errors) == 3, result.stderr
    assert any("news.invalid/story" in line and "teaser" in line for line in errors)
    assert any("skipped https://news.invalid/empty" in line for line in result.stderr.splitlines())
    assert any(f"skipped {dead_feed}: could not connect ([Errno" in line for line in errors)


def test_the_backoff_doubles_with_each_failure_and_ends_when_its_time_is_up(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    link = site.fail("flaky.html", 404)
    feed = teaser_feed(site, {"Flaky": link})
    out = tmp_path / "out"

    def record() -> dict[str, Any]:
        data = json.loads((out / PAGES_FILENAME).read_text(encoding="utf-8"))
        return dict(data["pages"][link])

    def expire() -> None:
        # The back-off is over: as if its time had come.
        data = json.loads((out / PAGES_FILENAME).read_text(encoding="utf-8"))
        data["pages"][link]["retry_at"] = "2000-01-01T00:00:00+00:00"
        (out / PAGES_FILENAME).write_text(json.dumps(data), encoding="utf-8")

    assert make(feed, "-o", str(out)).exit_code == 0
    first = record()
    waited = dt.datetime.fromisoformat(first["retry_at"]) - dt.datetime.fromisoformat(first["used"])
    assert (first["failures"], waited) == (1, dt.timedelta(hours=1))
    expire()
    assert make(feed, "-o", str(out)).exit_code == 0
    assert len(site.requests("flaky.html")) == 2
    second = record()
    waited = dt.datetime.fromisoformat(second["retry_at"]) - dt.datetime.fromisoformat(
        second["used"]
    )
    assert (second["failures"], waited) == (2, dt.timedelta(hours=2))

    # Back, and the failures are forgotten.
    site.put("flaky.html", article_page("Flaky", 8))
    expire()
    assert make(feed, "-o", str(out)).exit_code == 0
    assert "failures" not in record() and record()["etag"]


def test_refresh_fetches_feeds_and_stored_pages_afresh(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    link = site.put("a.html", article_page("Museum story A", 50))
    feed = teaser_feed(site, {"Museum story A": link})
    out = tmp_path / "out"
    assert make(feed, "-o", str(out), "--since", "last").exit_code == 0
    site.server.clear_log()

    # --since last would ask the feed whether it changed; --refresh asks for everything.
    result = make(feed, "-o", str(out), "--since", "last", "--refresh", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output
    ((request, answer),) = site.requests("teasers.rss")
    assert "If-None-Match" not in request.headers and answer.status_code == 200
    site.server.clear_log()
    result = make(feed, "-o", str(out), "--refresh", date="2026-11-25")
    assert result.exit_code == 0, result.output
    ((request, answer),) = site.requests("a.html")
    assert "If-None-Match" not in request.headers and answer.status_code == 200


# -- pages given as URLs: new only when the article changed --------------------------------------


def bulletin(updated: str, most_read: str, *, seed: int = 1) -> bytes:
    """A short page (the extractor keeps its sidebar) with a time and a "Most read" line."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Ferry bulletin</title></head>"
        f"<body><div class='content'><h1>Ferry bulletin</h1><p>{prose(seed, 3)}</p></div>"
        f"<div id='sidebar'><p>Most read: {most_read}</p><p>Last updated {updated}</p></div>"
        "</body></html>"
    ).encode()


def test_a_page_whose_only_change_is_a_date_in_a_sidebar_is_not_new(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    url = site.put("bulletin.html", bulletin("Tuesday 24 November 2026, 06:00", "Tram opens"))
    out = tmp_path / "out"
    assert make(url, "-o", str(out), "--since", "last").exit_code == 0
    first = (out / f"digest-{DATE}.md").read_text(encoding="utf-8")
    # The reader drops the sidebar's labels as clutter (digest.sources.clutter); the article
    # fingerprint would ignore them too, were they kept (see the test after the next).
    assert "Ferry bulletin" in first and "Last updated" not in first

    for updated, most_read in [
        ("Wednesday 25 November 2026, 07:15", "Tram opens"),
        ("Thursday 26 November 2026, 9:05 am", "Bridge closes for repairs"),
    ]:
        site.put("bulletin.html", bulletin(updated, most_read))
        result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
        assert result.exit_code == 0 and result.stdout == "", (updated, result.output)
        assert site.requests("bulletin.html")[-1][1].status_code == 200  # it did change

    # The article itself changes: new.
    site.put("bulletin.html", bulletin("Friday 27 November 2026, 06:00", "Tram opens", seed=2))
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0, result.output
    assert [d["title"] for d in documents(out, f"digest-{DATE}-2.json")] == ["Ferry bulletin"]


def test_a_state_from_before_the_article_fingerprint_keeps_its_pages_known(
    site: Pages, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    """The upgrade: the state holds the plain text's hash, as earlier versions wrote it."""
    from digest.http import Fetched
    from digest.sources.web import read_page

    body = bulletin("Tuesday 24 November 2026, 06:00", "Tram opens")
    url = site.put("bulletin.html", body)
    text = read_page(Fetched(url, 200, {"content-type": "text/html"}, body, Validators())).text
    out = tmp_path / "out"
    out.mkdir()
    legacy = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    state = {"version": 1, "files": {}, "entries": {url: {"fp": legacy, "feed": url}}}
    (out / STATE_FILENAME).write_text(json.dumps(state), encoding="utf-8")
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output
    # …and from then on the article fingerprint holds: a new time is no change.
    site.put("bulletin.html", bulletin("Wednesday 25 November 2026, 07:15", "Tram opens"))
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output


@pytest.mark.parametrize(
    ("before", "after", "new"),
    [
        # Furniture: times, dates, ages, counters and short lines that are no sentences.
        ("Updated 10:32 on 3 March 2026", "Updated 11:02 on 4 March 2026", False),
        ("Posted 3 hours ago", "Posted a day ago", False),
        ("Most read: Tram opens", "Most read: Bridge closes for repairs", False),
        ("1,204 readers", "1,377 readers", False),
        (
            "This page was last updated on Tuesday at 10:32.",
            "This page was last updated on Wednesday at 7:15.",
            False,
        ),
        # The article: a sentence that changed, or one added.
        ("The ferry leaves at noon.", "The ferry is cancelled today.", True),
        ("", "A second sentence arrived with real news about the harbour.", True),
    ],
)
def test_the_article_fingerprint_ignores_furniture(before: str, after: str, new: bool) -> None:
    def page(extra: str) -> Document:
        story = prose(4, 3)
        paragraphs = tuple(p for p in (story, extra) if p)
        return Document(Path("p.html"), "Ferry", (Section(None, paragraphs),), format="html")

    assert (article_fingerprint(page(before)) != article_fingerprint(page(after))) is new


def test_a_page_of_short_lines_only_is_fingerprinted_by_all_of_them() -> None:
    def page(*lines: str) -> Document:
        return Document(Path("p.html"), "Changes", (Section(None, lines),), format="html")

    assert article_fingerprint(page("Added dark mode", "Fixed login")) != article_fingerprint(
        page("Added dark mode", "Fixed login", "Removed the old API")
    )


# -- the page file --------------------------------------------------------------------------------


def article(words: int = 30) -> Document:
    nested = Section("Inner", ("Deep text here.",), level=3, verbatim=("a | b",))
    return Document(
        path=Path("story.html"),
        title="A story",
        sections=(
            Section(None, (" ".join(["word"] * words),)),
            Section("Part", ("Text.",), kicker="Details", level=2, sections=(nested,)),
        ),
        format="html",
        date="2026-11-23",
        metadata={"site": "Example"},
        outlet="Example",  # as parse_html sets it from og:site_name
        link="https://example.org/story.html",
        origin="https://example.org/story.html",
    )


def clock(start: dt.datetime) -> tuple[Callable[[], dt.datetime], list[dt.datetime]]:
    now = [start]
    return (lambda: now[0]), now


def test_the_page_file_keeps_articles_and_validators_as_they_were(tmp_path: Path) -> None:
    cache = PageCache.load(tmp_path, clock=lambda: NOW)
    cache.stored(
        "https://example.org/s", Validators('"e"', "Mon, 23 Nov 2026 06:00:00 GMT"), article()
    )
    cache.save()
    record = PageCache.load(tmp_path).get("https://example.org/s")
    assert record is not None
    assert record.validators == Validators('"e"', "Mon, 23 Nov 2026 06:00:00 GMT")
    assert record.article == article() and record.article.metadata == {"site": "Example"}
    assert record.failures == 0 and not record.waiting(NOW)


def test_failures_back_off_from_an_hour_doubling_to_at_most_twelve(tmp_path: Path) -> None:
    get_now, now = clock(NOW)
    cache = PageCache.load(tmp_path, clock=get_now)
    waits = []
    for _ in range(7):
        record = cache.failed("https://example.org/x", "HTTP 500 Internal Server Error")
        assert record.retry_at is not None and record.waiting(now[0])
        waits.append((record.retry_at - now[0]) / dt.timedelta(hours=1))
        now[0] = record.retry_at
        assert not record.waiting(now[0])
    assert waits == [1, 2, 4, 8, 12, 12, 12]
    assert pages.backoff_reason(
        cache.failed("https://example.org/x", "timed out"), NOW.replace(hour=7)
    ).startswith("not retried until 2026-11-")


def test_the_page_file_stays_within_its_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGES", 3)
    get_now, now = clock(NOW)
    cache = PageCache.load(tmp_path, clock=get_now)
    cache.stored("https://example.org/old", Validators('"o"'), article())
    now[0] = NOW + dt.timedelta(days=31)
    for name in "abcd":
        now[0] += dt.timedelta(minutes=1)
        cache.stored(f"https://example.org/{name}", Validators(f'"{name}"'), article())
    cache.save()
    kept = json.loads((tmp_path / PAGES_FILENAME).read_text(encoding="utf-8"))["pages"]
    # Unused for over 30 days: forgotten; then the most recently used, three at most.
    assert sorted(kept) == [
        "https://example.org/b",
        "https://example.org/c",
        "https://example.org/d",
    ]

    monkeypatch.setattr(pages, "MAX_STORED_CHARS", 2 * len(article(1000).full_text))
    cache = PageCache.load(tmp_path, clock=get_now)
    for name in "bcd":
        cache.stored(f"https://example.org/{name}", Validators(f'"{name}"'), article(1000))
    cache.save()
    kept = json.loads((tmp_path / PAGES_FILENAME).read_text(encoding="utf-8"))["pages"]
    assert len(kept) == 2


def test_a_page_file_from_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    newer = json.dumps({"version": 99, "pages": {"https://x.example/": {"something": "else"}}})
    (tmp_path / PAGES_FILENAME).write_text(newer, encoding="utf-8")
    cache = PageCache.load(tmp_path, clock=lambda: NOW)
    assert cache.get("https://x.example/") is None
    cache.stored("https://example.org/s", Validators('"e"'), article())
    assert cache.save() is None
    assert (tmp_path / PAGES_FILENAME).read_text(encoding="utf-8") == newer


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps({"version": 1, "pages": []}),
        json.dumps({"version": 1, "pages": {"u": {"used": "yesterday"}}}),
        json.dumps({"version": 1, "pages": {"u": {"used": NOW.isoformat(), "article": {}}}}),
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_a_broken_page_file_is_an_empty_cache(tmp_path: Path, text: str) -> None:
    (tmp_path / PAGES_FILENAME).write_text(text, encoding="utf-8")
    cache = PageCache.load(tmp_path, clock=lambda: NOW)
    assert cache.get("u") is None
    cache.stored("https://example.org/s", Validators('"e"'), article())
    assert cache.save() is not None
    assert PageCache.load(tmp_path).get("https://example.org/s") is not None


def test_deeply_nested_sections_in_the_file_are_refused(tmp_path: Path) -> None:
    section: dict[str, Any] = {"title": None, "paragraphs": ["x"]}
    for _ in range(20):
        section = {"title": "h", "paragraphs": [], "sections": [section]}
    record = {
        "used": NOW.isoformat(),
        "article": {"path": "p", "title": "t", "sections": [section]},
    }
    (tmp_path / PAGES_FILENAME).write_text(
        json.dumps({"version": 1, "pages": {"u": record}}), encoding="utf-8"
    )
    assert PageCache.load(tmp_path).get("u") is None
