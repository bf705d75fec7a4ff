"""Nested sections from HTML, Markdown and plain text; folding; hostile titles at every depth;
bounded output on pathological inputs; invisible characters; UTF-16 without a BOM."""

from __future__ import annotations

import codecs
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from test_render import HOSTILE

from digest.folding import MAX_BULLETS, MAX_SECTIONS, fold, top_level
from digest.model import ArticleSummary, Digest, Section, SectionSummary
from digest.pipeline import Options, make_digest
from digest.render import render_json, render_markdown
from digest.sources import read_document
from digest.sources.html import parse_html
from digest.sources.markdown import parse_markdown
from digest.sources.text import parse_text
from digest.summary_tree import SUMMARY_BOUNDS, TITLE_BOUND

PROSE = "The council met on Tuesday and agreed the plan after a long debate about costs."


def _shape(sections: tuple[Section, ...]) -> list[object]:
    return [(s.title, s.level, _shape(s.sections)) for s in sections]


# --- nesting from each format ------------------------------------------------------------------


def test_markdown_nests_by_heading_level() -> None:
    text = (
        f"# Report\n\n{PROSE}\n\n## Budget\n\n{PROSE}\n\n### Schools\n\n{PROSE}\n\n"
        f"#### Primary\n\n{PROSE}\n\n### Roads\n\n{PROSE}\n\n## Staffing\n\n{PROSE}\n"
    )
    document = parse_markdown(text, Path("r.md"))
    assert _shape(document.sections) == [
        (None, 0, []),
        (
            "Budget",
            2,
            [("Schools", 3, [("Primary", 4, [])]), ("Roads", 3, [])],
        ),
        ("Staffing", 2, []),
    ]
    assert [s.title for s in document.all_sections()] == [
        None,
        "Budget",
        "Schools",
        "Primary",
        "Roads",
        "Staffing",
    ]
    budget = document.sections[1]
    assert budget.words == len(PROSE.split()) and budget.all_words == 4 * len(PROSE.split())
    assert document.words == 6 * len(PROSE.split())


def test_markdown_furniture_goes_and_its_prose_stays() -> None:
    text = (
        f"## Budget\n\n{PROSE}\n\n## Elsewhere on the blog\n\n- [Harbour works](/a)\n"
        f"- [Ferry timetable](/b)\n\n## Share this page\n\n[Email](/e) · [Print](/p)\n\n"
        f"## Related reading\n\nSmith, J. (2020). Harbour economics. Port Press.\n\n"
        f"## Staffing\n\n{PROSE} See [the plan](/plan) for details.\n\n"
        f"## Sources\n\nThe figures come from the port authority's annual harbour survey.\n"
    )
    document = parse_markdown(text, Path("b.md"))
    # "Sources" names part of the post, not a widget of the page: it stays a section.
    assert [s.title for s in document.all_sections()] == ["Budget", "Staffing", "Sources"]
    # The reading list is text of the post, kept in the section before; the links are not.
    assert document.sections[0].paragraphs[-1].startswith("Smith, J. (2020)")
    assert "Harbour works" not in document.text and "Print" not in document.text


ARTICLE_PAGE = f"""<!DOCTYPE html><html><head><title>Harbour plan | Gazette</title></head><body>
<nav><h2>Sections</h2><ul><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li></ul></nav>
<main><article>
<h1>Harbour plan approved after long debate</h1>
<p>{PROSE} The harbour will be dredged next spring, officials said on Tuesday evening.</p>
<h2>What changes</h2>
<p>{PROSE} Ferries will run every twenty minutes instead of every hour from May.</p>
<h3>For ferry users</h3>
<p>{PROSE} Season tickets will cost less for residents who register before March.</p>
<h3>For fishing boats</h3>
<p>{PROSE} The fishing fleet keeps its berths on the north quay through the works.</p>
<h2>What it costs</h2>
<p>{PROSE} The works will cost twelve million pounds, most of it from a national fund.</p>
<div class="more-stories"><h3>Harbour stories</h3><ul>
<li><a href="/1">Harbour closed for a week after the storm</a></li>
<li><a href="/2">New ferry named after a local teacher</a></li>
<li><a href="/3">Council budget agreed after a late vote</a></li>
<li><a href="/4">Quay repairs finished ahead of schedule</a></li></ul></div>
<p>{PROSE} The council will borrow the rest over twenty years at a fixed rate.</p>
<div class="share-tools"><h3>Share this page</h3><ul><li><a href="/s/fb">Facebook</a></li>
<li><a href="/s/tw">Twitter</a></li></ul></div>
<h2>Related content</h2>
<ul><li><a href="/a">Harbour closed for a week</a></li><li><a href="/b">New ferry named</a></li>
<li><a href="/c">Council budget agreed</a></li><li><a href="/d">Quay repairs finished</a></li></ul>
</article></main>
<aside><h2>Most read</h2>
<p>A story about something else entirely, which sits in the sidebar.</p></aside>
<footer><h2>Follow us</h2><p><a href="/rss">RSS</a></p></footer>
</body></html>"""


def test_html_headings_nest_and_furniture_is_dropped() -> None:
    document = parse_html(ARTICLE_PAGE, Path("harbour.html"))
    assert _shape(document.sections) == [
        (None, 0, []),
        ("What changes", 2, [("For ferry users", 3, []), ("For fishing boats", 3, [])]),
        ("What it costs", 2, []),
    ]
    costs = document.sections[2]
    assert len(costs.paragraphs) == 2 and costs.paragraphs[1].endswith("at a fixed rate.")
    text = document.text
    assert "Facebook" not in text and "Most read" not in text and "sidebar" not in text


GUIDANCE_PAGE = f"""<!DOCTYPE html><html lang="en"><head><title>Apply for a fishing licence -
GOV.UK</title></head><body><div class="govuk-width-container"><main class="govuk-main-wrapper">
<h1 class="gem-c-title__text">Apply for a fishing licence</h1>
<p>{PROSE} This guide explains who needs a licence and how to apply for one online.</p>
<nav class="gem-c-contents-list" aria-label="Contents"><h2 class="gem-c-contents-list__title">
Contents</h2><ol><li><a href="#who">Who needs a licence</a></li><li><a href="#how">How to
apply</a></li></ol></nav>
<div class="govspeak">
<h2 id="who">Who needs a licence</h2><p>{PROSE} Anyone aged 13 or over needs a licence to fish.</p>
<h3 id="kids">Children under 13</h3><p>{PROSE} Children under 13 can fish without a licence.</p>
<h2 id="how">How to apply</h2><p>{PROSE} You can apply online, by phone or at a post office.</p>
<section class="gem-c-attachment"><h3 class="gem-c-attachment__title"><a href="/licence.pdf">
Licence conditions 2024</a></h3><p>PDF, 2.3 MB, 45 pages</p></section>
<h3 id="pay">Paying for your licence</h3><p>{PROSE} A full licence costs 30 pounds a year.</p>
<div class="gem-c-promo"><h2>Tell a friend about fishing</h2><p>Send this guide to a friend who
fishes, or print it out for the noticeboard of your angling club.</p></div>
</div>
<div class="gem-c-print-link"><h2>Print this page</h2><button>Print</button></div>
</main>
<div class="gem-c-related-navigation"><h2>Related content</h2><ul><li><a href="/rod">Rod
fishing byelaws</a></li><li><a href="/sea">Sea fishing</a></li></ul></div>
<div class="gem-c-feedback"><h2>Is this page useful?</h2><button>Yes</button><button>No</button>
</div></div></body></html>"""


@pytest.mark.parametrize("namespace", ["gem-c-", "app-c-", "nhsuk-c-", "c-", "js-", ""])
def test_government_guidance_page_sections(namespace: str) -> None:
    # Furniture blocks are known by their class names whatever the design system's namespace
    # (GOV.UK's "gem-c-", another's "nhsuk-c-", BEM's "c-", none): the promo block's heading
    # is no section, though its prose (which the extractor keeps) stays in the text.
    page = GUIDANCE_PAGE.replace("gem-c-", namespace)
    document = parse_html(page, Path("guidance.html"))
    assert _shape(document.sections) == [
        (None, 0, []),
        ("Who needs a licence", 2, [("Children under 13", 3, [])]),
        ("How to apply", 2, [("Paying for your licence", 3, [])]),
    ]
    assert "noticeboard of your angling club" in document.text


def test_markup_nested_thousands_deep_does_not_stop_the_reader() -> None:
    deep = "<div>" * 5000 + f"<h2>Deep</h2><p>{PROSE}</p>" + "</div>" * 5000
    page = f"<html><body><article><p>{PROSE}</p><h2>Top</h2><p>{PROSE} More.</p>{deep}"
    document = parse_html(page + "</article></body></html>", Path("deep.html"))
    assert document.words > 0


def test_page_headings_are_placed_by_markup_and_what_follows_them() -> None:
    from trafilatura.utils import load_html

    from digest.sources.headings import place_headings

    paragraphs = [f"Paragraph {n}. {PROSE}" for n in range(1, 5)]
    links = "".join(
        f'<li><a href="/{i}">Another harbour story number {i} to read</a></li>' for i in range(6)
    )
    page = f"""<html><body><article><p>{paragraphs[0]}</p>
    <aside><h3>Elsewhere</h3><p>A short teaser.</p></aside>
    <h2>Costs <a href="#costs">¶</a></h2><p>{paragraphs[1]}</p>
    <h2>Stories</h2><ul>{links}</ul><p>{paragraphs[2]}</p>
    <div class="social-share"><h4>Spread the word</h4></div>
    <h3 style="display: none">Hidden</h3><p>{paragraphs[3]}</p>
    </article></body></html>"""
    blocks = [("paragraph", p, 0) for p in paragraphs]  # what trafilatura keeps
    assert place_headings(blocks, load_html(page)) == [
        blocks[0],
        ("heading", "Costs", 2),  # its permalink anchor is not part of it
        blocks[1],
        blocks[2],  # "Stories" heads a list of links, not this paragraph
        blocks[3],  # in a share widget; hidden
    ]


def test_html_headings_trafilatura_drops_are_recovered() -> None:
    # trafilatura's text output keeps none of this page's twelve h2/h3 headings (Factorio's
    # Friday Facts, mozilla/readability's test page "keep-tabular-data"); the page's own
    # markup has them all, nested.
    from conftest import shared_path

    path = shared_path("data", "html-readability", "keep-tabular-data", "source.html")
    document = read_document(path, max_bytes=5_000_000)
    tree = {s.title: [c.title for c in s.sections] for s in document.sections if s.title}
    assert tree["The release plan (kovarex)"] == ["After release plan"]
    assert tree["The GUI progress (kovarex)"] == ["Blueprint library", "The hand"]
    assert tree["Terrain generation updates (TOGoS)"] == [
        "Biter Bases",
        "Cliffs",
        "Biome Debugging",
        "Water Placement",
        "New Map Types",
    ]
    assert "High-res accumulators (Ernestas, Albert)" in tree


TABLE_PAGE = f"""<html><head><title>Ferry timetable changes</title></head><body><article>
<h1>Ferry timetable changes</h1>
<p>{PROSE} The new timetable starts in May and adds two crossings each day.</p>
<table><tr><th>Route</th><th>First sailing</th><th>Last sailing</th></tr>
<tr><td>Harbour to Isle</td><td>06:10</td><td>22:40</td></tr>
<tr><td>Isle to Harbour</td><td>06:55</td><td>23:20</td></tr></table>
<h2>Fares</h2>
<p>{PROSE} Fares rise by three percent, the first rise in four years.</p>
<pre><code>fare = base * 1.03  # rounded to the penny</code></pre>
<h2>Booking codes</h2>
<table><tr><td>HI-01</td><td>Morning saver</td></tr><tr><td>IH-02</td><td>Evening saver</td></tr>
</table>
<h2>Accessibility</h2>
<p>{PROSE} Every vessel now has a lift between the car deck and the lounge.</p>
</article></body></html>"""


def test_tables_and_code_are_kept_but_never_summarised(tmp_path: Path) -> None:
    document = parse_html(TABLE_PAGE, Path("ferry.html"))
    assert _shape(document.sections) == [(None, 0, []), ("Fares", 2, []), ("Accessibility", 2, [])]
    lead, fares, access = document.sections
    # The table stays with the prose before it; "Booking codes" heads a table alone, so it
    # goes, and its rows join the section before.
    assert lead.verbatim == (
        "Route | First sailing | Last sailing",
        "Harbour to Isle | 06:10 | 22:40",
        "Isle to Harbour | 06:55 | 23:20",
    )
    assert fares.verbatim == (
        "fare = base * 1.03 # rounded to the penny",
        "HI-01 | Morning saver",
        "IH-02 | Evening saver",
    )
    assert access.verbatim == ()
    # The prose (what is summarised) has none of it; the text the reader kept has all of it.
    assert "06:10" not in document.text and "Morning saver" not in document.text
    for kept in ("06:10", "Evening saver", "base * 1.03", "Fares", "lift between"):
        assert kept in document.full_text
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ferry.html").write_text(TABLE_PAGE, encoding="utf-8")
    digest = make_digest([folder], Options(engine="extractive"))
    said = render_json(digest)
    for row_text in ("06:10", "Morning saver", "1.03"):
        assert row_text not in said


def test_an_infobox_table_never_becomes_the_tldr() -> None:
    # Wikipedia's infobox ("Products | Mozilla Application Suite") is the first text of the
    # article; kept as prose, the extractive engine took a row of it for the TL;DR.
    from conftest import shared_path

    path = shared_path("data", "html-readability", "wikipedia", "source.html")
    document = read_document(path, max_bytes=5_000_000)
    assert any(
        "Mozilla Application Suite" in v for s in document.all_sections() for v in s.verbatim
    )
    digest = make_digest([path], Options(engine="extractive"))
    (article,) = digest.articles
    summaries = [article.tldr, article.summary]
    summaries += [s.summary for s in article.sections for s in s.walk()]
    assert all(" | " not in text for text in summaries), summaries


def test_plain_text_numbered_headings_nest_and_kicker_pairs_stay_flat() -> None:
    text = (
        f"Annual plan\n\n{PROSE}\n\n1 Introduction\n\n{PROSE}\n\n1.1 Scope\n\n{PROSE}\n\n"
        f"1.2 Method\n\n{PROSE}\n\n2 Results\n\n{PROSE}\n"
    )
    document = parse_text(text, Path("plan.txt"))
    assert _shape(document.sections) == [
        (None, 0, []),
        ("1 Introduction", 2, [("1.1 Scope", 3, []), ("1.2 Method", 3, [])]),
        ("2 Results", 2, []),
    ]
    paired = parse_text(
        f"Title here\n\nDetails\n'Taliban took control'\n\n{PROSE}\n\n"
        f"US\nBiden speaks\n\n{PROSE}\n",
        Path("p.txt"),
    )
    assert [(s.kicker, s.title, s.sections) for s in paired.sections] == [
        ("Details", "'Taliban took control'", ()),
        ("US", "Biden speaks", ()),
    ]


# --- folding ------------------------------------------------------------------------------------


_NOUNS = (
    "rents wages ferries tolls grants loans bridges schools clinics libraries parks buses trams "
    "roads rates fees permits audits pensions salaries harbours docks markets museums courts "
    "prisons wells farms forests rivers canals tunnels depots stations airports ports mines"
).split()


def _prose(tag: str, k: int) -> str:
    """A sentence of its own for each place in the report (its own numbers): an entry never
    says one twice, so sections made of one repeated sentence would have nothing to say."""
    n = len(_NOUNS)
    return (
        f"Part {tag} reports {k} new {_NOUNS[k % n]} and {3 * k + 1} closed "
        f"{_NOUNS[(k * 7 + 3) % n]} in the {_NOUNS[(k * 13 + 5) % n]} review."
    )


def _long_report(chapters: int, topics: int) -> str:
    lead = " ".join(_prose(f"L{r}", r) for r in range(3))
    parts = ["---\ntitle: Annual report\n---\n", lead]
    for c in range(1, chapters + 1):
        own = " ".join(_prose(f"C{c}R{r}", 100 * c + r) for r in range(1 + c % 4))
        parts.append(f"## Chapter {c}\n\n{own}")
        for t in range(1, topics + 1):
            parts.append(f"### Topic {c}.{t}\n\n{_prose(f'T{c}x{t}', 1000 * c + t)}")
    return "\n\n".join(parts) + "\n"


def test_a_200_heading_document_folds_to_at_most_12_bullets() -> None:
    document = parse_markdown(_long_report(20, 9), Path("report.md"))
    assert sum(1 for s in document.all_sections() if s.title) == 200
    folded = fold(document.sections)
    assert len(folded.sections) == 21  # the lead and twenty chapters
    assert len(folded.shown) == MAX_BULLETS - 1  # one bullet is left for "Also covers"
    assert 0 in folded.shown  # the lead always shows
    shown = [folded.sections[i] for i in sorted(folded.shown)]
    hidden = [s for i, s in enumerate(folded.sections) if i not in folded.shown]
    assert min(s.all_words for s in shown[1:]) >= max(s.all_words for s in hidden)


def test_a_lone_parent_is_replaced_by_its_children() -> None:
    inner = (Section("A", (PROSE,), level=3), Section("B", (PROSE,), level=3))
    sections = (Section(None, (PROSE,)), Section("Everything", (PROSE,), level=2, sections=inner))
    top = top_level(sections)
    assert [(s.title, s.sections) for s in top] == [
        (None, ()),
        ("Everything", ()),
        ("A", ()),
        ("B", ()),
    ]


def test_folded_digest_renders_also_covers_and_keeps_the_whole_tree_in_json(
    tmp_path: Path,
) -> None:
    (tmp_path / "report.md").write_text(_long_report(20, 9), encoding="utf-8")
    digest = make_digest([tmp_path], Options(engine="extractive"))
    (article,) = digest.articles
    # The lead's three sentences are all in the TL;DR and summary, so it has no bullet (an
    # entry never says a sentence twice): one fewer than the 11 shown.
    assert len(article.shown_sections) == MAX_BULLETS - 2
    markdown = render_markdown(digest)
    entry = markdown.split('<a id="article-1"></a>')[1]
    top_bullets = [line for line in entry.splitlines() if line.startswith("- ")]
    assert len(top_bullets) == MAX_BULLETS - 1
    assert top_bullets[-1].startswith("- **Also covers:** Chapter")
    assert "  - *Covers:* Topic" in entry

    data = json.loads(render_json(digest))
    sections = data["documents"][0]["sections"]
    assert len(sections) == 20 and sum(s["folded"] for s in sections) == 10
    # Chapter 2: chapter 1's own sentences are in the article summary, so its bullet goes on
    # into its first topic, which then says nothing new.
    chapter = next(s for s in sections if s["title"] == "Chapter 2")
    assert chapter["level"] == 2 and len(chapter["sections"]) == 9
    assert chapter["sections"][0] == {
        "kicker": None,
        "title": "Topic 2.1",
        "level": 3,
        "summary": _prose("T2x1", 2001),
        "words": len(_prose("T2x1", 2001).split()),
        "quoted": True,
        "folded": False,
        "sections": [],
    }


def test_a_top_level_summary_covers_its_subtree(tmp_path: Path) -> None:
    long = " ".join(f"Sentence {i} about the harbour works and their cost." for i in range(12))
    (tmp_path / "r.md").write_text(
        f"## Works\n\n{long}\n\n### Dredging\n\nThe dredger Nemo arrives in May.\n\n"
        f"## Money\n\n{long}\n",
        encoding="utf-8",
    )
    seen: list[str] = []

    class Engine:
        name, model, backend = "spy", None, None

        def prepare(self) -> None: ...

        def summarise(self, texts, *, kind, progress=None):  # type: ignore[no-untyped-def]
            seen.extend(texts if kind == "section" else [])
            return [t.split(".")[0] + "." for t in texts]

    from digest import reading, summary_tree

    documents, _, _ = reading.read_sources([tmp_path])
    (article,) = summary_tree.summarise_documents(documents, Engine())  # type: ignore[arg-type]
    works = article.sections[0]
    assert works.title == "Works" and [c.title for c in works.sections] == ["Dredging"]
    # Sentence 0 is the TL;DR (the spy's article summary), so the bullet's input leaves it out.
    assert any("Nemo" in text and text.startswith("Sentence 1") for text in seen)
    assert works.sections[0].quoted and works.sections[0].summary.startswith("The dredger")


# --- hostile titles at every depth -------------------------------------------------------------


def _nested(title: str, depth: int) -> SectionSummary:
    child = () if depth == 0 else (_nested(title, depth - 1),)
    return SectionSummary(title, title, title, 100, level=4 - depth, sections=child)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_titles_are_inert_at_every_depth(hostile: str) -> None:
    import datetime as dt

    from digest.email import render_email

    sections = (
        SectionSummary(None, "Lead", "Lead text.", 100),
        _nested(hostile, 3),
        SectionSummary(hostile, hostile, hostile, 50, folded=True),
    )
    digest = Digest(
        date=dt.date(2026, 11, 24),
        engine="extractive",
        model=None,
        articles=(ArticleSummary("a.md", "A", "Sum.", "Tl.", 300, sections),),
    )
    markdown = render_markdown(digest)
    tokens = MarkdownIt("commonmark").parse(markdown)
    inline = [c for t in tokens for c in (t.children or [])]
    assert [c.attrGet("href") for c in inline if c.type == "link_open"] == ["#article-1"]
    html = [c.content for c in inline if c.type == "html_inline"]
    html += [t.content for t in tokens if t.type == "html_block"]
    assert html == ['<a id="article-1">', "</a>"]
    assert sum(t.type == "heading_open" for t in tokens) == 3  # title, Contents, the article

    text, html_part, _ = render_email(digest)
    assert "Also covers: " in text and "Covers: " in text
    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            tags.append(tag)

    Tags().feed(html_part)
    assert not {"script", "img", "iframe", "svg"} & set(tags)
    assert all(tag in _EMAIL_TAGS for tag in tags), set(tags) - _EMAIL_TAGS

    data = json.loads(render_json(digest))
    node = data["documents"][0]["sections"][1]
    for _ in range(3):
        node = node["sections"][0]
    assert node["title"] == hostile and node["level"] == 4


_EMAIL_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "table",
    "tr",
    "td",
    "h1",
    "h2",
    "p",
    "ol",
    "ul",
    "li",
    "a",
    "strong",
    "em",
    "span",
    "br",
}


# --- bounded output ----------------------------------------------------------------------------


def _pathological(folder: Path) -> None:
    folder.mkdir()
    (folder / "nospace.html").write_text(
        "<html><head><title>Big</title></head><body><article><h1>Big</h1><p>"
        + "a" * 3_000_000
        + "</p></article></body></html>",
        encoding="utf-8",
    )
    (folder / "word.txt").write_text(
        "A long word\n\nIt starts as a normal sentence. " + "b" * 500_000 + " and goes on.\n",
        encoding="utf-8",
    )
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    (folder / "unpunctuated.txt").write_text(
        " ".join(words[i * 7 % 10] for i in range(200_000)) + "\n", encoding="utf-8"
    )
    (folder / "headings.md").write_text(
        "".join(f"## Heading {i}\n\nSome text for section {i} here.\n\n" for i in range(5000)),
        encoding="utf-8",
    )
    (folder / "spoof.md").write_text(
        '---\ntitle: "Invoice \u202egpj.exe\u202c paid\u200d"\n---\n\n'
        "## Pay\u2066ment\u2069\n\nThe invoice \u202ewas\u202c paid on time.\n\n"
        + " ".join(f"Payment note {i} lists {i * 7} items for the month." for i in range(6))
        + "\n\n## Bank\n\nThe bank confirmed \u200bit.\n\n"
        + " ".join(f"Bank note {i} records {i * 11} transfers this quarter." for i in range(6))
        + "\n",
        encoding="utf-8",
    )


def test_pathological_inputs_give_bounded_output(tmp_path: Path) -> None:
    _pathological(tmp_path / "in")
    digest = make_digest([tmp_path / "in"], Options(engine="extractive"))
    assert len(digest.articles) == 5 and not digest.skipped
    for article in digest.articles:
        for text, (words, chars) in [
            (article.summary, SUMMARY_BOUNDS["article"]),
            (article.tldr, SUMMARY_BOUNDS["tldr"]),
            (article.title, TITLE_BOUND),
        ] + [
            (s.summary, SUMMARY_BOUNDS["section"]) for top in article.sections for s in top.walk()
        ]:
            if len(article.sections) == 1:  # a lone section shows the article summary
                words, chars = max(words, SUMMARY_BOUNDS["article"][0]), max(chars, 2200)
            assert len(text) <= chars and len(text.split()) <= words + 1, article.path
        assert len(article.shown_sections) <= MAX_BULLETS
        assert sum(1 for top in article.sections for _ in top.walk()) <= MAX_SECTIONS
    headings = next(a for a in digest.articles if a.path.endswith("headings.md"))
    assert headings.omitted_sections == 5000 - MAX_SECTIONS

    markdown, data = render_markdown(digest), render_json(digest)
    assert len(markdown) < 30_000 and len(data) < 200_000
    # 5000 less 10 shown less 8 listed: "Heading 0", whose one sentence the TL;DR said, keeps
    # its place by title, under "Also covers".
    assert "- **Also covers:** Heading 0 · Heading 11 ·" in markdown
    assert "· … and 4982 more" in markdown
    for text in (markdown, data):
        assert not any(
            ch in text
            for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200d"
        )
    spoof = next(a for a in digest.articles if a.path.endswith("spoof.md"))
    assert spoof.title == "Invoice gpj.exe paid"
    assert [s.title for s in spoof.sections] == ["Payment", "Bank"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(tmp_path: Path, codec: str) -> None:
    text = "Council budget approved\n\nThe council approved the budget on Tuesday, café open.\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode(codec))
    assert not path.read_bytes().startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    document = read_document(path, max_bytes=1_000_000)
    assert document.title == "Council budget approved"
    assert document.sections[0].paragraphs == (
        "The council approved the budget on Tuesday, café open.",
    )
