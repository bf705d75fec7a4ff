"""The Markdown and JSON renderers: exact layout, escaping of hostile text, user templates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from digest.errors import TemplateProblem
from digest.model import ArticleSummary, Digest, SectionSummary, Skipped
from digest.render import escape_markdown, render_json, render_markdown
from digest.text import one_line


def make_digest(**overrides: object) -> Digest:
    fields: dict[str, object] = dict(
        date=dt.date(2026, 11, 24),
        engine="extractive",
        model=None,
        articles=(
            ArticleSummary(
                path="seeds/kandahar.txt",
                title="Taliban captures Kandahar",
                summary="The Taliban has captured Kandahar. Officials confirmed it on Friday.",
                tldr="The Taliban has captured Kandahar.",
                words=460,
                sections=(
                    SectionSummary("What's the story", None, "Kandahar fell.", 52, quoted=True),
                    SectionSummary("Details", "'Taliban took control'", "Heavy clashes.", 80),
                ),
            ),
            ArticleSummary(
                path="posts/hello.md",
                title="A short post",
                summary="Only one section here.",
                tldr="Only one section here.",
                words=40,
                sections=(SectionSummary(None, None, "Only one section here.", 40, quoted=True),),
                date="2026-11-20",
            ),
        ),
        skipped=(Skipped("seeds/empty.txt", "empty file"),),
    )
    fields.update(overrides)
    return Digest(**fields)  # type: ignore[arg-type]


GOLDEN = """\
# Digest — Tuesday 24 November 2026

2 articles · 1 skipped · engine: extractive

## Contents

1. [Taliban captures Kandahar](#article-1)
2. [A short post](#article-2)

---

<a id="article-1"></a>
## 1. Taliban captures Kandahar

*seeds/kandahar.txt* · 2 min read (460 words)

**TL;DR:** The Taliban has captured Kandahar.

The Taliban has captured Kandahar. Officials confirmed it on Friday.

- **What's the story:** Kandahar fell.
- **Details — 'Taliban took control':** Heavy clashes.

---

<a id="article-2"></a>
## 2. A short post

*posts/hello.md* · 2026-11-20 · 1 min read (40 words)

**TL;DR:** Only one section here.

Only one section here.

---

## Skipped

- seeds/empty.txt: empty file
"""


def test_markdown_layout_is_exact() -> None:
    assert render_markdown(make_digest()) == GOLDEN


def test_header_names_model_and_notice_banner() -> None:
    text = render_markdown(
        make_digest(
            engine="extractive",
            notices=("Summaries are extractive because the seq2seq model x is offline.",),
        )
    )
    assert "> **Note:** Summaries are extractive because the seq2seq model x is offline." in text
    seq = render_markdown(make_digest(engine="seq2seq", model="t5-small", backend="transformers"))
    assert "engine: seq2seq (t5-small, transformers)" in seq


def test_empty_digest_says_so() -> None:
    text = render_markdown(make_digest(articles=(), skipped=()))
    assert "0 articles" in text and "Nothing to summarise this time." in text
    assert "## Contents" not in text


HOSTILE = [
    "# Injected heading",
    "Title\n\n## Second heading",
    "=====",
    "- fake bullet",
    "1. fake list",
    "> fake quote",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "[click me](javascript:alert(1))",
    "![pixel](http://tracker.example/p.png)",
    "**bold** _em_ `code` ~~strike~~",
    "a | table | row",
    "&lt;script&gt; entity",
    "text with trailing ##",
    "back\\slash \\# escapes",
    "\x1b[2J\x1b[31mterminal escape\x07 and\r\n# a heading after CRLF",
]


def _tokens(markdown: str) -> list:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    flat = []
    for token in md.parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


@pytest.mark.parametrize("hostile", HOSTILE)
def test_document_text_cannot_inject_structure(hostile: str) -> None:
    digest = make_digest(
        articles=(
            ArticleSummary(
                path=hostile,
                title=hostile,
                summary=hostile,
                tldr=hostile,
                words=300,
                sections=(
                    SectionSummary(hostile, hostile, hostile, 150),
                    SectionSummary(None, hostile, hostile, 150),
                ),
                date=hostile,
            ),
        ),
        skipped=(Skipped(hostile, hostile),),
        notices=(hostile,),
    )
    tokens = _tokens(render_markdown(digest))
    kinds = [t.type for t in tokens]
    # Exactly the structure the template makes: title, Contents, one article, Skipped.
    assert kinds.count("heading_open") == 4
    assert [t.attrGet("href") for t in tokens if t.type == "link_open"] == ["#article-1"]
    assert "image" not in kinds
    assert "code_inline" not in kinds and "s_open" not in kinds and "table_open" not in kinds
    # The only raw HTML is the template's own anchor.
    html = [t.content for t in tokens if t.type in ("html_inline", "html_block")]
    assert html == ['<a id="article-1">', "</a>"]
    # Emphasis only where the template puts it (TL;DR label, section labels, note, path).
    assert kinds.count("em_open") == 1
    assert kinds.count("strong_open") == 4
    # bullet lists: the two section bullets and the skipped bullet, nothing more.
    assert kinds.count("list_item_open") == 2 + 1 + 1  # + 1 contents entry
    assert "blockquote_open" in kinds and kinds.count("blockquote_open") == 1
    # And the words themselves survive, readable once rendered.
    visible = "".join(t.content for t in tokens if t.type == "text")
    assert " ".join(one_line(hostile).split()).replace("\\", "") in visible.replace("\\", "")
    assert not any(ch in render_markdown(digest) for ch in "\x1b\x07\r")


def test_escape_keeps_ordinary_prose_readable() -> None:
    prose = 'Prices rose 2% to $11.1bn (£600m), analysts said - "a jolt".'
    assert escape_markdown(prose) == prose


def test_json_shape() -> None:
    data = json.loads(render_json(make_digest(model=None)))
    assert set(data) >= {"date", "engine", "model", "documents", "skipped"}
    assert data["date"] == "2026-11-24"
    first = data["documents"][0]
    assert set(first) >= {"path", "title", "summary", "tldr", "words", "sections"}
    assert set(first["sections"][0]) >= {"kicker", "title", "summary", "words"}
    assert first["sections"][1] == {
        "kicker": "Details",
        "title": "'Taliban took control'",
        "summary": "Heavy clashes.",
        "words": 80,
        "quoted": False,
        "level": 0,
        "folded": False,
        "sections": [],
    }
    assert data["skipped"] == [{"path": "seeds/empty.txt", "reason": "empty file"}]


def test_user_template_folder_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text(
        "{{ digest.articles | length }} stories on {{ digest.date }}\n", encoding="utf-8"
    )
    assert render_markdown(make_digest(), tmp_path) == "2 stories on 2026-11-24\n"


def test_broken_user_template_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("{{ digest.nonexistent_field }}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem, match="digest.md.j2"):
        render_markdown(make_digest(), tmp_path)
    (tmp_path / "digest.md.j2").write_text("{% for x in %}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem, match=r"line 1"):
        render_markdown(make_digest(), tmp_path)


GOLDEN_JSON = """\
{
  "date": "2026-11-24",
  "engine": "seq2seq",
  "model": "sshleifer/distilbart-cnn-12-6",
  "backend": "ctranslate2",
  "executor": "local",
  "notices": [
    "Café notice."
  ],
  "order": "feed",
  "max_words": 0,
  "stories": [
    {
      "id": "s61169041d4f6",
      "rank": 1,
      "shown": "full",
      "title": "Zoë’s café",
      "outlets": 1,
      "tldr": "A TL;DR.",
      "summary": "A summary.",
      "sources": [
        {
          "document": 0,
          "path": "posts/café.md",
          "title": "Zoë’s café",
          "outlet": null,
          "link": null
        }
      ]
    }
  ],
  "guard": {
    "mode": "off",
    "checked": false,
    "note": "not checked (--guard off)"
  },
  "documents": [
    {
      "path": "posts/café.md",
      "title": "Zoë’s café",
      "date": "2026-11-20",
      "format": "markdown",
      "link": null,
      "feed": null,
      "author": null,
      "note": null,
      "summary": "A summary.",
      "tldr": "A TL;DR.",
      "words": 460,
      "reading_minutes": 2,
      "sections": [
        {
          "kicker": "Details",
          "title": "Opening",
          "level": 0,
          "summary": "It opened.",
          "words": 80,
          "quoted": false,
          "folded": false,
          "sections": []
        }
      ],
      "omitted_sections": 0,
      "outlet": null,
      "story": "s61169041d4f6",
      "guard": []
    }
  ],
  "skipped": [
    {
      "path": "seeds/empty.txt",
      "reason": "empty file"
    }
  ]
}
"""


def test_json_is_exact_and_keeps_unicode_readable() -> None:
    digest = make_digest(
        engine="seq2seq",
        model="sshleifer/distilbart-cnn-12-6",
        backend="ctranslate2",
        notices=("Café notice.",),
        articles=(
            ArticleSummary(
                path="posts/café.md",
                title="Zoë’s café",
                summary="A summary.",
                tldr="A TL;DR.",
                words=460,
                sections=(SectionSummary("Details", "Opening", "It opened.", 80),),
                date="2026-11-20",
                format="markdown",
            ),
        ),
    )
    assert render_json(digest) == GOLDEN_JSON


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- not a list", "\\- not a list"),
        ("+ not a list", "\\+ not a list"),
        ("> not a quote", "\\> not a quote"),
        ("= not a setext line", "\\= not a setext line"),
        ("1. not a list", "1\\. not a list"),
        ("12) not a list", "12\\) not a list"),
        ("   - leading spaces go first", "\\- leading spaces go first"),
        ("a - b + c > d 1. e", "a - b + c \\> d 1. e"),  # only a line's start makes a block
        ("#hashtag", "\\#hashtag"),
        ("Tom &amp; Jerry &#169;", "Tom \\&amp; Jerry &\\#169;"),
        ("2024-11-05 was a Tuesday", "2024-11-05 was a Tuesday"),
        ("1 - 0 = 1", "1 - 0 = 1"),
        ("AT&T and R&D", "AT&T and R&D"),
    ],
)
def test_escape_markdown_exactly(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected
    # …and CommonMark shows the text as it was written: one paragraph, no backslash left.
    html = MarkdownIt("commonmark").render(expected)
    assert html.startswith("<p>") and html.count("<p>") == 1 and "\\" not in html


def test_dates_and_plurals_do_not_follow_the_locale() -> None:
    from digest.render import long_date, plural, short_date

    assert long_date(dt.date(2026, 11, 24)) == "Tuesday 24 November 2026"
    assert long_date(dt.date(2027, 1, 3)) == "Sunday 3 January 2027"
    assert short_date(dt.date(2026, 11, 24)) == "24 Nov 2026"
    assert short_date(dt.date(2027, 1, 3)) == "3 Jan 2027"
    assert [plural(n, "article") for n in (0, 1, 2)] == ["0 articles", "1 article", "2 articles"]
    assert [plural(n, "story") for n in (1, 2)] == ["1 story", "2 stories"]
    assert plural(2, "day") == "2 days"


def test_user_templates_get_the_date_and_plural_helpers(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text(
        "{{ long_date(digest.date) }} | {{ short_date(digest.date) }} | "
        "{{ plural(digest.articles | length, 'story') }}\n",
        encoding="utf-8",
    )
    assert render_markdown(make_digest(), tmp_path) == (
        "Tuesday 24 November 2026 | 24 Nov 2026 | 2 stories\n"
    )


def test_user_templates_are_plain_text_with_tidy_blocks(tmp_path: Path) -> None:
    """Markdown templates are not HTML-escaped (the md filter does the escaping), and block
    tags take their line with them (trim_blocks, lstrip_blocks)."""
    (tmp_path / "digest.md.j2").write_text(
        '{{ "<b>R&D</b>" }}\n  {% for a in digest.articles %}\n- {{ a.title }}\n  {% endfor %}\n',
        encoding="utf-8",
    )
    assert render_markdown(make_digest(), tmp_path) == (
        "<b>R&D</b>\n- Taliban captures Kandahar\n- A short post\n"
    )


def test_template_errors_say_where_only_when_known(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("ok\n\n{% for x in %}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem) as syntax:
        render_markdown(make_digest(), tmp_path)
    assert str(syntax.value).startswith("template 'digest.md.j2' (line 3): ")
    (tmp_path / "digest.md.j2").write_text("{{ digest.nonexistent_field }}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem) as runtime:
        render_markdown(make_digest(), tmp_path)
    assert str(runtime.value) == (
        "template 'digest.md.j2': 'digest.model.Digest object' has no attribute 'nonexistent_field'"
    )
    with pytest.raises(TemplateProblem, match="template 'nope.j2' not found"):
        from digest.render import render_template

        render_template("nope.j2", {}, tmp_path)


def test_without_a_templates_folder_only_the_built_in_ones_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder that happens to be called "None" in the working folder is not a template folder.
    (tmp_path / "None").mkdir()
    (tmp_path / "None" / "digest.md.j2").write_text("hijacked\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert render_markdown(make_digest()) == GOLDEN
