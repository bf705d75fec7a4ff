"""No sentence twice in one article's entry (TL;DR, summary, bullets), in every output format."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from conftest import ROOT, shared_path

from digest.email import build_message
from digest.model import ArticleSummary, Digest
from digest.pipeline import Options, make_digest
from digest.render import digest_as_dict, render_markdown
from digest.repeats import Said
from digest.text import split_sentences

SEED = ROOT / "seeds"
_WORD = re.compile(r"[^\W_]+")


def norm(text: str) -> str:
    """Lower-case words only, space-separated: the same sentence whatever its escaping,
    wrapping or HTML."""
    return " ".join(w.lower() for w in _WORD.findall(text))


def entry_sentences(document: dict[str, object]) -> list[str]:
    """The sentences of one JSON document entry, in reading order."""
    parts = [str(document["tldr"]), str(document["summary"])]
    parts += [str(s["summary"]) for s in document["sections"]]  # type: ignore[attr-defined]
    return [s for part in parts for s in split_sentences(part) if norm(s)]


def assert_no_repeats(document: dict[str, object]) -> list[str]:
    """Independent of digest.repeats: no sentence equal to, or contained in, another."""
    sentences = [norm(s) for s in entry_sentences(document)]
    for i, sentence in enumerate(sentences):
        for j, other in enumerate(sentences):
            if i == j:
                continue
            assert sentence != other, f"said twice in {document['path']}: {sentence!r}"
            if len(sentence.split()) >= 5:
                assert f" {sentence} " not in f" {other} ", (
                    f"{sentence!r} is repeated inside {other!r} in {document['path']}"
                )
    return sentences


def article_blocks(text: str, articles: tuple[ArticleSummary, ...]) -> list[str]:
    """Each article's part of a rendered digest, normalised: from its path (shown once, at
    the top of its entry) to the next article's."""
    flat = norm(text)
    starts = [flat.index(norm(a.path)) for a in articles]
    return [flat[s:e] for s, e in zip(starts, [*starts[1:], len(flat)], strict=True)]


def check_digest(digest: Digest) -> None:
    data = digest_as_dict(digest)
    per_article = [assert_no_repeats(d) for d in data["documents"]]
    message = build_message(digest, sender="digest@example.org", max_html_bytes=10**9)
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    unhtml = html.unescape(re.sub(r"<[^>]+>", " ", page.get_content()))
    for rendered in (render_markdown(digest), text.get_content(), unhtml):
        for article, block in zip(
            digest.articles, article_blocks(rendered, digest.articles), strict=True
        ):
            assert f" {block} ".count(f" {norm(article.tldr)} ") == 1
        for sentences, block in zip(
            per_article, article_blocks(rendered, digest.articles), strict=True
        ):
            # Long enough not to occur inside other words of the entry by chance.
            for sentence in (s for s in sentences if len(s.split()) >= 5):
                # At most once: nested and folded sections' summaries are in JSON only
                # (Markdown and email list those sections by title).
                assert f" {block} ".count(f" {sentence} ") <= 1, sentence


def test_seed_entry_says_each_sentence_once() -> None:
    digest = make_digest([SEED], Options(engine="extractive"))
    (article,) = digest.articles
    # The seed's first sentence is the TL;DR; it used to open the summary and the first bullet.
    assert article.tldr.startswith("The Taliban has captured Kandahar")
    assert "Taliban has captured Kandahar" not in article.summary
    assert all("Taliban has captured Kandahar" not in s.summary for s in article.sections)
    assert len(article.sections) == 6  # every section still has something new to say
    check_digest(digest)


def test_18f_posts_say_each_sentence_once() -> None:
    folder = shared_path("data", "markdown-18f")
    # One full entry per post, as read: these tests read each post's entry in the Markdown.
    options = Options(engine="extractive", merge=False, max_words=0, order="feed")
    digest = make_digest([folder], options)
    assert len(digest.articles) == 130
    check_digest(digest)
    with_bullets = [a for a in digest.articles if a.sections]
    assert len(with_bullets) > 60


def test_seq2seq_entries_say_each_sentence_once(tiny_bart: Path, tmp_path: Path) -> None:
    folder = shared_path("data", "markdown-18f")
    posts = sorted(folder.glob("*.md"))[:4]
    options = Options(
        engine="seq2seq", model=str(tiny_bart), merge=False, max_words=0, order="feed"
    )
    digest = make_digest([SEED, *posts], options)
    assert digest.engine == "seq2seq"
    check_digest(digest)


@pytest.mark.parametrize(
    ("said", "sentence", "repeats"),
    [
        (
            "The council closed the bridge on Tuesday.",
            "The council closed the bridge on Tuesday.",
            True,
        ),
        (
            "The council closed the bridge on Tuesday.",
            "the COUNCIL closed the bridge, on Tuesday!",
            True,
        ),
        # A model's near-copy: one word changed in a long sentence.
        (
            "The council voted on Tuesday to close Bridge Street to cars by next summer.",
            "The council voted on Tuesday to shut Bridge Street to cars by next summer.",
            True,
        ),
        (
            "The council voted on Tuesday to close Bridge Street to cars by next summer.",
            "The council voted on Tuesday to close Bridge Street to cars by next summer, it said.",
            True,
        ),
        ("The bridge closes.", "The bridge opens.", False),
        ("Yes.", "Yes.", True),
        ("The council met.", "...", False),
    ],
)
def test_said_tells_repeats(said: str, sentence: str, repeats: bool) -> None:
    entry = Said()
    entry.add(said)
    assert entry.repeats(sentence) is repeats


def test_say_drops_what_was_said_and_repeats_within() -> None:
    entry = Said()
    entry.add("The bridge closes in March.")
    assert entry.say("The bridge closes in March. Buses keep running. Buses keep running.") == (
        "Buses keep running."
    )
    assert entry.say("Shops fear losing trade.\n\nParking moves.") == (
        "Shops fear losing trade.\n\nParking moves."
    )
    assert entry.unsaid("Buses keep running. A new sentence.") == "A new sentence."
