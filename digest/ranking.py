"""The order stories are shown in: most independent sources first, then the newest, then the
outlets the reader weighs most ("rank"); the newest first ("date"); or as read ("feed")."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence

from digest.errors import UsageError
from digest.model import ArticleSummary, Story
from digest.outlets import host_of, outlet_key

ORDERS = ("rank", "feed", "date")


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise UsageError(f"unknown order {order!r} (choose from: {', '.join(ORDERS)})")
    return order


def parse_weights(values: Sequence[str]) -> dict[str, float]:
    """OUTLET=WEIGHT pairs (from --weight or digest.toml's [weight] table) → {outlet: weight}."""
    weights: dict[str, float] = {}
    for value in values:
        name, sep, number = value.rpartition("=")
        try:
            weight = float(number)
        except ValueError:
            weight = float("nan")
        if not sep or not name.strip() or weight != weight or weight < 0:
            raise UsageError(f"--weight: expected OUTLET=NUMBER (0 or more), not {value!r}")
        weights[outlet_key(name, "")] = weight
    return weights


def day_of(date: str | None) -> int:
    """The date's day (ordinal), or 0 when unknown: undated stories count as the oldest."""
    try:
        return _dt.date.fromisoformat((date or "")[:10]).toordinal()
    except ValueError:
        return 0


def weight_of(
    story: Story, articles: Sequence[ArticleSummary], weights: Mapping[str, float]
) -> float:
    """The largest weight among the story's sources (by outlet name or by the link's host);
    1 for an outlet the reader did not weigh."""
    found = []
    for i in story.documents:
        a = articles[i]
        for key in (outlet_key(a.outlet, ""), outlet_key(host_of(a.link), "")):
            if key in weights:
                found.append(weights[key])
    return max(found, default=1.0)


def order_stories(
    stories: Sequence[Story],
    articles: Sequence[ArticleSummary],
    order: str = "rank",
    weights: Mapping[str, float] | None = None,
) -> list[Story]:
    """`stories` (given in reading order) in the order the digest shows them. Within a day,
    a story is as recent as its newest source; ties keep the reading order."""
    check_order(order)
    if order == "feed":
        return list(stories)
    weights = weights or {}

    def newest(story: Story) -> int:
        return max(day_of(articles[i].date) for i in story.documents)

    def rank(position: int) -> tuple[float, ...]:
        story = stories[position]
        sources = -story.outlets
        if order == "date":
            return (-newest(story), sources, -weight_of(story, articles, weights), position)
        return (sources, -newest(story), -weight_of(story, articles, weights), position)

    return [stories[i] for i in sorted(range(len(stories)), key=rank)]
