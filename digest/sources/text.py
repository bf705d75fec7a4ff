"""Plain-text reader: a title line, heading lines and paragraphs (see digest.sectioning)."""

from __future__ import annotations

from pathlib import Path

from digest.model import Document
from digest.sectioning import outline_text, title_from_filename

#: Used when neither the text nor the file name yields a title.
FALLBACK_TITLE_WORDS = 8


def parse_text(text: str, path: Path) -> Document:
    """Read plain text; with no title line, the title comes from the file name."""
    outline = outline_text(text)
    title = outline.title or title_from_filename(path.name) or _first_words(text)
    return Document(path=path, title=title, sections=outline.sections, format="text")


def _first_words(text: str) -> str:
    words = text.split()
    head = " ".join(words[:FALLBACK_TITLE_WORDS])
    return head + ("…" if len(words) > FALLBACK_TITLE_WORDS else "")
