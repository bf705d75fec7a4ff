"""Sentence splitting and word counting shared by the readers and the engines."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text exactly as written, so quoted sentences stay faithful.
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, paragraph by paragraph (a paragraph break always ends one)."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", break_long_paragraphs(text)):
        paragraph = _SPACE.sub(" ", paragraph).strip()
        if paragraph:
            sentences.extend(s.strip() for s in _segmenter().segment(paragraph) if s.strip())
    return sentences


def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


# C0/C1 controls (CR, LF and ESC included) and Unicode line/paragraph separators: nothing in a
# header or a one-line field may contain them, or a title could start a new header line (or,
# read raw in a terminal, recolour or rewrite the screen).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str | None) -> str:
    """Text made safe for a header or a one-line field: no controls, no line breaks."""
    if not text:
        return ""
    return normalise_space(CONTROL_CHARACTERS.sub(" ", text))


# A probable sentence end: a word of two or more letters, then . ! or ? (and any closing quote
# or bracket), then space; requiring two letters keeps "U.S." and initials from matching.
_LIKELY_END = re.compile(r"(?<=[^\W\d_]{2}[.!?])[\"'”’)\]]*\s+|(?<=[。！？])")


def _starts_sentence(rest: str) -> bool:
    # Lower case after the stop ("approx. ten") means the sentence goes on; capitals, digits
    # and scripts without case do not.
    return not rest.lstrip("\"'“‘([")[:1].islower()


def _cut_point(paragraph: str, limit: int) -> int:
    # The last probable sentence end in the first `limit` characters, past the halfway mark so
    # pieces stay long; failing that the last space; failing that a hard cut.
    ends = [
        m.end()
        for m in _LIKELY_END.finditer(paragraph, limit // 2, limit)
        if _starts_sentence(paragraph[m.end() : m.end() + 3])
    ]
    if ends:
        return ends[-1]
    space = paragraph.rfind(" ", limit // 2, limit)
    return space + 1 if space > 0 else limit


def break_long_paragraphs(text: str, limit: int = 5000) -> str:
    """`text` with every paragraph longer than `limit` characters broken at probable sentence ends.

    pysbd's time grows with the square of a paragraph's length (86,000 characters in one
    paragraph take 6 s, 400,000 over two minutes), so very long paragraphs are cut into pieces
    first; a paragraph under `limit` is untouched, so ordinary prose splits exactly as before.
    """
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        while len(paragraph) > limit:
            # At least one character, so the loop always advances (the pragma keeps mutation
            # testing from making it loop forever, filling memory).
            cut = max(1, _cut_point(paragraph, limit))  # pragma: no mutate
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:]
        pieces.append(paragraph)
    return "\n\n".join(pieces)
