"""digest.stories: documents reporting one event share a story, others do not; the scoring of
scripts/measure_stories.py by hand; the measured floors on ../shared/data/story-clusters."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, shared_path

from digest.model import Document, Section
from digest.stories import StoryParams, entities, group_stories, link_groups


def _load_script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


measure = _load_script("measure_stories")


def doc(title: str, text: str, date: str | None = "2031-03-04") -> Document:
    section = Section(title=None, paragraphs=tuple(text.split("\n\n")))
    return Document(path=Path(f"{title[:20]}.txt"), title=title, sections=(section,), date=date)


# Invented events: two reports of a bridge collapse in Vellmar, one of a different bridge
# collapse in Orsdale the same week, and two unrelated stories.
VELLMAR_A = doc(
    "Harbour bridge collapses in Vellmar, three injured",
    "The Kessel Bridge in Vellmar collapsed on Tuesday morning, injuring three workers. "
    "Mayor Ilse Brandt said the span over the Orla river gave way during repairs. "
    "Engineers from Torvik Construction had warned of cracks in the pillars last year.\n\n"
    "Police closed the harbour road and ferries took commuters across the Orla.",
)
VELLMAR_B = doc(
    "Three hurt as Kessel Bridge gives way in Vellmar",
    "Three workers were hurt when the Kessel Bridge over the Orla river fell in Vellmar. "
    "Ilse Brandt, the mayor, said repairs by Torvik Construction were under way when it "
    "gave way. Ferries carried commuters across the Orla after police shut the harbour road.",
    date="2031-03-05",
)
ORSDALE = doc(
    "Rail bridge collapses in Orsdale after storm",
    "A rail bridge near Orsdale collapsed on Friday after a storm flooded the Penn valley. "
    "Nobody was hurt, said Governor Malik Osei, but trains to Quarrytown are cancelled. "
    "Inspectors from Haldane Rail will examine the remaining bridges in the valley.",
    date="2031-03-07",
)
CHESS = doc(
    "Teenager wins the Lindqvist chess open",
    "Sixteen-year-old Nadia Fertig won the Lindqvist Open in Brenholm on Sunday, beating "
    "three grandmasters. The Brenholm Chess Club said entries doubled this year.",
)
ORCHARD = doc(
    "Late frost damages apple orchards in Tessin valley",
    "Growers in the Tessin valley lost much of their apple blossom to a late frost. "
    "The Tessin Growers Union asked the province for help with replanting costs.",
)


def test_two_reports_of_one_event_share_a_story_and_a_similar_event_does_not() -> None:
    stories = group_stories([VELLMAR_A, CHESS, VELLMAR_B, ORSDALE, ORCHARD])
    assert stories == [0, 1, 0, 2, 3]


def test_reports_far_apart_in_time_are_never_one_story() -> None:
    later = doc(VELLMAR_B.title, VELLMAR_B.text, date="2031-05-20")
    assert group_stories([VELLMAR_A, CHESS, later, ORSDALE, ORCHARD]) == [0, 1, 2, 3, 4]
    # An unknown date does not keep them apart.
    undated = doc(VELLMAR_B.title, VELLMAR_B.text, date=None)
    assert group_stories([VELLMAR_A, CHESS, undated, ORSDALE, ORCHARD]) == [0, 1, 0, 2, 3]


def test_reports_more_than_two_days_apart_are_two_stories() -> None:
    # Three days on, the same report is a follow-up: a new story. Within two days it is not.
    later = doc(VELLMAR_B.title, VELLMAR_B.text, date="2031-03-07")
    assert group_stories([VELLMAR_A, CHESS, later, ORSDALE, ORCHARD]) == [0, 1, 2, 3, 4]
    assert group_stories([VELLMAR_A, later], StoryParams(max_days=5)) == [0, 0]
    # The span counts over the whole story, not pair by pair: B (day 1) joins its copy on
    # day 3 first, and A (day 0), one day from B, stays out of that story.
    assert group_stories([VELLMAR_A, VELLMAR_B, later]) == [0, 1, 1]


def test_a_document_joins_a_story_only_through_one_clearly_shared_report() -> None:
    # 0 and 1 are one story; 2 is loosely like both (same topic): its mean similarity (0.18)
    # passes the threshold, but no pair reaches the link threshold.
    similar = {(0, 1): 0.5, (0, 2): 0.18, (1, 2): 0.18}
    params = StoryParams()
    assert params.threshold < 0.18 < params.link_threshold
    assert link_groups(similar, [None] * 3, params) == [0, 0, 1]
    without = StoryParams(link_threshold=params.threshold)
    assert link_groups(similar, [None] * 3, without) == [0, 0, 0]
    # One clear link (0.3) and a weak one: the mean (0.24) passes, so 2 joins.
    assert link_groups({(0, 1): 0.5, (0, 2): 0.3, (1, 2): 0.18}, [None] * 3, params) == [0, 0, 0]


def test_pairs_left_out_by_blocking_are_scored_when_a_mean_needs_them() -> None:
    # (0, 2) is no candidate: counted 0 the mean of 2 with {0, 1} is 0.125, scored 0.2 it is 0.225.
    similar = {(0, 1): 0.5, (1, 2): 0.25}
    asked: list[list[tuple[int, int]]] = []

    def others(pairs: list[tuple[int, int]]) -> list[float]:
        asked.append(pairs)
        return [0.2] * len(pairs)

    assert link_groups(similar, [None] * 3, StoryParams()) == [0, 0, 1]
    assert link_groups(similar, [None] * 3, StoryParams(), others) == [0, 0, 0]
    assert asked == [[(0, 2)]]


def test_the_grouping_is_deterministic_and_numbered_in_order() -> None:
    documents = [CHESS, VELLMAR_A, ORCHARD, VELLMAR_B, ORSDALE]
    first = group_stories(documents)
    assert first == [0, 1, 2, 1, 3]
    assert all(group_stories(documents) == first for _ in range(3))


# Four reports on sanctions against Norland, none sharing a specific name with another: on
# one topic, and Norland and Vessia are named by all of them, but no event is shared.
SANCTIONS = [
    doc(
        f"Norland sanctions {n} as Vessia crisis goes on",
        f"Norland announced new sanctions against Vessia on {day}, targeting {target}. "
        "Officials in Norland said the sanctions on Vessia would widen if the crisis went on. "
        f"{who} said the measures against Vessia were meant to end the crisis.",
    )
    for n, (day, target, who) in enumerate(
        [
            ("Monday", "banks", "Ortega"),
            ("Tuesday", "shipping firms", "Lindahl"),
            ("Wednesday", "oil traders", "Marchetti"),
            ("Thursday", "airlines", "Okafor"),
        ]
    )
]


def test_documents_sharing_only_common_names_are_not_one_story() -> None:
    assert group_stories(SANCTIONS) == [0, 1, 2, 3]
    # Without the specific-name rule the shared topic alone would merge them.
    loose = StoryParams(shared_entities=0)
    assert len(set(group_stories(SANCTIONS, loose))) < 4


def test_no_document_and_one_document() -> None:
    assert group_stories([]) == []
    assert group_stories([CHESS]) == [0]
    assert group_stories([doc("Empty", ""), doc("Empty", "")]) == [0, 1]


def test_entities_are_capitalised_runs_without_leading_function_words() -> None:
    found = entities("The Kessel Bridge fell. In Vellmar, Mayor Ilse Brandt spoke to the ILO.")
    assert found == ["kessel_bridge", "vellmar", "mayor_ilse_brandt", "ilo"]


# ------------------------------------------------------------ scoring, by hand


def test_pairwise_scores_by_hand() -> None:
    # Truth {a,b,c} {d}; predicted {a,b} {c,d}: predicted pairs ab, cd; true pairs ab, ac, bc.
    scores = measure.pairwise([1, 1, 2, 2], ["x", "x", "x", "y"])
    assert scores == {"precision": 0.5, "recall": round(1 / 3, 3), "f1": 0.4}
    assert measure.pairwise([1, 2], ["x", "y"]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_bcubed_scores_by_hand() -> None:
    # Same case. Precision per item: a 2/2, b 2/2, c 1/2, d 1/2 -> 0.75.
    # Recall per item: a 2/3, b 2/3, c 1/3, d 1/1 -> 2/3.
    scores = measure.bcubed([1, 1, 2, 2], ["x", "x", "x", "y"])
    f1 = 2 * 0.75 * (2 / 3) / (0.75 + 2 / 3)
    assert scores == {"precision": 0.75, "recall": round(2 / 3, 3), "f1": round(f1, 3)}


def test_distractors_count_only_against_labelled_articles() -> None:
    # a, b labelled x; c, d distractors (None). Predicted {a,b,c} {d}: pairs ab (true),
    # ac, bc (false). Predicted {a,b} {c,d}: the pair cd is not scored.
    truth = ["x", "x", None, None]
    assert measure.pairwise([1, 1, 1, 2], truth)["precision"] == round(1 / 3, 3)
    assert measure.pairwise([1, 1, 2, 2], truth) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # B-cubed over a and b only: each in a group of 3 with 2 of its cluster -> precision 2/3.
    assert measure.bcubed([1, 1, 1, 2], truth)["precision"] == round(2 / 3, 3)
    assert measure.bcubed([1, 1, 2, 2], truth) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


HOSTILE = {
    "id": "z001",
    "cluster": "z",
    "story": "z",
    "title": 'Mayor: "No comment" --- # not a heading',
    "text": "---\ntitle: injected\n---\n\nThe Kessel Bridge fell on Tuesday.",
    "date": "2031-03-04",
    "source": "vellmar-post.example",
    "url": "https://vellmar-post.example/a?b=1&c=2",
}


def test_articles_are_written_with_title_date_outlet_and_link(tmp_path: Path) -> None:
    undated = HOSTILE | {"id": "z002", "date": None, "title": ""}
    (tmp_path / "written").mkdir()
    paths = measure.write_articles([HOSTILE, undated], tmp_path / "written")
    assert [p.name for p in paths] == ["z001.md", "z002.md"]
    front = paths[0].read_text(encoding="utf-8").split("\n---\n")[0]
    assert 'source: "vellmar-post.example"' in front
    assert 'link: "https://vellmar-post.example/a?b=1&c=2"' in front
    assert "title:" not in paths[1].read_text(encoding="utf-8").split("\n---\n")[0]
    # Read back as digest make reads it (outlet and link are read where the reader knows them).
    (tmp_path / "read").mkdir()
    first, second = measure.as_documents([HOSTILE, undated], tmp_path / "read")
    assert first.title == HOSTILE["title"]
    assert first.date == "2031-03-04"
    assert "Kessel Bridge fell" in first.text  # the body's own "---" block is no front matter
    assert second.date is None


def test_stories_are_read_from_the_json_digest() -> None:
    rows = [{"id": "a1"}, {"id": "a2"}, {"id": "a3"}]
    digest = {
        "documents": [
            {"path": "/tmp/x/a2.md", "story": "s1"},
            {"path": "/tmp/x/a1.md", "story": "s1"},
            {"path": "/tmp/x/a3.md", "story": "s2"},
        ]
    }
    assert measure.stories_from_json(digest, rows) == ["s1", "s1", "s2"]
    del digest["documents"][2]["story"]
    with pytest.raises(measure.NoStories, match="no story for 1 of 3 documents"):
        measure.stories_from_json(digest, rows)


@pytest.mark.slow
def test_the_cli_groups_two_reports_of_one_event(tmp_path: Path) -> None:
    rows = [
        {"id": f"v{n}", "title": d.title, "text": d.text, "date": d.date, "source": f"o{n}"}
        | {"url": f"https://o{n}.example/v", "cluster": "v", "story": "v"}
        for n, d in enumerate([VELLMAR_A, CHESS, VELLMAR_B, ORCHARD])
    ]
    try:
        stories = measure.stories_via_cli(rows, tmp_path)
    except measure.NoStories as error:
        if "does not group stories yet" in str(error):
            pytest.skip(str(error))
        raise
    assert stories[0] == stories[2]
    assert len({stories[0], stories[1], stories[3]}) == 3


def test_the_split_keeps_each_event_in_one_half() -> None:
    assert {measure.split_of(f"e{n:03d}") for n in range(20)} == {"dev", "held-out"}
    assert measure.split_of("e002") == measure.split_of("e002")


# ------------------------------------------------------------ the shared story clusters


@pytest.mark.slow
def test_measured_floors_on_the_shared_story_clusters() -> None:
    shared_path("data", "story-clusters", "articles.jsonl")
    results = measure.measure(ROOT.parent / "shared")["stories"]
    floors = {"dev": (0.95, 0.78), "held-out": (0.94, 0.87), "all": (0.92, 0.82)}
    for part, (precision, recall) in floors.items():
        pairwise = results[part]["cluster"]["pairwise"]
        assert pairwise["precision"] >= precision, (part, pairwise)
        assert pairwise["recall"] >= recall, (part, pairwise)


@pytest.mark.slow
def test_the_precision_rules_keep_related_events_apart_on_the_shared_clusters() -> None:
    # Each rule, on the whole set, keeps two labelled events apart that it alone separates:
    # the link threshold an article on Ukraine's losses from a week of sanctions reports;
    # the two-day window Israel's ground operation in Gaza from the collapse of the ceasefire
    # three days before, and an Egyptian mass death sentence from a clash three days earlier.
    shared_path("data", "story-clusters", "articles.jsonl")
    rows = measure.load(ROOT.parent / "shared")
    with tempfile.TemporaryDirectory() as folder:
        documents = measure.as_documents(rows, Path(folder))
    clusters = [row["cluster"] for row in rows]

    def together(params: StoryParams) -> set[tuple[str, str]]:
        stories = group_stories(documents, params)
        found = set()
        for a, b in [("e212", "e215"), ("e146", "e150"), ("e211", "e218")]:
            of_a = {s for s, c in zip(stories, clusters, strict=True) if c == a}
            of_b = {s for s, c in zip(stories, clusters, strict=True) if c == b}
            if of_a & of_b:
                found.add((a, b))
        return found

    assert together(StoryParams()) == set()
    assert together(StoryParams(link_threshold=0.16)) == {("e212", "e215")}
    assert together(StoryParams(max_days=5)) == {("e146", "e150"), ("e211", "e218")}
