"""Frozen dataclasses that flow between the stages: documents in, a digest out."""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Iterator, Sequence
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
    #: Who published it, when the source says (Markdown front matter `source`, a page's
    #: og:site_name); see digest.outlets for the fallbacks.
    outlet: str | None = None

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
    #: Who published it (digest.outlets.outlet_of): the feed's title, the site's name, the
    #: front matter's `source`, else the link's host; None for a local file with none.
    outlet: str | None = None

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
class Source:
    """One document of a story as the reader sees it credited: who published it, where."""

    outlet: str | None
    link: str | None
    path: str
    title: str


def story_id(paths: Sequence[str]) -> str:
    """A story's id: the same for the same documents in any order, in every run."""
    digest = hashlib.sha256("\n".join(sorted(paths)).encode("utf-8")).hexdigest()
    return "s" + digest[:12]


#: How a story is shown: "full" (its whole entry), "line" (title, outlet, link and maybe a
#: short TL;DR) or "more" (past the cap: counted in the digest, listed in the JSON only).
SHOWN = ("full", "line", "more")


@dataclass(frozen=True)
class Story:
    """Documents of one run that report the same event, and the one entry the digest shows.

    `documents` index Digest.articles, the lead (the source the entry is built on) first.
    `entry` is that lead's entry, or for several documents the merged one (digest.merging).
    """

    id: str
    entry: ArticleSummary
    documents: tuple[int, ...]
    sources: tuple[Source, ...]
    #: Distinct outlets among the sources (how many independent sources report it).
    outlets: int = 1
    shown: str = "full"
    #: For a "line": the TL;DR cut to at most 25 words, "" once the budget has no room for it.
    line_tldr: str = ""

    @property
    def others(self) -> tuple[Source, ...]:
        """The sources credited under "Also reported by": all but the lead."""
        return self.sources[1:]

    #: The feed the digest shows it under in feed order: that of its first document as read
    #: (None: the lead's).
    first_feed: str | None = None

    @property
    def feed(self) -> str | None:
        return self.first_feed if len(self.documents) > 1 else self.entry.feed


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
    #: The entries in the order shown (digest.ranking); empty: one full entry per article,
    #: in the order read (a Digest built by hand).
    stories: tuple[Story, ...] = ()
    #: "rank", "date" or "feed" (as read, grouped by feed): how `stories` are ordered.
    order: str = "feed"
    #: The reading budget the entries were fitted to (0: none).
    max_words: int = 0

    @property
    def entries(self) -> tuple[Story, ...]:
        """The stories to show, in order: `stories`, else one full entry per article."""
        if self.stories:
            return self.stories
        return tuple(
            Story(
                id=story_id([a.path]),
                entry=a,
                documents=(i,),
                sources=(Source(a.outlet, a.link, a.path, a.title),),
            )
            for i, a in enumerate(self.articles)
        )

    @property
    def full(self) -> tuple[Story, ...]:
        return tuple(s for s in self.entries if s.shown == "full")

    @property
    def lines(self) -> tuple[Story, ...]:
        return tuple(s for s in self.entries if s.shown == "line")

    @property
    def more(self) -> tuple[Story, ...]:
        return tuple(s for s in self.entries if s.shown == "more")

    #: The faithfulness guard asked for ("fix", "flag" or "off"), and whether it checked
    #: anything: extractive summaries are the source's own sentences and are not checked.
    guard: str = "off"
    guarded: bool = False

    @property
    def grouped(self) -> bool:
        """Whether the digest is grouped by feed: in feed order, when any article came from
        a feed."""
        return self.order == "feed" and any(a.feed for a in self.articles)
