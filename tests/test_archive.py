"""index.html and feed.xml: every HTML digest in the folder, the sidecar only a cache."""

from __future__ import annotations

import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from fake_engine import write_articles
from typer.testing import CliRunner

from digest import archive, cli
from digest.archive import ARCHIVE_FILENAME, ArchiveEntry, scan, site_base
from digest.atom import build_feed, clean, entry_id, page_body, xml_text
from digest.errors import UsageError

DATES = ("2026-11-20", "2026-11-21", "2026-11-22")


def make(src: Path, out: Path, date: str, *extra: str) -> Any:
    # --no-merge: the test articles are alike enough to be one story, and each headline counts.
    result = CliRunner().invoke(
        cli.app,
        ["make", str(src), "-o", str(out), "--date", date, "--since", "last", "-f", "md,html",
         "--engine", "extractive", "--no-cache", "-q", "--no-merge", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def nights(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """Three nights of new articles, then a second run on the third day: four digests."""
    src, out = tmp_path / "src", tmp_path / "out"
    for n, date in enumerate(DATES):
        write_articles(src, 2, start=2 * n)
        make(src, out, date, *extra)
    write_articles(src, 1, start=6)
    make(src, out, DATES[-1], *extra)
    return src, out


def feed_of(out: Path) -> Any:
    parsed = feedparser.parse(str(out / "feed.xml"))
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def archive_view(out: Path) -> list[tuple[str, str, str]]:
    """(link, title, text) of each digest index.html lists, in its order."""
    root = lxml.html.document_fromstring((out / "index.html").read_bytes())
    return [
        (
            li.find(".//a").get("href"),
            li.find(".//a").text_content(),
            " ".join(li.text_content().split()),
        )
        for li in root.find_class("digests")[0].findall("li")
    ]


def test_three_nights_and_a_second_digest_on_the_same_day_are_four_entries(
    tmp_path: Path,
) -> None:
    src, out = nights(tmp_path)
    names = ["digest-2026-11-22-2.html", "digest-2026-11-22.html",
             "digest-2026-11-21.html", "digest-2026-11-20.html"]  # fmt: skip
    parsed = feed_of(out)
    assert parsed.version == "atom10"
    entries = parsed.entries
    assert [e.link for e in entries] == names
    assert [e.title for e in entries] == [
        "Digest — Sunday 22 November 2026 (2)",
        "Digest — Sunday 22 November 2026",
        "Digest — Saturday 21 November 2026",
        "Digest — Friday 20 November 2026",
    ]
    # A feed reader's view: each digest's headlines, and its body whole.
    assert entries[0].summary == "1 article: Story 6"
    assert entries[3].summary == "2 articles: Story 0 · Story 1"
    assert "Story 0" in entries[3].content[0].value and "TL;DR" in entries[3].content[0].value
    assert len({e.id for e in entries}) == 4
    assert all(e.id.startswith("urn:uuid:") for e in entries)
    assert [e.id for e in entries] == [entry_id(name, None) for name in names]
    assert all(e.updated_parsed for e in entries)
    assert parsed.feed.updated == entries[0].updated

    view = archive_view(out)
    assert [link for link, _, _ in view] == names
    assert view[0][1] == "Digest — Sunday 22 November 2026 (2)"
    assert "22 Nov 2026 · 1 article Story 6" in view[0][2]
    assert "20 Nov 2026 · 2 articles Story 0 Story 1" in view[3][2]

    # The next night adds one entry; the others keep their ids and updated times.
    before = {e.id: e.updated for e in entries}
    write_articles(src, 1, start=7)
    make(src, out, "2026-11-23")
    after = feed_of(out).entries
    assert len(after) == 5 and after[0].link == "digest-2026-11-23.html"
    assert {e.id: e.updated for e in after[1:]} == before


def test_the_archive_is_rebuilt_from_the_pages_whatever_the_sidecar_says(
    tmp_path: Path,
) -> None:
    src, out = nights(tmp_path)
    sidecar = out / ARCHIVE_FILENAME
    healthy = scan(out).entries
    assert len(healthy) == 4
    records = json.loads(sidecar.read_text(encoding="utf-8"))["pages"]
    # Three pages are recorded; the newest gets its record at the next run.
    assert sorted(records) == ["digest-2026-11-20.html", "digest-2026-11-21.html",
                               "digest-2026-11-22.html"]  # fmt: skip
    damaged = [
        "",
        "{not json",
        "[]",
        json.dumps({"version": 99, "pages": {}}),
        json.dumps({"version": 1, "pages": {n: {"size": "x"} for n in records}}),
        json.dumps(
            {"version": 1, "pages": {n: dict(r, articles=None) for n, r in records.items()}}
        ),
    ]
    for text in damaged:
        sidecar.write_text(text, encoding="utf-8")
        assert scan(out).entries == healthy, text
    sidecar.unlink()
    assert scan(out).entries == healthy
    # A record for a page that has changed since is not believed.
    page = out / "digest-2026-11-20.html"
    stale = {n: dict(r, articles=99, headlines=["Gone"]) for n, r in records.items()}
    sidecar.write_text(json.dumps({"version": 1, "pages": stale}), encoding="utf-8")
    assert scan(out).entries[-1].articles == 99  # unchanged pages: the record stands
    page.write_bytes(page.read_bytes() + b"\n")
    assert scan(out).entries[-1] == healthy[-1]


def test_unchanged_pages_are_read_from_the_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = nights(tmp_path)
    parsed: list[int] = []
    real = archive.parse_page
    monkeypatch.setattr(archive, "parse_page", lambda data: parsed.append(1) or real(data))
    write_articles(src, 1, start=7)
    make(src, out, "2026-11-23")
    parsed.clear()
    assert len(scan(out).entries) == 5
    # Only the page this run wrote: it gets its record (size, mtime) at the next run.
    assert len(parsed) == 1
    parsed.clear()
    (out / ARCHIVE_FILENAME).unlink()
    assert len(scan(out).entries) == 5 and len(parsed) == 5


def test_a_page_deleted_or_broken_leaves_the_archive(tmp_path: Path) -> None:
    src, out = nights(tmp_path)
    (out / "digest-2026-11-21.html").unlink()
    (out / "digest-2026-11-20.html").write_bytes(b"")
    (out / "digest-2026-13-40.html").write_text("<p>not a digest</p>", encoding="utf-8")
    (out / "digest-notes.html").write_text("<p>not a digest</p>", encoding="utf-8")
    write_articles(src, 1, start=7)
    make(src, out, "2026-11-23")
    assert [e.link for e in feed_of(out).entries] == [
        "digest-2026-11-23.html", "digest-2026-11-22-2.html", "digest-2026-11-22.html"
    ]  # fmt: skip
    assert len(archive_view(out)) == 3


def test_site_url_and_the_feed_size(tmp_path: Path) -> None:
    src, out = nights(tmp_path, "--site-url", "https://example.org/digests", "--feed-entries", "3")
    parsed = feed_of(out)
    assert [e.link for e in parsed.entries] == [
        "https://example.org/digests/digest-2026-11-22-2.html",
        "https://example.org/digests/digest-2026-11-22.html",
        "https://example.org/digests/digest-2026-11-21.html",
    ]
    assert parsed.feed.link == "https://example.org/digests/index.html"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "https://example.org/digests/feed.xml"
    # The body's #article-N links lead into the digest's page.
    assert 'href="https://example.org/digests/digest-2026-11-22-2.html#article-1"' in (
        parsed.entries[0].content[0].value
    )
    # The archive lists every digest, whatever the feed holds.
    assert len(archive_view(out)) == 4


def test_digest_toml_can_make_html_a_default_format(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write_articles(src, 1)
    config = tmp_path / "digest.toml"
    config.write_text(
        f'out = "out"\nformats = ["md", "html"]\nsite_url = "https://example.org/d/"\n'
        f'engine = "extractive"\nsources = ["{src}"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli.app, ["--config", str(config), "make", "--date", "2026-11-24", "--no-cache", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        str(out / "digest-2026-11-24.md"),
        str(out / "digest-2026-11-24.html"),
        str(out / "index.html"),
        str(out / "feed.xml"),
    ]
    assert feed_of(out).entries[0].link == "https://example.org/d/digest-2026-11-24.html"


@pytest.mark.parametrize(
    "url", ["ftp://example.org/", "javascript:alert(1)", "example.org", "https://x.org/?a=1",
            "https://x.org/#top", "https://x.org/a b"]
)  # fmt: skip
def test_a_site_url_that_is_not_a_web_address_is_a_usage_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(UsageError, match="--site-url"):
        site_base(url)
    write_articles(tmp_path / "src", 1)
    result = CliRunner().invoke(
        cli.app,
        ["make", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "-f", "html",
         "--site-url", url, "--engine", "extractive", "--no-cache"],
    )  # fmt: skip
    assert result.exit_code == 2 and "--site-url" in result.output
    assert not (tmp_path / "out").exists()


def test_site_base_ends_in_a_slash() -> None:
    assert site_base("https://example.org") == "https://example.org/"
    assert site_base("http://example.org/a/b/") == "http://example.org/a/b/"
    assert site_base(None) is None and site_base("  ") is None


# --- the feed itself -----------------------------------------------------------------------

NASTY = "a\x00b\x01c\x08d\x0be\x0cf\x1bg\x7fh\x85i\ud800j\ufffek\uffffl<m>&n]]>o\r\np\u202eq"


def entry(name: str, headlines: tuple[str, ...], articles: int = 3) -> ArchiveEntry:
    return ArchiveEntry(
        name=name,
        day=dt.date(2026, 11, 24),
        sequence=1,
        articles=articles,
        headlines=headlines,
        updated=dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc),
    )


def test_the_feed_is_well_formed_whatever_the_text() -> None:
    data = build_feed(
        [(entry("digest-2026-11-24.html", (NASTY, "<script>x</script>")), f"<p>{NASTY}</p>")],
        site="https://example.org/",
    )
    root = ET.fromstring(data)  # raises on anything not well-formed
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    summary = parsed.entries[0].summary
    assert (
        summary.startswith("3 articles: abcdefghijkl<m>&n]]>o") and "<script>x</script>" in summary
    )
    for char in "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\ufffe\uffff":
        assert char not in data.decode("utf-8")
    assert xml_text(NASTY) == "abcdefghijkl<m>&n]]>o\r\np\u202eq"


def test_feed_bodies_are_cleaned_of_anything_that_could_run() -> None:
    page = lxml.html.document_fromstring(
        "<html><head><script>a()</script></head><body><nav>x</nav><main>"
        "<h1 onclick='b()'>T</h1><!-- c --><script>d()</script><style>p{}</style>"
        "<p style='color:red' onmouseover='e()'>keep<img src=x onerror=f()> me</p>"
        "<a href='javascript:g()'>j</a><a href=' JavaScript:h()'>k</a><a href='data:,x'>d</a>"
        "<a href='//evil.example/'>p</a><a href='/abs'>s</a><a href='vbscript:i'>v</a>"
        "<a href='https://ok.example/a'>ok</a><a href='#article-1'>in</a>"
        "<a href='digest-2026-11-24.html'>rel</a><iframe src='https://x/'></iframe>"
        "<svg><a xlink:href='javascript:j()'>s</a></svg><form action='x'><input></form>"
        "</main></body></html>"
    )
    body = page_body(page)
    again = lxml.html.fragment_fromstring(body, create_parent="div")
    assert not again.xpath("//script|//style|//img|//iframe|//svg|//form|//input|//nav")
    assert not [a for e in again.iter() for a in e.attrib if a.startswith("on") or a == "style"]
    assert again.xpath("//a/@href") == [
        "https://ok.example/a", "#article-1", "digest-2026-11-24.html"
    ]  # fmt: skip
    assert "keep me" in again.text_content() and "<!--" not in body
    assert clean(lxml.html.fragment_fromstring("<p>x</p>")).text == "x"


def test_a_page_without_main_gives_its_body(tmp_path: Path) -> None:
    page = lxml.html.document_fromstring("<html><body><p>all of it</p></body></html>")
    assert page_body(page) == "<p>all of it</p>"


def test_pages_keep_their_time_when_the_folder_is_copied(tmp_path: Path) -> None:
    """The entry's updated time is the one the page states, not the file's mtime."""
    src, out = nights(tmp_path)
    before = {e.name: e.updated for e in scan(out).entries}
    for page in out.glob("digest-*.html"):
        os.utime(page, (0, 0))
    (out / ARCHIVE_FILENAME).unlink()
    assert {e.name: e.updated for e in scan(out).entries} == before


def test_a_rerun_on_the_same_day_replaces_its_entry(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write_articles(src, 1)
    args = ["make", str(src), "-o", str(out), "--date", DATES[0], "-f", "html",
            "--engine", "extractive", "--no-cache", "-q", "--no-merge"]  # fmt: skip
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    first = feed_of(out).entries
    write_articles(src, 1, start=1)
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    (entry,) = feed_of(out).entries
    assert entry.id == first[0].id and entry.summary == "2 articles: Story 0 · Story 1"
    assert [link for link, _, _ in archive_view(out)] == ["digest-2026-11-20.html"]
