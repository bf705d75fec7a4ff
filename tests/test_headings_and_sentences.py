"""Every heading with prose beneath it stays visible, and every summary sentence stands alone
(issue #20, items 3 and 4): sections whose sentences were already said keep their place,
interview questions stay whole, furniture goes by whole names and generic class names only,
no summary ends on a lead-in whose list is not there, run-in headings are not glued into
sentences, and a label gets one punctuation mark.

The shared pages and posts are read from ../shared (skipped cleanly when absent); the
headings expected there are parsed here independently of the readers (markdown-it tokens for
Markdown, lxml for HTML), not with the readers' own helpers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_path
from markdown_it import MarkdownIt

from digest.budgets import BUDGETS
from digest.engines.extractive import WEIGHTS, ExtractiveSummariser, select_sentences
from digest.model import Digest, SectionSummary
from digest.pipeline import Options, make_digest
from digest.render import digest_as_dict, render_markdown
from digest.sectioning import furniture_name, run_in_heading
from digest.sources import read_document
from digest.sources.headings import furniture_class
from digest.sources.html import parse_html
from digest.sources.markdown import parse_markdown
from digest.summary_tree import _clean
from digest.text import dangling_lead_in, label, without_trailing_lead_in

PROSE = "The council met on Tuesday and agreed the plan after a long debate about costs."


def _norm(text: str | None) -> str:
    return re.sub(r"[\W_]+", " ", text or "").strip().casefold()


def _titles(sections: list[dict[str, Any]]) -> list[str]:
    """Every section title and kicker in a JSON section tree, normalised."""
    found: list[str] = []
    for section in sections:
        found += [_norm(section[k]) for k in ("kicker", "title") if section[k]]
        found += _titles(section["sections"])
    return found


def _summaries(document: dict[str, Any]) -> list[str]:
    texts = [document["tldr"], document["summary"]]

    def walk(sections: list[dict[str, Any]]) -> None:
        for section in sections:
            texts.append(section["summary"])
            walk(section["sections"])

    walk(document["sections"])
    return [t for t in texts if t]


# --- expected headings, parsed independently ---------------------------------------------------

_TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)


def _markdown_headings(path: Path) -> list[str]:
    """The post's headings with a paragraph of 8 words or more beneath them (before the next
    heading), from markdown-it's tokens; Jekyll tags are the site builder's, not prose."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[0].strip() == "---":  # YAML front matter, up to the next "---"
        lines = lines[lines.index("---", 1) + 1 :]
    text = "\n".join(lines)
    tokens = MarkdownIt("commonmark").enable(["table"]).parse(_TEMPLATE_TAG.sub(" ", text))
    headings: list[list[Any]] = []
    in_heading = in_table = False
    for token in tokens:
        if token.type in ("table_open", "table_close"):
            in_table = token.type == "table_open"
        elif token.type in ("heading_open", "heading_close"):
            in_heading = token.type == "heading_open"
        elif token.type == "inline" and not in_table:
            children = token.children or []
            words = "".join(c.content for c in children if c.type in ("text", "code_inline"))
            if in_heading:
                headings.append([words.strip(), False])
            elif headings and len(words.split()) >= 8:
                outside_links = depth = 0
                for child in children:
                    depth += (child.type == "link_open") - (child.type == "link_close")
                    outside_links += depth == 0 and child.type == "text" and bool(child.content)
                headings[-1][1] = headings[-1][1] or outside_links > 0
    return [h for h, prose in headings if h and prose]


def _html_headings(path: Path, kept: str) -> list[str]:
    """The page's h1–h6 (less the headline, and less those in <aside>, <nav> or <footer>)
    with a <p> or <li> of 12 words or more beneath them whose text the reader kept, from lxml."""
    import lxml.html

    root = lxml.html.fromstring(path.read_bytes().decode("utf-8"))
    kept = re.sub(r"\s+", "", kept).casefold()
    headings: list[list[Any]] = []
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li"):
        text = " ".join(element.text_content().split())
        if element.tag[0] == "h":
            landmark = any(a.tag in ("aside", "nav", "footer") for a in element.iterancestors())
            text = re.sub(r"\s*(?:\[edit\]|¶)$", "", text)
            headings.append([text, element.tag, None if landmark else False])
        elif headings and headings[-1][2] is False and len(text.split()) >= 12:
            headings[-1][2] = re.sub(r"\s+", "", text).casefold()[:80] in kept
    h1s = [h for h, tag, _ in headings if tag == "h1"]
    return [h for h, tag, prose in headings if prose and h and not (h1s and h == h1s[0])]


# --- the shared posts and pages, each made into a digest once ----------------------------------


@pytest.fixture(scope="module")
def posts() -> tuple[Digest, dict[str, Any]]:
    folder = shared_path("data", "markdown-18f")
    # Every entry in full, one per post: these tests are about each post's headings.
    digest = make_digest([folder], Options(engine="extractive", merge=False, max_words=0))
    return digest, digest_as_dict(digest)


@pytest.fixture(scope="module")
def pages() -> tuple[Digest, dict[str, Any]]:
    folder = shared_path("data", "html-readability")
    digest = make_digest([folder], Options(engine="extractive", merge=False, max_words=0))
    return digest, digest_as_dict(digest)


def _document(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in data["documents"] if name in d["path"])


def _recall(data: dict[str, Any], expected: dict[str, list[str]]) -> tuple[float, list[str]]:
    wanted = found = 0
    missed = []
    for document in data["documents"]:
        titles = _titles(document["sections"])
        for heading in expected.get(document["path"], []):
            wanted += 1
            if _norm(heading) in titles or _norm(heading) == _norm(document["title"]):
                found += 1
            else:
                missed.append(heading)
    return found / max(wanted, 1), missed


def test_18f_headings_with_prose_are_all_in_the_json(posts: tuple[Digest, dict[str, Any]]) -> None:
    _, data = posts
    expected = {d["path"]: _markdown_headings(Path(d["path"])) for d in data["documents"]}
    assert sum(map(len, expected.values())) > 500
    recall, missed = _recall(data, expected)
    # Was 0.961: the first ### under a ## without prose of its own vanished, its sentences
    # said by the parent's bullet. The one miss left is "Read more" over a reading list.
    assert recall >= 0.99, missed


def test_html_headings_with_prose_are_in_the_json(pages: tuple[Digest, dict[str, Any]]) -> None:
    _, data = pages
    expected = {}
    for document in data["documents"]:
        path = Path(document["path"])
        expected[document["path"]] = _html_headings(
            path, read_document(path, max_bytes=5_000_000).full_text
        )
    assert sum(map(len, expected.values())) > 200
    recall, missed = _recall(data, expected)
    assert recall >= 0.97, missed  # was 0.943


def test_a_said_section_keeps_its_title_and_an_unsaid_sentence(
    posts: tuple[Digest, dict[str, Any]],
) -> None:
    digest, data = posts
    # USWDS 2.0: every ## holds one ### and no prose of its own, so the ##'s bullet says what
    # the ### says; the ### kept no bullet and vanished.
    uswds = _document(data, "uswds2-launch-post")
    adoption = next(s for s in uswds["sections"] if s["title"] == "Easier Incremental Adoption")
    (component,) = adoption["sections"]
    assert component["title"] == "Add a component, not a headache"
    assert component["summary"] and component["summary"] not in adoption["summary"]
    markdown = render_markdown(digest)
    assert "*Covers:* Add a component, not a headache" in markdown
    # "What have you learned from other 18F designers": the first ### of each ##.
    designers = _titles(_document(data, "learned-from-other-18F-designers")["sections"])
    for title in (
        "Actively make space for others to contribute and grow.",
        "Our job is facilitation, not production.",
        "Great leaders empower others.",
        "Get excited instead of intimidated!",
    ):
        assert _norm(title) in designers


def test_interview_questions_stay_whole(posts: tuple[Digest, dict[str, Any]]) -> None:
    _, data = posts
    name = "2019-11-19-building-product-management-capacity-in-government-part-2.md"
    questions = [h for h in _markdown_headings(shared_path("data", "markdown-18f", name))]
    assert len([q for q in questions if q.endswith("?")]) >= 5
    titles = _titles(_document(data, name)["sections"])
    # The longest is 50 words: it was cut to its first two sentences, losing the question.
    assert [q for q in questions if _norm(q) not in titles] == []


# --- item 4 on the shared posts and pages ------------------------------------------------------


def test_no_summary_ends_on_a_colon(
    posts: tuple[Digest, dict[str, Any]], pages: tuple[Digest, dict[str, Any]]
) -> None:
    # Was 22 of 1,125 summaries on the posts ("…to apply (deadline: April 7)? Three important
    # reasons:") and 7 of 330 on the pages.
    for _, data in (posts, pages):
        ending = [
            s[-80:]
            for document in data["documents"]
            for s in _summaries(document)
            if dangling_lead_in(s)
        ]
        assert ending == []
    hero = _document(posts[1], "uncle-sam-wants-you-to-be-a-hero-hacker")
    assert all("Three important reasons:" not in s for s in _summaries(hero))


def test_run_in_headings_are_not_glued_into_sentences(
    pages: tuple[Digest, dict[str, Any]],
) -> None:
    _, data = pages
    for name, parent, heading, glued in (
        ("dropbox-blog", "Features", "Task scheduling", "Task scheduling Clients"),
        ("medium-1", "What we know", "New process", "New process Our rough"),
    ):
        document = _document(data, f"/{name}/")
        assert all(glued not in s for s in _summaries(document)), name
        sections = [s for s in document["sections"]]
        while sections:
            section = sections.pop()
            if section["title"] == parent:
                assert heading in [c["title"] for c in section["sections"]], name
                break
            sections += section["sections"]
        else:
            pytest.fail(f"{name}: no section {parent!r}")


def test_one_punctuation_mark_after_a_label(posts: tuple[Digest, dict[str, Any]]) -> None:
    digest, _ = posts
    markdown = render_markdown(digest)
    assert "- **What is MyUSA?** MyUSA is" in markdown
    assert re.findall(r"\*\*[^*\n]*[:?!.]:\*\*", markdown) == []


# --- item 3, inline --------------------------------------------------------------------------

TRUST_POST = f"""---
title: Building trust in a crisis
---

Public agencies earn trust in a crisis through how they write. {PROSE}

## Communicate with care

### Be clear, but stay accurate

Plain words help readers act quickly, and the facts must hold. Readers remember the first
thing they read.

### Say what you do not know

Readers forgive uncertainty they were told about. They do not forgive certainty that later
turns out wrong. Say when the advice may change, and say when you will update it again.

## Show your work

### Prove your content holds up

Link to your sources and date every page. Readers check whether a page is current before
they trust it. A dated page with its sources listed is easy to check.

### Be precise

Give numbers rather than adjectives wherever you can, and units with every number.
"""


def test_a_first_subsection_under_a_heading_without_prose_keeps_its_place(
    tmp_path: Path,
) -> None:
    (tmp_path / "trust.md").write_text(TRUST_POST, encoding="utf-8")
    digest = make_digest([tmp_path / "trust.md"], Options(engine="extractive"))
    (document,) = digest_as_dict(digest)["documents"]
    titles = _titles(document["sections"])
    for title in (
        "Be clear, but stay accurate",
        "Say what you do not know",
        "Prove your content holds up",
        "Be precise",
    ):
        assert _norm(title) in titles


def test_a_top_level_section_with_nothing_left_to_say_is_listed_by_title(tmp_path: Path) -> None:
    staffing = " ".join(
        f"The harbour needs {n} more {role} by May, the port authority said."
        for n, role in [("six", "pilots"), ("four", "divers"), ("two", "engineers")] * 2
    )
    (tmp_path / "b.md").write_text(
        f"## Budget\n\n{PROSE}\n\n## Staffing\n\n{staffing}\n", encoding="utf-8"
    )

    class FirstSentence:  # every summary is its text's first sentence
        name, model, backend = "first", None, None

        def prepare(self) -> None: ...

        def summarise(self, texts, *, kind, progress=None):  # type: ignore[no-untyped-def]
            return [t.split(".")[0] + "." for t in texts]

    from digest import reading, summary_tree

    documents, _, _ = reading.read_sources([tmp_path])
    (article,) = summary_tree.summarise_documents(documents, FirstSentence())  # type: ignore[arg-type]
    # The TL;DR says the only sentence of "Budget": it is listed under "Also covers" (folded),
    # not dropped.
    assert article.tldr == PROSE
    assert [s.title for s in article.sections] == ["Budget", "Staffing"]
    budget, staff = article.sections
    assert budget.summary == "" and budget.folded
    assert staff.summary.startswith("The harbour needs six") and not staff.folded
    digest = Digest(dt.date(2026, 1, 1), "first", None, (article,))
    assert "- **Also covers:** Budget" in render_markdown(digest)


@pytest.mark.parametrize(
    "heading",
    [
        "Share this page",
        "Share this story",
        "Related content",
        "Read more",
        "Newsletter",
        "Sign up for our newsletter",
        "Click here to subscribe to The Paradigm Newsletter",
        "Most read",
        "Print this page",
        "Is this page useful?",
        "Comments",
        "Contents",
        "Follow us on Twitter",
        "Popular on IndieWire",
        "Like this:",
    ],
)
def test_whole_furniture_names(heading: str) -> None:
    assert furniture_name(heading)


@pytest.mark.parametrize(
    "heading",
    [
        "Why newsletters are back",
        "Popular uprisings of 1848",
        "Sources",
        "Notes",
        "References",
        "Documents",
        "Search",
        "More from the minister",
        "Sharing personal information",
        "Share your story with the team",
        "Comments from the public on the rule",
        "Menu planning for schools",
    ],
)
def test_headings_that_only_start_like_furniture_are_content(heading: str) -> None:
    assert not furniture_name(heading)


@pytest.mark.parametrize(
    "name",
    [
        "share-tools",
        "related_links",
        "sidebar",
        "c-newsletter--promo",  # BEM modifier
        "c-related-content__hed",  # BEM element of a furniture block
        "sidebar__newsletter",
        "js-share-tools",
        "gem-c-related-navigation",  # a design system's "xx-c-" namespace
        "nhsuk-c-related-links",
        "pf-c-share",
        "ad-slot",
        "comments-area",
        "u-sr-only",
    ],
)
def test_furniture_class_names(name: str) -> None:
    assert furniture_class(name)


@pytest.mark.parametrize(
    "name",
    [
        "post-comments-count",  # the name's first word says what it is: a post's
        "has-sidebar",  # a state
        "no-comments",
        "l-sidebar-fixed",  # a layout, which holds the article beside the sidebar
        "layout-sidebar-right",
        "sharing-with-a-single-developer",  # a slug made from a heading
        "entry-content",
        "govspeak",
        "s-cms-content",
    ],
)
def test_names_that_are_not_furniture_classes(name: str) -> None:
    assert not furniture_class(name)


def test_a_long_sentence_heading_among_its_paragraphs_is_a_heading() -> None:
    lesson = (
        "Lesson 2: When it comes to federal IT, it is easiest to test an idea inside the "
        "boundary of a system that is already authorized."
    )
    deck = (
        "The harbour plan was approved after a long debate, and the works start next spring "
        "with the dredging of the north quay."
    )
    page = (
        f"<html><body><article><h1>Harbour plan approved</h1><div class='deck'><h2>{deck}</h2>"
        f"</div><div class='body'><p>{PROSE} The harbour will be dredged next spring.</p>"
        f"<h3>Lesson 1</h3><p>{PROSE} Ferries will run every twenty minutes.</p>"
        f"<h3>{lesson}</h3><p>{PROSE} The works will cost twelve million pounds.</p>"
        "</div></article></body></html>"
    )
    document = parse_html(page, Path("harbour.html"))
    titles = [s.title for s in document.all_sections()]
    # The deck, a sentence set as a heading before the first paragraph, is the publisher's
    # summary: neither a section nor the article's text (digest.sources.clutter, #20).
    assert deck not in titles and deck not in document.text
    assert titles == [None, "Lesson 1", lesson]


# --- item 4, inline --------------------------------------------------------------------------


def test_run_in_headings_in_html() -> None:
    page = (
        "<html><body><article><h1>Task framework</h1>"
        f"<p>{PROSE} The framework runs tasks for every team in the company.</p>"
        "<h2>Features</h2>"
        "<p><b>Task scheduling</b><br>Clients can schedule tasks to run at a set time.</p>"
        "<p><strong>Task gating:<br></strong> Tasks can be paused until a suitable time.</p>"
        "<p><b>New data on colleges.</b><br>For the first time the public can see it.</p>"
        "</article></body></html>"
    )
    document = parse_html(page, Path("atf.html"))
    features = document.sections[1]
    assert features.title == "Features"
    assert [(s.title, s.level) for s in features.sections] == [
        ("Task scheduling", 3),
        ("Task gating", 3),
    ]
    assert features.sections[0].paragraphs == ("Clients can schedule tasks to run at a set time.",)
    # A bold first sentence is the paragraph's first sentence, not a heading.
    assert features.sections[1].paragraphs[-1].startswith("New data on colleges. For the")


def test_run_in_headings_in_markdown() -> None:
    text = (
        "## Features\n\n**Task scheduling**\nClients can schedule tasks to run at a set time.\n\n"
        "- **Task gating:**  \n  Tasks can be paused until a suitable time.\n\n"
        "**Bold** words can start a sentence too.\n"
    )
    document = parse_markdown(text, Path("atf.md"))
    (features,) = document.sections
    assert [(s.title, s.level) for s in features.sections] == [
        ("Task scheduling", 3),
        ("Task gating", 3),
    ]
    assert features.sections[1].paragraphs == (
        "Tasks can be paused until a suitable time.",
        "Bold words can start a sentence too.",
    )


@pytest.mark.parametrize(
    ("bold", "heading"),
    [
        ("Task scheduling", "Task scheduling"),
        ("Features:", "Features"),
        ("New, comprehensive data on colleges.", None),  # a sentence
        ("Do you know JavaScript?", None),
        ("one two three four five six seven eight nine ten eleven twelve thirteen", None),
        ("2024", None),
    ],
)
def test_run_in_heading(bold: str, heading: str | None) -> None:
    assert run_in_heading(bold) == heading


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("Apply now. Three important reasons:", "Apply now."),
        ("Apply now.\n\nHere is what we learned:", "Apply now."),
        ("We tested it. It held:\n\nThe list follows:", "We tested it."),
        ("Three important reasons:", "Three important reasons."),  # nothing else: no colon
        ("The ratio is 3:2 in most towns.", "The ratio is 3:2 in most towns."),
        ("He said: “we will come back.”", "He said: “we will come back.”"),
    ],
)
def test_without_trailing_lead_in(text: str, cleaned: str) -> None:
    assert without_trailing_lead_in(text) == cleaned


def test_a_model_summary_never_ends_on_a_colon() -> None:
    # A model's output is cleaned as the extractive engine's is.
    assert _clean("The fund grew. It has two aims:", "section") == "The fund grew."


def test_the_extractive_engine_never_picks_a_lead_in() -> None:
    sentences = [
        "The harbour fund pays for the new quay, the dredging and the ferries of the island.",
        "The harbour fund and the new quay matter to the island for three important reasons:",
        "The quay is too short for the ferries that now serve the island every day.",
        "The channel silts up every winter and must be dredged to keep the ferries running.",
        "The council will borrow the rest of the money for the harbour over twenty years.",
    ]
    chosen = select_sentences(sentences, BUDGETS["article"], WEIGHTS["article"])
    assert chosen and 1 not in chosen  # it was [0, 1]: a summary ending "…three reasons:"
    summary = ExtractiveSummariser().summarise_one(" ".join(sentences), kind="article")
    assert not dangling_lead_in(summary)


@pytest.mark.parametrize(
    ("heading", "shown"),
    [
        ("Details", "Details:"),
        ("What is MyUSA?", "What is MyUSA?"),
        ("WHAT THEY'RE SAYING:", "WHAT THEY'RE SAYING:"),
        ("Get a content strategist. Trust them.", "Get a content strategist. Trust them."),
        ("Ever onward!", "Ever onward!"),
        (
            "You’re agile now, but nothing has changed...",
            "You’re agile now, but nothing has changed...",
        ),
        ("Is it “done?”", "Is it “done?”"),
    ],
)
def test_label(heading: str, shown: str) -> None:
    assert label(heading) == shown


def test_one_punctuation_mark_after_a_label_in_every_format() -> None:
    from digest.email import build_message
    from digest.model import ArticleSummary

    sections = tuple(
        SectionSummary(None, title, f"Summary {i} of the section, in a sentence.", 10)
        for i, title in enumerate(["WHAT THEY'RE SAYING:", "What is MyUSA?", "Details"])
    )
    article = ArticleSummary("a.md", "A", "The summary.", "The TL;DR.", 30, sections)
    digest = Digest(dt.date(2026, 1, 1), "extractive", None, (article,))
    message = build_message(digest, sender="digest@example.org", max_html_bytes=10**9)
    text, page = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and page is not None
    for rendered in (render_markdown(digest), text.get_content(), page.get_content()):
        assert "SAYING::" not in rendered and "SAYING&#39;::" not in rendered
        assert "MyUSA?:" not in rendered
        assert "Details:" in rendered
