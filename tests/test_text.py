"""Sentence splitting on real-world text, hard length bounds, and invisible characters."""

from __future__ import annotations

import json
import re

import pytest
from conftest import shared_path

from digest.text import (
    CUT_MARK,
    bound_text,
    break_long_paragraphs,
    join_sentences,
    normalise_space,
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
    from digest.summary_tree import _clean

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


# --- basics and the cutting of very long paragraphs (#10) ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First one. Second one!\n\nThird para? Yes.",
         ["First one.", "Second one!", "Third para?", "Yes."]),
        # A paragraph break ends a sentence even without a stop; line breaks inside do not.
        ("No stop here\n \nNext  line\ncontinues.", ["No stop here", "Next line continues."]),
        ("Dr. Smith met Mr. Jones in the U.S. today. They talked.",
         ["Dr. Smith met Mr. Jones in the U.S. today.", "They talked."]),
        ("  \n\n \t ", []),
        ("", []),
    ],
)  # fmt: skip
def test_split_sentences_basics(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_of_a_paragraph_too_long_for_pysbd_in_one_piece() -> None:
    sentence = "The council approved the harbour budget after a long debate. "
    text = sentence * 200  # 12,400 characters in one paragraph
    assert split_sentences(text) == [sentence.strip()] * 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  a \n\t b  ", "a b"), ("a\u00a0\u00a0b", "a b"), ("", ""), ("one", "one")],
)
def test_normalise_space(text: str, expected: str) -> None:
    assert normalise_space(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ""),
        ("", ""),
        ("Plain title", "Plain title"),
        # Header injection and terminal escapes: every control and line separator is a space.
        ("a\r\nBcc: x\x1b[31m\u2028z\x85 ", "a Bcc: x [31m z"),
        ("tab\there\x00and\x7fdel\u2029end", "tab here and del end"),
    ],
)
def test_one_line(text: str | None, expected: str) -> None:
    assert one_line(text) == expected


LONG = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu. Nu xi omicron."


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        # At the last sentence end past the halfway mark: the next piece starts a sentence.
        (LONG, 40,
         ["Alpha beta gamma. Delta epsilon zeta. ", "Eta theta iota. Kappa lambda mu. ",
          "Nu xi omicron."]),
        # "approx. ten": a stop followed by lower case is no sentence end; the last space is.
        ("approx. ten words here and more words go on. Then the next one starts here.", 40,
         ["approx. ten words here and more words ", "go on. Then the next one starts here."]),
        # Initials ("U.S.") are not sentence ends either.
        ("The U.S. Army said so and more. And then the U.K. Navy did too here.", 40,
         ["The U.S. Army said so and more. ", "And then the U.K. Navy did too here."]),
        # A closing quote stays with its sentence.
        ("The mayor spoke: \"We open now.\" Crowds then cheered for a while.", 40,
         ["The mayor spoke: \"We open now.\" ", "Crowds then cheered for a while."]),
        # No sentence end at all: the last space; no space either: a hard cut.
        ("aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk", 20,
         ["aaaa bbbb cccc dddd ", "eeee ffff gggg hhhh ", "iiii jjjj kkkk"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
        # Scripts that end sentences with 。 and use no spaces.
        ("第一句话很长很长很长。第二句话也很长很长。第三句话还是很长很长很长很长。", 16,
         ["第一句话很长很长很长。", "第二句话也很长很长。", "第三句话还是很长很长很长很长。"]),
        # Exactly at the limit: untouched.
        ("y" * 10, 10, ["y" * 10]),
    ],
)  # fmt: skip
def test_break_long_paragraphs(text: str, limit: int, expected: list[str]) -> None:
    pieces = break_long_paragraphs(text, limit).split("\n\n")
    assert pieces == expected
    assert "".join(pieces) == text  # nothing lost, nothing added
    assert all(len(p) <= limit for p in pieces)


def test_short_paragraphs_are_untouched_and_breaks_kept() -> None:
    text = "One paragraph here.\n\nAnother one.\n\nA third."
    assert break_long_paragraphs(text, 5000) == text
    # Only the long paragraph is cut; the short ones around it stay as they were.
    long = "Word " * 20 + "end."
    out = break_long_paragraphs(f"Short.\n\n{long}\n\nAlso short.", 40).split("\n\n")
    assert out[0] == "Short." and out[-1] == "Also short."
    assert "".join(out[1:-1]) == long and len(out) > 3


def test_the_default_limit_is_5000_characters() -> None:
    just_under = "a " * 2500  # 5,000 characters
    assert break_long_paragraphs(just_under) == just_under
    over = just_under + "b"
    assert break_long_paragraphs(over) != over


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        # A sentence end before the halfway mark is not used: pieces stay long.
        ("This sentence is short ok. " + "Word " * 20, 60,
         ["This sentence is short ok. Word Word Word Word Word Word ",
          "Word Word Word Word Word Word Word Word Word Word Word Word ", "Word Word "]),
        # Nor is a space before the halfway mark: a hard cut instead.
        ("a" * 25 + " " + "b" * 100, 60, ["a" * 25 + " " + "b" * 34, "b" * 60, "b" * 6]),
        # A stop followed by lower case ("approx. ten") is no place to cut.
        ("Words words words words approx. ten more words here and on and on", 40,
         ["Words words words words approx. ten ", "more words here and on and on"]),
        # Tiny limits still cut at a space when there is one.
        ("a bcd", 3, ["a ", "bcd"]),
        # Paragraphs are measured one by one: two short ones are left alone.
        ("One paragraph of thirty chars.\n\nAnother one of thirty chars ok.", 40,
         ["One paragraph of thirty chars.", "Another one of thirty chars ok."]),
    ],
)  # fmt: skip
def test_where_long_paragraphs_are_cut(text: str, limit: int, expected: list[str]) -> None:
    assert break_long_paragraphs(text, limit).split("\n\n") == expected


@pytest.mark.parametrize(
    ("rest", "starts"),
    [
        ("The", True),
        ("Xavier", True),
        ("the", False),
        ('"the', False),  # quotes and brackets before the word do not count
        ("“The", True),
        ("(and", False),
        ("iPhone", False),  # only the first letter counts
        ("42 ", True),
        ("", True),
    ],
)
def test_what_starts_a_sentence(rest: str, starts: bool) -> None:
    from digest.text import _starts_sentence

    assert _starts_sentence(rest) is starts


def test_a_remembered_split_cannot_be_changed_by_its_caller() -> None:
    text = "The first sentence is here. The second one follows it."
    first = split_sentences(text)
    first.append("Not a sentence of the text.")
    first[0] = "Changed."
    assert split_sentences(text) == ["The first sentence is here.", "The second one follows it."]
