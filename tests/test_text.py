"""Sentence splitting, whitespace and one-line helpers, and the cutting of very long paragraphs."""

from __future__ import annotations

import pytest

from digest.text import break_long_paragraphs, normalise_space, one_line, split_sentences


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
def test_split_sentences(text: str, expected: list[str]) -> None:
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
