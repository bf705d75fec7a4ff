"""The HTML digest, its archive and its feed as readers meet them: in a real browser (headless
chromium) and a feed reader's parser (feedparser), with the seed and a hostile feed."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from browser import dump_dom, parse_dom
from feed_fixtures import Item, full_article, rss
from typer.testing import CliRunner

from digest import cli
from digest.text import one_line

pytestmark = pytest.mark.usefixtures("loopback_only")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"
DATE = "2026-11-24"
PAGE = f"digest-{DATE}.html"

PAYLOAD = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }} {% if 1 %}x{% endif %} "
    "\u202eevil\u202c [a](javascript:alert(3))"
)


def hostile_feed() -> bytes:
    """An RSS feed whose titles, summaries, feed name and links carry everything a page could
    be attacked with: markup (as text and as markup), template syntax, CRLF, U+202E, and
    javascript: links."""
    markup = (
        f"<p>{html.escape(PAYLOAD)}</p><script>alert(5)</script>"
        "<p>Look <img src=x onerror=alert(6)> <a href='javascript:alert(7)'>here</a>.</p>"
    )
    items = [
        Item(
            title=f"{PAYLOAD}\r\nSecond line of the title",
            link="javascript:alert(4)",
            guid="evil-1",
            content=full_article(1) + markup,
            description=PAYLOAD,
            author=f"Mallory {PAYLOAD}",
        ),
        Item(
            title="Ferries {{ 7*7 }} \u202eon time",
            link="https://harbour.example/ferries?a=1&b=<2>",
            guid="evil-2",
            content=(
                f"<h2>{html.escape(PAYLOAD)}</h2><p>{full_article(2, sections=1)}</p>"
                + full_article(3)
            ),
            description=PAYLOAD,
        ),
    ]
    # CR survives XML parsing only as a character reference.
    return rss(f"Harbour {PAYLOAD}", items).replace(b"\r", b"&#13;")


def make(*args: str) -> Any:
    result = CliRunner().invoke(
        cli.app,
        ["make", *args, "--date", DATE, "-f", "md,json,html", "--engine", "extractive",
         "--no-cache", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """The seed and the hostile feed, made into a digest: the output folder."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / SEED.name).write_bytes(SEED.read_bytes())
    (src / "harbour.rss").write_bytes(hostile_feed())
    make(str(src), "-o", str(out))
    return out


def assert_inert(root: Any) -> None:
    """No script, no event handler, no link but http(s), relative or #."""
    assert not root.xpath("//script"), "a script element"
    handlers = [(e.tag, a) for e in root.iter() if isinstance(e.tag, str) for a in e.attrib
                if a.lower().startswith("on")]  # fmt: skip
    assert not handlers, handlers
    for href in root.xpath("//@href"):
        scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", href)
        assert (scheme is None and not href.startswith("//")) or scheme.group(1) in (
            "http",
            "https",
        ), href
    assert not root.xpath("//img | //iframe | //object | //embed"), "an element that loads"


def digest_json(out: Path) -> dict[str, Any]:
    return json.loads((out / f"digest-{DATE}.json").read_text(encoding="utf-8"))


def test_the_browser_shows_every_article_and_nothing_runs(hostile: Path) -> None:
    dom = parse_dom(dump_dom(hostile / PAGE))
    assert_inert(dom)
    shown = " ".join(dom.text_content().split())
    documents = digest_json(hostile)["documents"]
    assert len(documents) == 3
    for document in documents:
        assert one_line(document["title"]) in shown
        assert f"TL;DR: {one_line(document['tldr'])}" in shown
    # The page shows the stories in the digest's order (the JSON's "stories", ranked).
    headlines = [" ".join(h.text_content().split()) for h in dom.find_class("headline")]
    assert headlines == [one_line(s["title"]) for s in digest_json(hostile)["stories"]]
    # The hostile text is there, as text: nothing of it became markup, ran or was evaluated.
    assert "<script>alert(1)</script> <img src=x onerror=alert(2)>" in shown
    assert "{{ 7*7 }}" in shown and "{% if 1 %}x{% endif %}" in shown
    assert not re.search(r"\b49\b", shown)
    assert "\u202e" not in shown and "\r" not in dom.text_content()
    assert dom.xpath("//html/@lang") == ["en"]
    # The only links out are the originals, as http(s).
    external = {h for h in dom.xpath("//a/@href") if h.startswith("http")}
    assert external == {"https://harbour.example/ferries?a=1&b=%3C2%3E"}


def test_the_archive_page_in_the_browser_is_inert(hostile: Path) -> None:
    dom = parse_dom(dump_dom(hostile / "index.html"))
    assert_inert(dom)
    items = dom.find_class("digests")[0].findall("li")
    assert len(items) == 1
    text = " ".join(items[0].text_content().split())
    assert "24 Nov 2026 · 3 articles" in text
    assert "<script>alert(1)</script> <img src=x onerror=alert(2)>" in text
    assert "\u202e" not in text
    assert items[0].find(".//a").get("href") == PAGE


def test_the_feed_is_well_formed_and_its_body_inert(hostile: Path) -> None:
    data = (hostile / "feed.xml").read_bytes()
    root = ET.fromstring(data)
    atom = "{http://www.w3.org/2005/Atom}"
    (entry,) = root.findall(f"{atom}entry")
    content = entry.find(f"{atom}content")
    assert content is not None and content.get("type") == "html"
    # What a feed reader that does not sanitise would render: the raw body.
    body = lxml.html.fragment_fromstring(content.text or "", create_parent="div")
    assert_inert(body)
    assert "<script>alert(1)</script>" in body.text_content()
    assert "\u202e" not in data.decode("utf-8") and b"\r" not in data
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    summary = parsed.entries[0].summary
    assert summary.startswith("3 articles: ") and "{{ 7*7 }}" in summary
    assert "Afghanistan: Taliban captures Kandahar" in summary


def test_the_page_fits_a_phone_and_turns_dark(tmp_path: Path, hostile: Path) -> None:
    """Measured in the browser: a harness page (with a script of its own, outside the
    digest) frames the digest at 390 px and records how wide its content is and its colours."""
    harness = hostile / "harness.html"
    harness.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<iframe id='f' src='{PAGE}' style='width:390px;height:800px;border:0'></iframe>"
        "<script>document.getElementById('f').onload = () => {"
        " const d = document.getElementById('f').contentDocument;"
        " const s = getComputedStyle(d.body);"
        " document.body.dataset.width = d.documentElement.scrollWidth;"
        " document.body.dataset.room = d.documentElement.clientWidth;"
        " document.body.dataset.background = s.backgroundColor; };</script>"
        "</body></html>",
        encoding="utf-8",
    )
    flags = ("--allow-file-access-from-files", "--virtual-time-budget=5000")
    light = parse_dom(dump_dom(harness, *flags)).find("body")
    dark = parse_dom(dump_dom(harness, *flags, "--force-dark-mode")).find("body")
    # The frame's width less its vertical scroll bar: nothing sticks out sideways.
    room = int(light.get("data-room"))
    assert 360 <= room <= 390
    assert int(light.get("data-width")) == room, "the page is wider than a 390 px phone"
    assert light.get("data-background") == "rgb(255, 255, 255)"
    assert dark.get("data-background") == "rgb(13, 17, 23)"
