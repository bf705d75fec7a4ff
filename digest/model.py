"""Frozen dataclasses that flow between the stages: documents in, a digest out."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Section:
    """A run of paragraphs under one heading (or none, for text before the first heading),
    and the sections nested under it (an h3 under an h2, a ### under a ##).

    `text` and `words` are the section's own paragraphs; `all_text` and `all_words` take in
    its whole subtree.
    """

    title: str | None
    paragraphs: tuple[str, ...]
    kicker: str | None = None
    level: int = 0
    sections: tuple[Section, ...] = ()
    #: Text kept as the page has it but never summarised: table rows (cells joined by " | ")
    #: and code blocks, after the section's paragraphs. Not in the digest or its JSON.
    verbatim: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)

    def walk(self) -> Iterator[Section]:
        """This section, then every section under it, in document order."""
        yield self
        for child in self.sections:
            yield from child.walk()

    @property
    def all_text(self) -> str:
        return "\n\n".join(s.text for s in self.walk() if s.paragraphs)

    @property
    def all_words(self) -> int:
        return sum(s.words for s in self.walk())


@dataclass(frozen=True)
class Document:
    """One input file, read and split into sections."""

    path: Path
    title: str
    sections: tuple[Section, ...]  # the top level; nested sections hang under them
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

    def all_sections(self) -> Iterator[Section]:
        """Every section at every depth, in document order (the flat view of the tree)."""
        for section in self.sections:
            yield from section.walk()

    @property
    def text(self) -> str:
        """The prose: every section's paragraphs, in order (what is summarised)."""
        return "\n\n".join(s.text for s in self.all_sections() if s.paragraphs)

    @property
    def full_text(self) -> str:
        """Everything the reader kept, in reading order: the title, then each section's title,
        paragraphs and verbatim text (tables, code). What an extraction benchmark scores."""
        parts = [self.title]
        for section in self.all_sections():
            parts.extend([section.title] if section.title else [])
            parts.extend(section.paragraphs + section.verbatim)
        return "\n\n".join(parts)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.all_sections())


@dataclass(frozen=True)
class SectionSummary:
    """One section's summary (over its whole subtree) and its child sections' summaries.

    `words` counts the subtree. `folded` marks a top-level section the digest lists only by
    title ("Also covers: …") to keep an article's entry short.
    """

    kicker: str | None
    title: str | None
    summary: str
    words: int
    quoted: bool = False
    level: int = 0
    sections: tuple[SectionSummary, ...] = ()
    folded: bool = False

    def walk(self) -> Iterator[SectionSummary]:
        yield self
        for child in self.sections:
            yield from child.walk()


@dataclass(frozen=True)
class GuardNote:
    """What the faithfulness guard did with one sentence a model wrote (digest.guard)."""

    #: Which text it was in: "summary", "tldr" or "section".
    part: str
    sentence: str
    #: "replaced" (by `replacement`, a source sentence), "dropped" or "flagged" (kept).
    action: str
    #: Why it is not supported: "number 89th not in the source".
    reason: str
    replacement: str | None = None
    #: The section's title, for a section bullet's sentence.
    section: str | None = None
    #: The model-based checker's probability that the source supports it, when one ran.
    model_score: float | None = None


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
    #: Sections beyond the per-document cap, left out of `sections` (their text is still in
    #: the article summary and their ancestors' summaries).
    omitted_sections: int = 0
    #: What the faithfulness guard replaced, dropped or flagged in this entry.
    guard: tuple[GuardNote, ...] = ()

    @property
    def flagged(self) -> tuple[str, ...]:
        """The sentences kept but marked as not supported by the source (--guard flag)."""
        return tuple(n.sentence for n in self.guard if n.action == "flagged")

    @property
    def shown_sections(self) -> tuple[SectionSummary, ...]:
        """The top-level sections the digest shows as bullets (at most 12)."""
        return tuple(s for s in self.sections if not s.folded)

    @property
    def folded_sections(self) -> tuple[SectionSummary, ...]:
        """The top-level sections listed by title only, under "Also covers"."""
        return tuple(s for s in self.sections if s.folded)

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
    #: Where the summaries were made: "local" (this process) or "ray" (a Ray cluster).
    executor: str = "local"
    #: For the operator, never rendered: what the run had to say about itself and how to fix
    #: it (auto's fallback to extractive and why). The CLI logs these on stderr; `notices`
    #: are the short lines readers see.
    diagnostics: tuple[str, ...] = ()
    #: The faithfulness guard asked for ("fix", "flag" or "off"), and whether it checked
    #: anything: extractive summaries are the source's own sentences and are not checked.
    guard: str = "off"
    guarded: bool = False

    @property
    def grouped(self) -> bool:
        """Whether any article came from a feed: the digest is then grouped by feed."""
        return any(a.feed for a in self.articles)
