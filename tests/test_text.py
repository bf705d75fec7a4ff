"""Sentence splitting on real-world text, hard length bounds, and invisible characters."""

from __future__ import annotations

import json
import re

import pytest
from conftest import shared_path

from digest.text import (
    CUT_MARK,
    bound_text,
    join_sentences,
    one_line,
    split_sentences,
    strip_invisible,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BBC: a quoted paragraph ends with its closing quote; the quote stays with it.
        (
            'He said the decision "will be as in the past weeks." Economists point out that '
            "a weaker dollar helps.",
            [
                'He said the decision "will be as in the past weeks."',
                "Economists point out that a weaker dollar helps.",
            ],
        ),
        (
            "“We will deliver – and deliver quickly.” Talks are continuing on finance.",
            ["“We will deliver – and deliver quickly.”", "Talks are continuing on finance."],
        ),
        # 18F: a domain name is not a sentence end.
        (
            "That is why we use HTTPS for every .gov website we make. It protects visitors.",
            [
                "That is why we use HTTPS for every .gov website we make.",
                "It protects visitors.",
            ],
        ),
        (
            "Visit example.com today. Mr. Smith agreed.",
            ["Visit example.com today.", "Mr. Smith agreed."],
        ),
        ("It costs approx. ten dollars. Yes.", ["It costs approx. ten dollars.", "Yes."]),
        # Scraped news: the space after a sentence end was lost with the paragraph break.
        (
            "He was vilified by the scientific community.Dr Venter has certainly made progress.",
            [
                "He was vilified by the scientific community.",
                "Dr Venter has certainly made progress.",
            ],
        ),
        ("The U.S. Army said so.", ["The U.S. Army said so."]),
        ("iPhone sales rose. iPad sales fell.", ["iPhone sales rose.", "iPad sales fell."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_no_sentence_starts_with_a_stray_quote_on_bbc_text() -> None:
    path = shared_path("data", "bbc-news-summary", "pairs.jsonl")
    stray = re.compile(r"^[\"”’']+(\s|$)")
    bad = []
    with path.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i == 300:
                break
            bad += [s for s in split_sentences(json.loads(line)["article"]) if stray.match(s)]
    assert bad == []


def test_unpunctuated_lead_is_not_glued_to_the_next_sentence() -> None:
    sentences = split_sentences("Ad sales boost Time Warner profit\n\nQuarterly profits jumped.")
    assert sentences == ["Ad sales boost Time Warner profit", "Quarterly profits jumped."]
    assert (
        join_sentences(sentences) == "Ad sales boost Time Warner profit. Quarterly profits jumped."
    )
    assert join_sentences(["It grew.[66]", "Then more.[citation needed]", "Last"]) == (
        "It grew.[66] Then more.[citation needed] Last"
    )
    assert join_sentences(['"Is it over?"', "Not yet"]) == '"Is it over?" Not yet'


@pytest.mark.parametrize(
    "text",
    [
        "a" * 3_000_000,  # a 3 MB paragraph without a space
        "Start of a sentence. " + "b" * 500_000 + " and the rest.",  # one 500,000-character word
        " ".join(["word"] * 200_000),  # 200,000 words, no punctuation
    ],
    ids=["3MB-no-space", "500k-word", "200k-words"],
)
@pytest.mark.parametrize(("words", "chars"), [(60, 420), (300, 2200)])
def test_bound_text_is_hard(text: str, words: int, chars: int) -> None:
    bounded = bound_text(text, words, chars)
    assert len(bounded) <= chars
    assert len(bounded.split()) <= words + 1  # the mark is a "word" of its own
    assert bounded.endswith(CUT_MARK)


def test_bound_text_cuts_at_a_sentence_then_a_word() -> None:
    text = "One two three. Four five six. Seven eight nine ten."
    assert bound_text(text, 100, 1000) == text  # within bounds: unchanged
    assert bound_text(text, 8, 1000) == "One two three. Four five six." + CUT_MARK
    assert bound_text("alpha beta gamma delta epsilon", 3, 1000) == "alpha beta gamma" + CUT_MARK
    assert bound_text("Start. " + "b" * 5000, 100, 200) == "Start." + CUT_MARK


def test_invisible_characters_are_removed() -> None:
    spoof = "Invoice \u202egpj.exe\u202c \u2066paid\u2069\u200d\u200b\ufeff"
    assert strip_invisible(spoof) == "Invoice gpj.exe paid"
    assert one_line(spoof) == "Invoice gpj.exe paid"


def test_extractive_summary_keeps_an_unpunctuated_lead_apart() -> None:
    from digest.engines.extractive import ExtractiveSummariser

    facts = " ".join(
        f"Analysts noted that item {i} of the TimeWarner results was in line with forecasts."
        for i in range(12)
    )
    text = (
        "Ad sales boost Time Warner profit\n\n"
        "Quarterly profits at Time Warner jumped 76% to $1.13bn, as ad sales boosted profit.\n\n"
        f"{facts}"
    )
    summary = ExtractiveSummariser().summarise([text], kind="article")[0]
    assert summary.startswith("Ad sales boost Time Warner profit. Quarterly profits")


def test_pipeline_summaries_keep_unpunctuated_paragraphs_apart() -> None:
    from digest.pipeline import _clean

    quoted = "Ad sales boost Time Warner profit\n\nQuarterly profits jumped 76%."
    cleaned = _clean(quoted, "article")
    # Paragraphs stay paragraphs (for JSON and the HTML email); on one line they read apart.
    assert cleaned == "Ad sales boost Time Warner profit.\n\nQuarterly profits jumped 76%."
    assert one_line(cleaned) == "Ad sales boost Time Warner profit. Quarterly profits jumped 76%."


def test_run_on_sentence_after_an_unbalanced_quote_is_split() -> None:
    # pysbd keeps everything after an unbalanced quote ('I'm ...') together: BBC text has
    # 130- and 335-word "sentences". Long ones are split again at plain sentence ends,
    # abbreviations aside.
    padding = " ".join(["fairly"] * 30)
    text = (
        "The chief said: \"It would be quite wrong in my view for an officer to say, 'I'm truly "
        "sorry'. He said that officers must make sure that people who wanted a change could "
        f'benefit, {padding} from it. "My view is that I have a duty to help, " he said. '
        "However, more work is needed, said Mr. Smith of the U.S. Army on Jan. 5 in the capital."
    )
    sentences = split_sentences(text)
    assert [len(s.split()) for s in sentences] == [19, 47, 13, 18]
    assert sentences[0].endswith("'I'm truly sorry'.")
    assert sentences[3].endswith("said Mr. Smith of the U.S. Army on Jan. 5 in the capital.")


def test_few_run_on_sentences_in_bbc_text() -> None:
    path = shared_path("data", "bbc-news-summary", "pairs.jsonl")
    lengths = []
    with path.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i == 400:
                break
            lengths += [len(s.split()) for s in split_sentences(json.loads(line)["article"])]
    # pysbd alone leaves 5 sentences over 60 words in these 400 articles (282 in all 2,225);
    # with the run-on split, 1 (31 in all: lists with no full stop at all).
    assert sum(n > 60 for n in lengths) <= 2
