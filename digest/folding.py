"""Which of a document's sections a digest shows: promote lone parents, fold the long tail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from digest.model import Section

#: An article's entry shows at most this many top-level bullets (the last may be "Also covers").
MAX_BULLETS = 12
#: Sections summarised per document, at every depth together (the rest are left out of the
#: summary tree, though their text is still in their ancestors' and the article's summary).
MAX_SECTIONS = 300


@dataclass(frozen=True)
class Folded:
    """A document's top level as the digest shows it."""

    sections: tuple[Section, ...]  # the top level, after promoting a lone parent's children
    shown: frozenset[int]  # indices into `sections` shown as bullets; the rest "Also covers"


def top_level(sections: Sequence[Section]) -> tuple[Section, ...]:
    """The top level to show: where one titled section holds everything else (a page whose
    sections all sit under one H1 or one H2), its children are the top level instead,
    after its own paragraphs."""
    top = tuple(sections)
    while True:
        parents = [s for s in top if s.title is not None or s.kicker is not None]
        untitled_only = all(s.level == 0 and not s.sections for s in top if s not in parents)
        if len(parents) != 1 or not parents[0].sections or not untitled_only:
            return top
        parent = parents[0]
        own = (replace(parent, sections=()),) if parent.paragraphs else ()
        i = top.index(parent)
        top = top[:i] + own + parent.sections + top[i + 1 :]


def fold(sections: Sequence[Section], max_bullets: int = MAX_BULLETS) -> Folded:
    """Choose the bullets: all top-level sections when they fit, else the lead and the longest
    ones (in document order) with one bullet left for "Also covers: …" the rest."""
    top = top_level(sections)
    if len(top) <= max_bullets:
        return Folded(top, frozenset(range(len(top))))
    room = max_bullets - 1
    lead = {0} if top[0].title is None and top[0].kicker is None else set()
    by_size = sorted(range(len(top)), key=lambda i: (-top[i].all_words, i))
    shown = set(lead)
    for i in by_size:
        if len(shown) >= room:
            break
        shown.add(i)
    return Folded(top, frozenset(shown))


def capped(
    sections: Sequence[Section], first: Sequence[int], limit: int = MAX_SECTIONS
) -> set[int]:
    """The ids (id()) of the sections kept in the summary tree: breadth first, the shown
    top-level sections (`first`) before the others, at most `limit` in all."""
    order = [sections[i] for i in first] + [s for i, s in enumerate(sections) if i not in first]
    kept: set[int] = set()
    level = order
    while level and len(kept) < limit:
        following: list[Section] = []
        for section in level:
            if len(kept) >= limit:
                break
            kept.add(id(section))
            following.extend(section.sections)
        level = following
    return kept
