"""Hostile feeds and OPML lists on loopback: none costs the digest, hides another, or loops.

Each case runs beside a good feed, as a nightly run meets it: the good entries are written,
the bad source is one Skipped line, the run exits 3.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_engine import FakeSummariser
from feed_fixtures import Item, Outline, full_article, opml, prose, rss
from test_feeds_cli import DATE, Site, documents, full_items, make

from digest import executing
from digest.sources import web
from digest.sources.memory import Everything
from digest.sources.web import WebOptions, WebReader

pytestmark = pytest.mark.usefixtures("loopback_only")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeSummariser:
    engine = FakeSummariser("fake", "fake-model")
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


@pytest.fixture
def site(web: Any) -> Site:
    return Site(web)


def skipped(out: Path, name: str = f"digest-{DATE}.json") -> list[dict[str, str]]:
    return json.loads((out / name).read_text(encoding="utf-8"))["skipped"]


def entity_bomb(uses: int = 20_000, size: int = 50_000) -> bytes:
    """An RSS feed declaring one 50,000-character entity and using it 20,000 times: about
    150 KB that a parser expanding it turns into 1 GB of text."""
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        f'<!ENTITY big "{"A" * size}">\n]>\n'
        '<rss version="2.0"><channel><title>Bomb</title><link>https://bomb.example/</link>'
        "<description>x</description><item><title>Boom</title>"
        "<link>https://bomb.example/1</link>"
        f"<description>{'&big;' * uses}</description></item></channel></rss>"
    ).encode()


# --- bounded parsing ------------------------------------------------------------------------


def test_a_feed_declaring_entities_is_refused_in_bounded_memory_and_time(
    site: Site, tmp_path: Path
) -> None:
    """The whole hostile night in a real process: an entity bomb, an OPML list that lists
    itself and a good feed; peak memory stays far below what the bomb would expand to."""
    good = site.put("good.xml", rss("Good", full_items("Good", 2)))
    bomb = site.put("bomb.xml", entity_bomb())
    selfish = site.url("self.opml")
    site.put("self.opml", opml([Outline(selfish, "Me"), Outline(good, "Good")]), "text/x-opml")
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from digest.cli import main\n"
        f"sys.argv = ['digest', 'make', {good!r}, {bomb!r}, {selfish!r}, '--no-cache',\n"
        f"            '-q', '--engine', 'extractive', '-f', 'json', '-o', {str(out)!r},\n"
        f"            '--date', {DATE!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "else:\n"
        "    code = 0\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and
        # exec, so a child of a large pytest process would report the parent's size.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print('PEAK', hwm.split()[1])\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGEST_CACHE_DIR": str(tmp_path / "cache")}

    def limit_memory() -> None:  # the old code expands the bomb to gigabytes: stop it at 2
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        preexec_fn=limit_memory,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    peak_kb = int(result.stdout.split("PEAK")[-1])
    assert peak_kb < 300 * 1024, f"peak {peak_kb / 1024:.0f} MB"
    assert elapsed < 120  # generous for a loaded machine; the old code takes minutes
    data = json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in data["documents"]] == ["Good story 0", "Good story 1"]
    reasons = {s["path"]: s["reason"] for s in data["skipped"]}
    assert "declares XML entities" in reasons.pop(bomb)
    (path, reason), *rest = reasons.items()
    assert not rest and path.startswith(selfish) and "already read" in reason
    assert len(site.requests("self.opml")) == 1
    assert len(site.requests("good.xml")) == 1  # named twice, fetched once


# --- OPML lists -----------------------------------------------------------------------------


def test_lists_that_name_each_other_are_each_read_once(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    one, two = site.url("one.opml"), site.url("two.opml")
    first = site.put("first.xml", rss("First", full_items("First", 1)))
    second = site.put("second.xml", rss("Second", full_items("Second", 1)))
    site.put("one.opml", opml([Outline(two), Outline(first)]), "text/x-opml")
    site.put("two.opml", opml([Outline(one), Outline(second)]), "text/x-opml")
    # A third name for the first list, reached only through a redirect.
    site.server.expect_request("/alias.opml").respond_with_data(
        b"", status=302, headers={"Location": one}
    )
    site.put("three.opml", opml([Outline(site.server.url_for("/alias.opml"))]), "text/x-opml")
    out = tmp_path / "out"
    result = make(one, site.url("three.opml"), "-o", str(out))
    assert result.exit_code == 3, result.output
    assert sorted(d["title"] for d in documents(out)) == ["First story 0", "Second story 0"]
    lines = skipped(out)
    assert [s["path"].split(" ")[0] for s in lines] == [one, site.server.url_for("/alias.opml")]
    assert all("already read in this run" in s["reason"] for s in lines)
    for name in ("two.opml", "first.xml", "second.xml"):
        assert len(site.requests(name)) == 1, name
    assert len(site.requests("one.opml")) == 2  # the redirect is known only once followed


def test_lists_nest_at_most_three_deep(site: Site, tmp_path: Path) -> None:
    lists = [site.url(f"level{n}.opml") for n in range(5)]
    feeds = [site.put(f"f{n}.xml", rss(f"Feed {n}", full_items(f"L{n}", 1))) for n in range(5)]
    for n in range(5):
        below = [Outline(lists[n + 1])] if n < 4 else []
        site.put(f"level{n}.opml", opml([Outline(feeds[n]), *below]), "text/x-opml")
    documents_, skipped_ = WebReader(WebOptions(), Everything()).read([lists[0]])
    assert [d.feed for d in documents_] == ["Feed 0", "Feed 1", "Feed 2"]
    (line,) = skipped_
    assert line.path.startswith(lists[3]) and "nested more than 3 deep" in line.reason
    assert site.requests("level4.opml") == [] and site.requests("f3.xml") == []


def test_a_list_names_at_most_so_many_feeds(site: Site, tmp_path: Path) -> None:
    feeds = [site.put(f"f{n}.xml", rss(f"Feed {n}", full_items(f"C{n}", 1))) for n in range(5)]
    url = site.put("many.opml", opml([Outline(f) for f in feeds]), "text/x-opml")
    documents_, skipped_ = WebReader(WebOptions(opml_feeds=3), Everything()).read([url])
    assert [d.feed for d in documents_] == ["Feed 0", "Feed 1", "Feed 2"]
    (line,) = skipped_
    assert line.path == url and line.reason == "2 more feeds left out (at most 3 per OPML list)"
    assert site.requests("f3.xml") == []
    assert WebOptions().opml_feeds == 1_000 and WebOptions().opml_depth == 3


def test_opml_is_known_by_its_root_element_not_by_a_window(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    feed = site.put("listed.xml", rss("Listed", full_items("Listed", 1)))
    # A long comment and DOCTYPE before the root: no "<opml" in the first 2 KB.
    padded = opml([Outline(feed)]).replace(
        b'<opml version="2.0">',
        b"<!-- " + b"exported by a very chatty tool " * 100 + b"-->\n"
        b'<!DOCTYPE opml SYSTEM "http://example.org/' + b"x" * 1000 + b'.dtd">\n'
        b'<opml version="2.0">',
    )
    lists = site.put("padded.opml", padded, "text/xml")
    # An RSS feed whose first entry quotes an OPML list inside CDATA: still a feed.
    quoting = Item(
        "How to export your subscriptions",
        link="https://quote.example/1",
        guid="https://quote.example/1",
        content='<p>It looks like <code><opml version="2.0"></code>.</p>' + full_article(3),
    )
    rss_feed = site.put("quoting.xml", rss("Quoting", [quoting]))
    out = tmp_path / "out"
    result = make(lists, rss_feed, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert [d["feed"] for d in documents(out)] == ["Listed", "Quoting"]


# --- every exception is one source's Skipped line -------------------------------------------


def test_an_unexpected_error_in_one_source_is_its_skipped_line(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = site.put("good.xml", rss("Good", full_items("Good", 1)))
    page = site.put("page", f"<html><body><p>{prose(1)}</p></body></html>".encode(), "text/html")
    listed = site.put("list.opml", opml([Outline(site.url("other.xml"))]), "text/x-opml")
    real_get = web.Fetcher.get

    def get(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.endswith("other.xml"):
            raise UnicodeError("label too long")  # as idna raises for a hostile host name
        return real_get(self, url, *args, **kwargs)

    def read_page(fetched: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")  # a reader bug

    monkeypatch.setattr(web.Fetcher, "get", get)
    monkeypatch.setattr(web, "read_page", read_page)
    out = tmp_path / "out"
    result = make(good, page, listed, "-o", str(out))
    assert result.exit_code == 3, result.output
    assert [d["title"] for d in documents(out)] == ["Good story 0"]
    reasons = {s["path"]: s["reason"] for s in skipped(out)}
    assert reasons[page] == (
        "could not be parsed (RecursionError: maximum recursion depth exceeded)"
    )
    # A few words for the readers; what went wrong for the operator's log.
    assert reasons[f"{site.url('other.xml')} (in {listed})"] == "could not be fetched"
    assert "could not be fetched (UnicodeError: label too long)" in result.stderr


# --- feeds cannot hide each other -----------------------------------------------------------

REAL = Item(
    "The real story",
    link="https://real.example/story",
    guid="https://real.example/?p=1",
    content=full_article(1),
)


def test_a_feed_cannot_replace_another_feeds_entry_by_its_guid(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    # The hostile feed comes first and claims the real feed's GUID with its own link...
    claim = dataclasses.replace(
        REAL, title="A fake", link="https://fake.example/x", content=full_article(2)
    )
    # ...while a mirror of the real feed repeats the entry, same GUID and link: merged.
    hostile = site.put("hostile.xml", rss("Hostile", [claim]))
    real = site.put("real.xml", rss("Real", [REAL]))
    mirror = site.put("mirror.xml", rss("Mirror", [REAL]))
    out = tmp_path / "out"
    result = make(hostile, real, mirror, "-o", str(out), "--since", "last")
    assert result.exit_code == 0, result.output
    assert [(d["feed"], d["title"]) for d in documents(out)] == [
        ("Hostile", "A fake"),
        ("Real", "The real story"),
    ]


def test_a_guid_claimed_in_advance_does_not_make_the_real_entry_old(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    claim = dataclasses.replace(REAL, title="Claimed early", content=full_article(2))
    hostile = site.put("hostile.xml", rss("Hostile", [claim]))
    real = site.put("real.xml", rss("Real", full_items("Real", 1)))
    out = tmp_path / "out"
    assert make(hostile, real, "-o", str(out), "--since", "last").exit_code == 0
    site.put("real.xml", rss("Real", [*full_items("Real", 1), REAL]))
    result = make(hostile, real, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0, result.output
    assert [(d["feed"], d["title"]) for d in documents(out, f"digest-{DATE}-2.json")] == [
        ("Real", "The real story")
    ]


def test_duplicate_guids_in_one_feed_keep_the_newest_and_say_so(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    older = dataclasses.replace(
        REAL, title="First version", published=REAL.published.replace(day=20)
    )
    newer = dataclasses.replace(REAL, title="Corrected version", content=full_article(5))
    other = Item("Other", link="https://real.example/2", content=full_article(6))
    # The older copy comes first: keeping the first would keep the outdated text.
    url = site.put("dupes.xml", rss("Dupes", [older, other, newer]))
    out = tmp_path / "out"
    result = make(url, "-o", str(out), "--since", "last")
    assert result.exit_code == 3, result.output
    assert [d["title"] for d in documents(out)] == ["Other", "Corrected version"]
    (line,) = skipped(out)
    assert line["path"] == f"{url} (Dupes)"
    assert line["reason"] == (
        "1 entry left out: it has the same id as a newer entry of this feed "
        "(https://real.example/?p=1)"
    )
    # Known now: the next run neither sends it again nor repeats the line.
    result = make(url, "-o", str(out), "--since", "last", "--skip-empty")
    assert result.exit_code == 0 and result.stdout == "", result.output


# --- --skip-empty: nothing new means no digest, whatever failed -----------------------------


def test_skip_empty_writes_no_digest_of_only_skipped_lines(
    site: Site, tmp_path: Path, fake_engine: FakeSummariser
) -> None:
    good = site.put("good.xml", rss("Good", full_items("Good", 1)))
    out = tmp_path / "out"
    assert make(good, "-o", str(out), "--since", "last").exit_code == 0
    broken = site.url("broken.xml")  # 404
    for _night in range(2):
        result = make(good, broken, "-o", str(out), "--since", "last", "--skip-empty")
        assert result.exit_code == 3, result.output
        assert result.stdout == ""  # no digest written
        assert "broken.xml: HTTP 404" in result.stderr
    # Nor does a second run of the day without --skip-empty add a digest of them to the first.
    result = make(good, broken, "-o", str(out), "--since", "last")
    assert result.exit_code == 3 and result.stdout == "", result.output
    assert sorted(p.name for p in out.glob("digest-*")) == [
        f"digest-{DATE}.json",
        f"digest-{DATE}.md",
    ]
