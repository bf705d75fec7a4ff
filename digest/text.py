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
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = _SPACE.sub(" ", paragraph).strip()
        if paragraph:
            sentences.extend(s.strip() for s in _segmenter().segment(paragraph) if s.strip())
    return sentences


def count_words(text: str) -> int:
    return len(text.split())


def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
