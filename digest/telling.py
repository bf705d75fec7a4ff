"""Stories from a run's entries: group the documents, merge each group's entry, rank, budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from digest.merging import best_source, merge_entry
from digest.model import ArticleSummary, Document, Source, Story, story_id
from digest.outlets import outlet_key
from digest.ranking import order_stories
from digest.reading_budget import fit_budget


def groups(documents: Sequence[Document], merge: bool) -> list[list[int]]:
    """The documents' indices by story, in reading order (one each when not merging)."""
    if not merge or len(documents) < 2:
        return [[i] for i in range(len(documents))]
    from digest.stories import group_stories  # scikit-learn: only runs that merge load it

    numbers = group_stories(documents)
    found: dict[int, list[int]] = {}
    for i, number in enumerate(numbers):
        found.setdefault(number, []).append(i)
    return list(found.values())


def make_story(members: Sequence[int], articles: Sequence[ArticleSummary]) -> Story:
    """One story of `members` (indices into `articles`): the best source leads."""
    chosen = [articles[i] for i in members]
    lead = best_source(chosen)
    order = [members[lead]] + [m for k, m in enumerate(members) if k != lead]
    sources = tuple(
        Source(articles[i].outlet, articles[i].link, articles[i].path, articles[i].title)
        for i in order
    )
    outlets = len({outlet_key(s.outlet, s.path) for s in sources})
    return Story(
        id=story_id([s.path for s in sources]),
        entry=merge_entry([articles[i] for i in order], outlets),
        documents=tuple(order),
        sources=sources,
        outlets=outlets,
        first_feed=articles[min(members)].feed,
    )


def tell_stories(
    documents: Sequence[Document],
    articles: Sequence[ArticleSummary],
    *,
    merge: bool = True,
    order: str = "rank",
    weights: Mapping[str, float] | None = None,
    max_words: int = 0,
) -> tuple[Story, ...]:
    """The digest's entries, in the order shown, each marked full, line or more."""
    stories = [make_story(members, articles) for members in groups(documents, merge)]
    ranked = order_stories(stories, articles, order, weights)
    return tuple(fit_budget(ranked, max_words))
