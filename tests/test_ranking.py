"""Ranking and the reading budget: most outlets first, then newest, then the reader's weights;
full entries until the budget is spent, then one line each, then a count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digest.config import default_map
from digest.errors import UsageError
from digest.model import ArticleSummary, Digest, Source, Story
from digest.ranking import order_stories, parse_weights
from digest.reading_budget import MAX_LINES, entry_words, fit_budget
from digest.render import render_markdown


def article(i: int, outlet: str, date: str | None, words: int = 50) -> ArticleSummary:
    text = " ".join(["word"] * (words - 1)) + " end."
    return ArticleSummary(
        f"{i}.md", f"Title {i}", text, "Four words of TL;DR.", 500, (), date=date, outlet=outlet
    )


def story(articles: list[ArticleSummary], members: list[int]) -> Story:
    sources = tuple(Source(articles[i].outlet, None, articles[i].path, "t") for i in members)
    return Story(
        f"s{members[0]}",
        articles[members[0]],
        tuple(members),
        sources,
        len({s.outlet for s in sources}),
    )


def test_rank_puts_most_outlets_first_then_newest_then_weight() -> None:
    arts = [
        article(0, "A", "2026-12-01"),
        article(1, "B", "2026-12-02"),
        article(2, "C", "2026-12-02"),
        article(3, "A", "2026-12-02"),
        article(4, "D", "2026-11-30"),
        article(5, "E", "2026-11-30"),
        article(6, "A", "2026-11-30"),
    ]
    stories = [story(arts, [0]), story(arts, [1]), story(arts, [2]), story(arts, [3, 6])]
    stories.append(story(arts, [4, 5]))
    ranked = order_stories(stories, arts, "rank")
    # Two outlets beat one; [3, 6] is one outlet twice; among one-outlet stories the newest.
    assert [s.id for s in ranked] == ["s4", "s1", "s2", "s3", "s0"]
    weighted = order_stories(stories, arts, "rank", parse_weights(["c=2"]))
    assert [s.id for s in weighted] == ["s4", "s2", "s1", "s3", "s0"]
    assert [s.id for s in order_stories(stories, arts, "date")][:3] == ["s1", "s2", "s3"]
    assert order_stories(stories, arts, "feed") == stories
    with pytest.raises(UsageError):
        order_stories(stories, arts, "alphabetical")


def test_weights_parse_and_come_from_a_config_table(tmp_path: Path) -> None:
    assert parse_weights(["BBC News=2", "www.Example.org=0.5"]) == {
        "bbc news": 2.0,
        "example.org": 0.5,
    }
    for bad in ("BBC", "=2", "BBC=x", "BBC=-1"):
        with pytest.raises(UsageError):
            parse_weights([bad])
    import typer.main

    from digest.cli import app

    config = tmp_path / "digest.toml"
    config.write_text('max-words = 900\n[weight]\n"BBC News" = 2\nreuters = 1.5\n', "utf-8")
    command = typer.main.get_command(app)
    found = default_map(config, command.commands)  # type: ignore[attr-defined]
    assert found["make"]["weight"] == ["BBC News=2", "reuters=1.5"]
    assert found["make"]["max_words"] == 900


def test_budget_full_then_lines_then_a_count() -> None:
    arts = [article(i, f"O{i}", "2026-12-01", words=100) for i in range(MAX_LINES + 20)]
    stories = [story(arts, [i]) for i in range(len(arts))]
    cost = entry_words(arts[0])
    assert cost == 104  # TL;DR 4 + summary 100
    fitted = fit_budget(stories, 500)
    shown = [s.shown for s in fitted]
    assert shown[:4] == ["full"] * 4 and shown[4] == "line"
    assert shown.count("line") == MAX_LINES and shown.count("more") == 16
    # 500 - 4 × 104 = 84 words left: 21 one-line TL;DRs of 4 words, then titles alone.
    assert [bool(s.line_tldr) for s in fitted[4:30]] == [True] * 21 + [False] * 5
    assert fit_budget(stories, 0) == [s for s in stories]
    # The top story is shown in full even when it is a little over a small budget.
    assert fit_budget(stories[:2], 100)[0].shown == "full"
    md = render_markdown(
        Digest(
            dt.date(2026, 12, 3),
            "extractive",
            None,
            tuple(arts),
            stories=tuple(fitted),
            order="rank",
            max_words=500,
        )
    )
    assert "## Briefly" in md and "… and 16 more" in md
    assert "*Within a reading budget of 500 words: 4 in full, 100 in brief, 16 more" in md
