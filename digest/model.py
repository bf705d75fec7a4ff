"""Frozen dataclasses that flow between the stages: documents in, a digest out."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Section:
    """A run of paragraphs under one heading (or none, for text before the first heading)."""

    title: str | None
    paragraphs: tuple[str, ...]
    kicker: str | None = None
    level: int = 0

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass(frozen=True)
class Document:
    """One input file, read and split into sections."""

    path: Path
    title: str
    sections: tuple[Section, ...]
    format: str = "text"
    date: str | None = None
    metadata: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: Where a feed entry or web page lives (http/https only); None for local files.
    link: str | None = None
    #: The title of the feed an entry came from; the digest groups articles by it.
    feed: str | None = None
    author: str | None = None
    #: How the digest names a document that is not a local file (a URL, or feed and entry id).
    origin: str | None = None
    #: Shown with the article, e.g. why it was summarised from a feed's teaser.
    note: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.paragraphs)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sections)


@dataclass(frozen=True)
class SectionSummary:
    kicker: str | None
    title: str | None
    summary: str
    words: int
    quoted: bool = False


@dataclass(frozen=True)
class ArticleSummary:
    path: str
    title: str
    summary: str
    tldr: str
    words: int
    sections: tuple[SectionSummary, ...]
    date: str | None = None
    format: str = "text"
    link: str | None = None
    feed: str | None = None
    author: str | None = None
    note: str | None = None

    @property
    def reading_minutes(self) -> int:
        # 230 words a minute is the usual adult silent-reading figure; never show "0 min".
        return max(1, round(self.words / 230))


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Unreadable:
    """A format no file of which could be read in this installation (a broken dependency)."""

    format: str
    files: int
    reason: str


@dataclass(frozen=True)
class Digest:
    date: _dt.date
    engine: str
    model: str | None
    articles: tuple[ArticleSummary, ...]
    skipped: tuple[Skipped, ...] = ()
    notices: tuple[str, ...] = ()
    backend: str | None = None
    #: Formats that could not be read at all; their files are counted here, not skipped one by one.
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def grouped(self) -> bool:
        """Whether any article came from a feed: the digest is then grouped by feed."""
        return any(a.feed for a in self.articles)
