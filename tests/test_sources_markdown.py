"""Markdown reader: front matter, headings from tokens, prose only, and the 18F posts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED, shared_path

from digest.model import Section
from digest.sources import read_document
from digest.sources.markdown import parse_markdown, split_front_matter

POST = """\
---
title: "Moving the permits service to the cloud"
date: 2024-05-02
excerpt: How a small team moved a legacy permits service without downtime.
tags: [cloud, migration]
---

# Moving the permits service to the cloud

The permits service had run on the **same two servers** since 2009, and
nobody wanted to be the one to [switch them off](https://example.org/switch).

![A server rack](rack.png)

## Why we moved

Hardware support ended last year, and every patch took a weekend.

```python
# Not a heading: a comment in a fenced code block
print("deploy")
```

    # Not a heading either: indented code
    make deploy

| Step | Weeks |
|------|-------|
| Plan | 2     |

What we learned
---------------

- Start with the *smallest* service.
- Keep the old one running until the new one has `passed` a week of traffic.

<div class="callout">Raw HTML callout</div>

{% image "assets/diagram.png" "Architecture diagram" %}

> Quoted advice from the operations lead, kept as prose.
"""


def test_markdown_fixture_exact() -> None:
    document = parse_markdown(POST, Path("posts/permits.md"))
    assert document.format == "markdown"
    assert document.title == "Moving the permits service to the cloud"
    assert document.date == "2024-05-02"
    assert document.metadata["excerpt"].startswith("How a small team moved")
    assert document.sections == (
        Section(
            None,
            (
                "The permits service had run on the same two servers since 2009, and "
                "nobody wanted to be the one to switch them off.",
            ),
        ),
        Section(
            "Why we moved",
            ("Hardware support ended last year, and every patch took a weekend.",),
            level=2,
        ),
        Section(
            "What we learned",
            (
                "Start with the smallest service.",
                "Keep the old one running until the new one has passed a week of traffic.",
                "Quoted advice from the operations lead, kept as prose.",
            ),
            level=2,
        ),
    )


def test_title_falls_back_to_first_h1_then_file_name() -> None:
    from_h1 = parse_markdown("Intro line.\n\n# Release notes\n\nAll fixed.\n", Path("x.md"))
    assert from_h1.title == "Release notes"
    assert [s.title for s in from_h1.sections] == [None]
    assert from_h1.sections[0].paragraphs == ("Intro line.", "All fixed.")

    from_name = parse_markdown("## Only a second-level heading\n\nText.\n", Path("q3_plans.md"))
    assert from_name.title == "Q3 plans"
    assert [s.title for s in from_name.sections] == ["Only a second-level heading"]


def test_h1_differing_from_front_matter_title_is_a_section() -> None:
    text = "---\ntitle: Weekly notes\n---\n# Monday\n\nStand-up ran long.\n"
    document = parse_markdown(text, Path("w.md"))
    assert document.title == "Weekly notes"
    assert [(s.title, s.level) for s in document.sections] == [("Monday", 1)]


def test_headings_only_document_has_no_prose() -> None:
    document = parse_markdown("# A\n\n## B\n\n```\ncode only\n```\n", Path("a.md"))
    assert document.words == 0
    # A heading with nothing beneath it is not a section (the pipeline skips the document).
    assert document.sections == ()


@pytest.mark.parametrize(
    ("text", "front", "body"),
    [
        ("---\ntitle: T\n---\nBody\n", {"title": "T"}, "Body\n"),
        ("---\ntitle: T\n...\nBody\n", {"title": "T"}, "Body\n"),
        ("No front matter\n", {}, "No front matter\n"),
        ("---\nnot closed\n", {}, "---\nnot closed\n"),
        # Thematic breaks around prose: YAML reads a plain string, so it is not front matter.
        ("---\nJust a sentence.\n---\nMore.\n", {}, "---\nJust a sentence.\n---\nMore.\n"),
        ("---\ntitle: [unclosed\n---\nBody\n", {}, "Body\n"),
    ],
)
def test_split_front_matter(text: str, front: dict[str, str], body: str) -> None:
    assert split_front_matter(text) == (front, body)


@pytest.mark.parametrize(
    ("name", "front", "date"),
    [
        ("2016-07-21-buying-better-part-1.md", "", "2016-07-21"),  # Jekyll's post name
        ("2016-07-21-buying-better-part-1.md", "date: 2016-08-01\n", "2016-08-01"),  # says so
        ("2016-02-30-not-a-day.md", "", None),
        ("20160721-no-dashes.md", "", None),
        ("notes.md", "", None),
    ],
)
def test_a_post_without_a_date_takes_the_day_its_file_name_gives(
    name: str, front: str, date: str | None
) -> None:
    text = f"---\ntitle: T\n{front}---\nBody text.\n"
    assert parse_markdown(text, Path(name)).date == date


def test_date_with_time_keeps_the_day() -> None:
    text = "---\ntitle: T\ndate: '2014-09-18T15:21:00-04:00'\n---\nBody text.\n"
    assert parse_markdown(text, Path("t.md")).date == "2014-09-18"


# --- the 18F blog posts ----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")


def _heading_lines(body: str) -> list[str]:
    """ATX and Setext heading lines outside code fences (an independent, line-based count)."""
    headings: list[str] = []
    fence: str | None = None
    previous = ""
    for line in body.split("\n"):
        if match := _FENCE.match(line):
            marker = match.group(1)[0]
            fence = marker if fence is None else (None if marker == fence else fence)
        elif fence is None and line.startswith("    ") is False:
            if _ATX.match(line):
                headings.append(line.strip("# ").strip())
            elif _SETEXT.match(line) and previous.strip() and not _list_or_quote(previous):
                headings.append(previous.strip())
        previous = line if fence is None else ""
    return headings


_RUN_IN = re.compile(r"^\s*(?:[-*+]\s+)?\*\*[^*\n]+\*\*\s*\\?\n\s*\S", re.MULTILINE)


def _list_or_quote(line: str) -> bool:
    return bool(re.match(r"^\s*([-*+>]|\d+[.)])\s", line)) or bool(_SETEXT.match(line))


def _posts() -> list[str]:
    names = sorted(p.name for p in (SHARED / "data" / "markdown-18f").glob("*.md"))
    return names or ["absent.md"]


@pytest.mark.parametrize("name", _posts())
def test_18f_post(name: str) -> None:
    path = shared_path("data", "markdown-18f", name)
    document = read_document(path, max_bytes=1_000_000)
    front, body = split_front_matter(path.read_text(encoding="utf-8"))

    assert document.title == " ".join(str(front["title"]).split())
    if front.get("excerpt"):
        assert document.metadata["excerpt"] == " ".join(str(front["excerpt"]).split())
    assert document.words > 50

    headings = _heading_lines(body)
    # The one H1 that repeats the title is the document title, not a section.
    if headings and headings[0].casefold() == document.title.casefold():
        headings = headings[1:]
    # Every section title is one of the post's headings (those heading nothing, such as a
    # video embed's, are dropped; scripts/measure_structure.py measures recall), and nested
    # sections sit deeper than their parent.
    titled = [s for s in document.all_sections() if s.title is not None]
    # A paragraph's bold first line ("**Weekly shipments**", a line break, then its prose) is
    # a heading too.
    assert len(titled) <= len(headings) + len(_RUN_IN.findall(body))
    assert all(s.level >= 1 for s in titled)
    for section in document.all_sections():
        assert all(child.level > section.level for child in section.sections)

    for section in document.all_sections():
        for paragraph in section.paragraphs:
            assert "```" not in paragraph
            assert not _TABLE_ROW.match(paragraph)
            assert "{%" not in paragraph and "{{" not in paragraph and "<!--" not in paragraph


def test_18f_posts_are_all_read() -> None:
    folder = shared_path("data", "markdown-18f")
    posts = sorted(folder.glob("*.md"))
    assert len(posts) == 130


def test_site_builder_tags_are_not_prose() -> None:
    text = (
        'See [the launch post]({{ "/2014/07/16/launch/" | url }}) for details.\n\n'
        '{% include "figure.html", image: "/a.png",\n  alt: "A chart" %}\n\n'
        "Last paragraph.\n"
    )
    document = parse_markdown(text, Path("t.md"))
    assert document.sections[0].paragraphs == (
        "See the launch post for details.",
        "Last paragraph.",
    )
