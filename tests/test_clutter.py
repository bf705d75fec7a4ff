"""Page clutter kept out of the digest: hidden widgets, galleries, hover cards, citation
markers, datelines and bylines, navigation, notices and promotions, feed hosts' footers; and
pages laid out in tables read as the article they hold."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import shared_path
from lxml import html as lxml_html

from digest.model import Document
from digest.pipeline import Options, make_digest
from digest.render import render_json, render_markdown
from digest.sources.clutter import Block, drop_clutter, prune_page
from digest.sources.html import parse_html
from digest.sources.web import WebOptions

PROSE = (
    "The council met on Tuesday and agreed the new transport plan after a long debate. "
    "Members said the costs would be shared between the city and the region."
)
MORE = (
    "Work on the first tram line starts in the spring and should take three years. "
    "The bus network will be redrawn around the new line once it opens."
)


def _text(document: Document) -> str:
    return document.full_text


def _page(body: str, title: str = "Transport plan agreed") -> str:
    return f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"


def _digest(tmp_path: Path, name: str, html: str) -> tuple[str, str]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(html, encoding="utf-8")
    digest = make_digest([folder], Options(engine="extractive"))
    return render_markdown(digest), render_json(digest)


# -- in the page, before extraction ------------------------------------------------------------


def _pruned(body: str) -> str:
    root = lxml_html.fromstring(f"<html><body>{body}</body></html>")
    prune_page(root)
    return " ".join(" ".join(root.itertext()).split()).replace(" .", ".")


@pytest.mark.parametrize(
    "hidden",
    [
        '<div aria-hidden="true">This is a modal window.</div>',
        '<div role="dialog"><p>This is a modal window.</p></div>',
        '<ul role="menu"><li role="menuitemcheckbox">subtitles off, selected</li></ul>',
        '<span class="sr-only">Opens in a new window</span>',
        "<p hidden>Hidden text.</p>",
        '<p style="display: none">Hidden text.</p>',
        "<figure><img src=a.jpg><figcaption>Apple's 16-inch MacBook Pro</figcaption></figure>",
    ],
)
def test_what_the_page_hides_or_captions_is_removed(hidden: str) -> None:
    assert _pruned(f"<p>{PROSE}</p>{hidden}<p>{MORE}</p>") == f"{PROSE} {MORE}"


def test_a_class_that_merely_ends_in_hidden_keeps_its_text() -> None:
    # Drupal wraps an article's body in "field-label-hidden" (the field's label is hidden).
    body = f'<div class="field field-label-hidden"><p>{PROSE}</p></div>'
    assert _pruned(body) == PROSE


def test_a_hidden_article_that_a_script_would_show_is_kept() -> None:
    body = f'<div class="hidden"><p>{PROSE}</p><p>{MORE}</p><p>{PROSE}</p></div><p>Menu</p>'
    assert PROSE in _pruned(body)


def test_citation_markers_set_as_superscripts_are_removed() -> None:
    body = (
        '<p>Mozilla was founded in 1998.<sup><a href="#cite-1">[1]</a></sup> It makes'
        " Firefox.<sup><i>[<a href='/wiki/Citation_needed'>citation needed</a>]</i></sup></p>"
    )
    assert _pruned(body) == "Mozilla was founded in 1998. It makes Firefox."


def test_a_hover_card_inside_a_paragraph_is_removed() -> None:
    body = (
        '<p>Gov. <a href="/people/ann-lee">Ann Lee</a><span class="card"><img src="a.jpg">'
        '<a href="/people/ann-lee">Ann Marie Lee</a><a href="/news/1">Governor opens bridge</a>'
        '<a href="/news/2">Governor vetoes budget</a></span> (R) is defending the plan.</p>'
    )
    assert _pruned(body) == "Gov. Ann Lee (R) is defending the plan."


def test_links_in_a_sentence_are_not_a_hover_card() -> None:
    body = '<p>Read <span>the <a href="/a">report</a> and the <a href="/b">reply</a></span>.</p>'
    assert _pruned(body) == "Read the report and the reply."


def test_the_slides_of_a_gallery_are_removed_and_a_numbered_list_is_not() -> None:
    slides = "".join(
        f'<li><h2><span class="counter">{n}/50</span> Slide {n}</h2><p>{MORE}</p></li>'
        for n in range(1, 6)
    )
    steps = "".join(f"<h3>{n}. Step {n}</h3><p>{PROSE}</p>" for n in range(1, 4))
    text = _pruned(f"{steps}<ul class='legends'>{slides}</ul>")
    assert "Slide" not in text and MORE not in text
    assert text.count(PROSE) == 3 and "3. Step 3" in text


# -- in the main text ----------------------------------------------------------------------------


def test_labels_at_a_sections_edges_go_and_labels_between_prose_stay() -> None:
    blocks = [
        Block("item", "24 July 2015"),
        Block("item", "From the section US & Canada"),
        Block("paragraph", "By Jane Smith"),
        Block("paragraph", PROSE),
        Block("paragraph", "WHAT THEY SAID"),
        Block("paragraph", MORE),
        Block("paragraph", "Getty Images"),
        Block("heading", "Costs", 2),
        Block("paragraph", "Photo: Reuters"),
        Block("paragraph", PROSE),
        Block("item", "Trams every ten minutes"),
        Block("item", "Buses every five"),
    ]
    assert [b.text for b in drop_clutter(blocks, None)] == [
        PROSE,
        "WHAT THEY SAID",
        MORE,
        "Costs",
        PROSE,
        # After the article's first prose a list is the article's, however short its items.
        "Trams every ten minutes",
        "Buses every five",
    ]


@pytest.mark.parametrize(
    "notice",
    [
        "The post Transport plan agreed appeared first on City News.",
        "Transport plan agreed was originally published in City News on Medium, where people"
        " are continuing the conversation by highlighting and responding to this story.",
        "This story is currently available to Medium Members.",
        "submitted by /u/someone to r/news [link] [329 comments]",
        "If you buy something through this post, City News may get a share of the sale.",
        "Thanks for reading City News! Subscribe for free to receive new posts.",
    ],
)
def test_notices_about_the_article_are_dropped(notice: str) -> None:
    blocks = [Block("paragraph", PROSE), Block("paragraph", notice), Block("paragraph", MORE)]
    assert [b.text for b in drop_clutter(blocks, None)] == [PROSE, MORE]


def test_citation_markers_left_in_the_text_are_removed() -> None:
    (block,) = drop_clutter(
        [Block("paragraph", "It makes Firefox.[2][13] [citation needed]")], None
    )
    assert block.text == "It makes Firefox."


@pytest.mark.parametrize(
    "item", ['^ "About the Mozilla Corporation".', '^ a b "About the Mozilla Corporation".']
)
def test_a_reference_lists_back_links_are_removed(item: str) -> None:
    (block,) = drop_clutter([Block("paragraph", PROSE), Block("item", item)], None)[1:]
    assert block.text == '"About the Mozilla Corporation".'
    # A caret inside a sentence is the sentence's own.
    (block,) = drop_clutter([Block("paragraph", "It grows as x ^ 2 does.")], None)
    assert block.text == "It grows as x ^ 2 does."


def test_navigation_and_promotions_go_by_their_links() -> None:
    html = _page(
        f"<h1>Transport plan agreed</h1><p>{PROSE}</p><p>{MORE}</p>"
        '<p>Filed under: <a href="/t/transport">Transport</a>, <a href="/t/city">City'
        "</a>, <a href='/t/council'>Council</a></p>"
        f"<p>{PROSE} {MORE}</p>"
        '<p><strong>Start your day with the Morning Brief. <a href="/nl">Sign up</a> for our'
        " free newsletter.</strong></p>"
        '<ul><li><a href="/a">Trams return to the city after sixty years of buses</a></li>'
        '<li><a href="/b">What the new line means for commuters in the north</a></li></ul>'
        f"<p>{MORE} {PROSE}</p>"
    )
    document = parse_html(html, Path("plan.html"))
    text = _text(document)
    assert "Filed under" not in text and "Morning Brief" not in text
    # A list of links stays in the text, never summarised (verbatim).
    assert [s.verbatim for s in document.all_sections() if s.verbatim] == [
        (
            "Trams return to the city after sixty years of buses",
            "What the new line means for commuters in the north",
        )
    ]


# -- tables --------------------------------------------------------------------------------------


def test_a_page_laid_out_in_a_table_is_read_and_summarised(tmp_path: Path) -> None:
    # The LWN shape: navigation in one cell, the article (headings and paragraphs) in another.
    article = (
        f"<h1>Transport plan agreed</h1><p>{PROSE}</p><p>{MORE}</p>"
        f"<h2>Costs</h2><p>{MORE} {PROSE}</p><p>{PROSE}</p>"
    )
    html = (
        "<html><head><title>Transport plan agreed</title></head><body><table><tr>"
        '<td class="nav"><a href="/">Front</a><br><a href="/weekly">Weekly edition</a></td>'
        f"<td>{article}</td></tr></table>"
        "<table><tr><th>Line</th><th>Opens</th></tr><tr><td>Tram 1</td><td>2029</td></tr>"
        "</table></body></html>"
    )
    document = parse_html(html, Path("lwn.html"))
    assert [s.title for s in document.all_sections()] == [None, "Costs"]
    assert PROSE in document.sections[0].text and "Front" not in _text(document)
    # A data table stays verbatim.
    assert document.sections[-1].verbatim == ("Line | Opens", "Tram 1 | 2029")
    markdown, _ = _digest(tmp_path, "lwn.html", html)
    assert "council met on Tuesday" in markdown and "Tram 1" not in markdown


def test_a_data_table_with_paragraph_wrapped_cells_stays_data() -> None:
    rows = "".join(
        f"<tr><td><p>{state}</p></td><td><p>Pick up tasks that are {state}.</p></td></tr>"
        for state in ("new", "enqueued", "claimed", "started")
    )
    html = _page(f"<p>{PROSE}</p><table>{rows}</table><p>{MORE}</p>")
    document = parse_html(html, Path("t.html"))
    assert "new | Pick up tasks that are new." in document.sections[0].verbatim
    assert "Pick up tasks" not in " ".join(document.sections[0].paragraphs)


# -- the examples from the shared pages ---------------------------------------------------------


def _readability(name: str, tmp_path: Path) -> tuple[str, str]:
    page = shared_path("data", "html-readability", name, "source.html")
    return _digest(tmp_path, f"{name}.html", page.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "clutter", "kept"),
    [
        ("bbc-1", ["24 July 2015", "From the section", "941 comments"], "biggest frustration"),
        ("daringfireball-1", ["By John Gruber", "Portrait by"], "Server Software"),
        (
            "bug-1255978",
            ["United goin down", "1/50", "GETTY IMAGES", "modal window", "subtitles off"],
            "lose money",
        ),
        ("wikipedia", ["\\[2\\]", "\\[5\\]", "citation needed"], "Mozilla"),
        ("engadget", ["Uninspiring", "Poor Uninspiring"], "Xbox One X"),
    ],
)
def test_the_readability_pages_lose_their_clutter(
    name: str, clutter: list[str], kept: str, tmp_path: Path
) -> None:
    markdown, data = _readability(name, tmp_path)
    for phrase in clutter:
        assert phrase not in markdown, phrase
        assert phrase.replace("\\", "") not in json.dumps(json.loads(data)["documents"])
    assert kept in markdown


def _extraction_page(prefix: str) -> str:
    root = shared_path("data", "article-extraction", "html")
    (path,) = root.glob(f"{prefix}*.html.gz")
    return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


@pytest.mark.parametrize(
    ("prefix", "clutter"),
    [
        ("156770d6", "Kristi Lynn Noem"),  # a hover card glued into the first sentence
        ("6ebac05f", "Ilhan OmarIlhan Omar"),
        ("21486419", "Filed under"),
        ("287e4d9f", "IGN may get a share of the sale"),
        ("55bb6340", "Start your day with the Opening Bell"),
        ("30b771a4", "comments"),
    ],
)
def test_the_benchmark_pages_lose_their_clutter(prefix: str, clutter: str, tmp_path: Path) -> None:
    markdown, _ = _digest(tmp_path, f"{prefix}.html", _extraction_page(prefix))
    entry = markdown.split("\n---\n", 1)[-1]  # the article, not the digest's own header
    assert clutter not in entry


def test_feed_hosts_footers_never_reach_the_digest(tmp_path: Path) -> None:
    feeds = [
        shared_path("data", "feeds", "content-encoded.rss"),
        shared_path("data", "feeds", "reddit.rss"),
    ]
    options = Options(engine="extractive", web=WebOptions(fetch_articles=False))
    digest = make_digest(feeds, options)
    markdown = render_markdown(digest)
    for footer in ("originally published", "continuing the conversation", "submitted by"):
        assert footer not in markdown
    assert digest.articles, "the feeds' entries with text of their own are still there"


def test_a_widget_inside_a_heading_leaves_the_heading_its_words() -> None:
    body = (
        '<h4>Review score <figure class="rating-key"><span>Poor</span><span>Good</span>'
        f"<span>Excellent</span></figure></h4><p>{PROSE}</p>"
    )
    assert _pruned(body) == f"Review score {PROSE}"


def test_a_page_that_is_only_a_table_is_read_as_its_rows() -> None:
    # Nothing lost: a results page whose text is all one table still gives its text.
    rows = "".join(
        f"<tr><td>Driver {n}</td><td>{n * 7} points after the race on Sunday</td></tr>"
        for n in range(12)
    )
    document = parse_html(_page(f"<table>{rows}</table>", "Standings"), Path("t.html"))
    assert document.sections[0].paragraphs[1] == "Driver 1 | 7 points after the race on Sunday"
