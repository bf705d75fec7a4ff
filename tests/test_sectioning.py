"""Heading detection for plain text: the seed's golden outline and the layouts around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.model import Section
from digest.sectioning import (
    Line,
    classify,
    is_title_line,
    logical_lines,
    outline_text,
    title_from_filename,
)

SEED = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"

GOLDEN = [
    ("What's the story", None, 2),
    ("Details", "'Taliban took control of Kandahar city'", 4),
    ("Information", "Government proposes power-sharing with the Taliban", 1),
    ("US", "US President Biden says he has no regrets about withdrawal", 3),
    ("Do you know?", "Over 1,000 civilians killed in recent clashes", 1),
    ("Evacuations", "US, UK, India rush to evacuate diplomats, citizens", 3),
]


def _shape(sections: tuple[Section, ...]) -> list[tuple[str | None, str | None, int]]:
    return [(s.kicker, s.title, len(s.paragraphs)) for s in sections]


@pytest.mark.parametrize(
    "path",
    [SEED, "shared"],
    ids=["repo-seed", "shared-seed"],
)
def test_seed_golden_outline(path: Path | str) -> None:
    if path == "shared":
        path = shared_path("seeds", "000_cf8db71cfe5e7580.txt")
    assert isinstance(path, Path)
    outline = outline_text(path.read_text(encoding="utf-8"))
    assert outline.title == "Afghanistan: Taliban captures Kandahar as clashes continue"
    assert _shape(outline.sections) == GOLDEN
    assert (
        outline.sections[1].paragraphs[3]
        == "The Taliban has also seized 13 Afghan provincial capitals."
    )
    assert outline.sections[-1].paragraphs[-1].startswith("India has also been urging")
    assert all(s.level == 2 for s in outline.sections)


def test_seed_outline_survives_crlf_and_blank_lines_between_paragraphs() -> None:
    text = SEED.read_text(encoding="utf-8")
    assert _shape(outline_text(text.replace("\n", "\r\n")).sections) == GOLDEN
    assert _shape(outline_text(text.replace("\n", "\n\n")).sections) == GOLDEN


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Details", "heading"),
        ("'Taliban took control of Kandahar city'", "heading"),
        ("US, UK, India rush to evacuate diplomats, citizens", "heading"),
        ("iPhone sales slump", "heading"),
        ("Do you know?", "question"),
        ("Thanks.", "prose"),
        ("Congratulations to Apple, a deserved win!", "prose"),
        ("The statement read:", "prose"),
        ("and then the rain stopped", "prose"),
        (", who broke onto the international scene", "prose"),
        ("- milk and eggs", "prose"),
        ("1. Preheat the oven", "prose"),
        ("2024", "prose"),
        (
            "Clark Boyd is technology correspondent for The World, a BBC World Service and "
            "WGBH-Boston co-production",
            "prose",
        ),
    ],
)
def test_classify(line: str, kind: str) -> None:
    assert classify(Line(line, 1)) == kind


@pytest.mark.parametrize(
    ("line", "is_title"),
    [
        ("Chelsea sack Mutu", True),
        ("Could Yukos be a blessing in disguise?", True),
        ("'My memories of Marley...'", True),
        ("Chelsea have sacked Adrian Mutu after he failed a drugs test.", False),
        ("Ingredients:", False),
        (" ".join(["word"] * 25), False),
    ],
)
def test_title_line(line: str, is_title: bool) -> None:
    assert is_title_line(Line(line, 1)) is is_title


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("my-notes_2024.txt", "My notes 2024"),
        ("meeting.notes.txt", "Meeting notes"),
        ("README", "README"),
        ("---.txt", ""),
    ],
)
def test_title_from_filename(name: str, title: str) -> None:
    assert title_from_filename(name) == title


def test_title_blank_line_paragraphs_no_headings() -> None:
    text = (
        "Chelsea sack Mutu\n\n"
        "Chelsea have sacked Adrian Mutu after he failed a drugs test.\n\n"
        "The 25-year-old tested positive for a banned substance in October.\n\n"
        "Thanks.\n"
    )
    outline = outline_text(text)
    assert outline.title == "Chelsea sack Mutu"
    assert outline.sections == (
        Section(
            None,
            (
                "Chelsea have sacked Adrian Mutu after he failed a drugs test.",
                "The 25-year-old tested positive for a banned substance in October.",
                "Thanks.",
            ),
        ),
    )


def test_one_long_paragraph_has_no_title_line() -> None:
    text = (
        "It rained all week, so we stayed in and finally sorted out the spare room, which had "
        "been full of boxes since we moved. Most of them held books we had forgotten we owned."
    )
    outline = outline_text(text)
    assert outline.title is None
    assert outline.sections == (Section(None, (text,)),)


def test_hard_wrapped_paragraphs_are_joined() -> None:
    text = (
        "Notes from the planning meeting\n"
        "\n"
        "The committee agreed that the new library branch should open in the\n"
        "spring, provided that the contractor finishes the roof before the end\n"
        "of January. Funding for the children's section is still uncertain.\n"
        "\n"
        "Staffing\n"
        "\n"
        "Two librarians will move from the central branch, and the council will\n"
        "advertise for a part-time assistant once the opening date is fixed.\n"
    )
    outline = outline_text(text)
    assert outline.title == "Notes from the planning meeting"
    assert _shape(outline.sections) == [(None, None, 1), (None, "Staffing", 1)]
    first = outline.sections[0].paragraphs[0]
    assert first.startswith(
        "The committee agreed that the new library branch should open in the spring,"
    )
    assert first.endswith("Funding for the children's section is still uncertain.")


def test_hard_wrapped_text_without_title_is_not_titled_by_its_first_line() -> None:
    text = (
        "the first line of this note is simply the start of a long wrapped sentence\n"
        "that carries on to the next line and the one after it, because the editor\n"
        "wrapped it at seventy-five columns when it was saved last Tuesday night.\n"
    )
    outline = outline_text(text)
    assert outline.title is None
    assert len(outline.sections) == 1
    assert len(outline.sections[0].paragraphs) == 1


def test_unwrapped_short_lines_stay_separate_paragraphs() -> None:
    text = (
        "Weekly update\n"
        "The build is green again after Monday's flaky test was fixed.\n"
        "We shipped the new export format to all customers on Wednesday.\n"
        "Thanks.\n"
    )
    outline = outline_text(text)
    assert outline.title == "Weekly update"
    assert _shape(outline.sections) == [(None, None, 3)]


def test_text_before_first_heading_and_plain_section_titles() -> None:
    text = (
        "Field trip report\n"
        "We left the school at eight and reached the museum by half past nine.\n"
        "Morning\n"
        "The children sketched the dinosaur skeletons in the main hall.\n"
        "Afternoon\n"
        "After lunch we watched a short film about fossils.\n"
        "Everyone was tired but happy on the bus home.\n"
    )
    outline = outline_text(text)
    # No kicker+title pairs anywhere, so a lone heading is a section title, not a kicker.
    assert _shape(outline.sections) == [
        (None, None, 1),
        (None, "Morning", 1),
        (None, "Afternoon", 2),
    ]
    assert [s.level for s in outline.sections] == [0, 2, 2]


def test_question_followed_by_prose_is_prose() -> None:
    text = (
        "Reader comments\n\n"
        "Has everyone forgot about the Breville pie maker??\n\n"
        "Apple.. a triumph of fashion over... well everything else.\n"
    )
    assert _shape(outline_text(text).sections) == [(None, None, 2)]


def test_lead_in_line_before_a_list_is_prose() -> None:
    text = (
        "Court ruling\n\n"
        "The appeal court rejected the claim on Friday.\n\n"
        "The government had claimed tobacco firms\n"
        "- manipulated nicotine levels\n"
        "- hid the dangers of smoking\n"
    )
    outline = outline_text(text)
    assert _shape(outline.sections) == [(None, None, 4)]


def test_trailing_heading_like_lines_are_prose() -> None:
    text = "Party plans\nWe will meet at the station at six and walk over.\nSee you there\nSam\n"
    outline = outline_text(text)
    assert _shape(outline.sections) == [(None, None, 3)]


def test_headings_without_prose_give_sections_without_paragraphs() -> None:
    outline = outline_text("Agenda\nBudget\nStaffing\nAny other business\n")
    assert outline.title == "Agenda"
    assert [s.title for s in outline.sections] == ["Budget", "Staffing", "Any other business"]
    assert all(not s.paragraphs for s in outline.sections)


def test_separator_lines_are_dropped() -> None:
    outline = outline_text("Title here\n\nFirst paragraph of text.\n\n-----\n\nSecond paragraph.\n")
    assert outline.sections[0].paragraphs == ("First paragraph of text.", "Second paragraph.")


def test_logical_lines_ignore_blank_and_whitespace_lines() -> None:
    assert [line.text for line in logical_lines("  a  b \n\t\n\n c\n")] == ["a b", "c"]


_LINES = st.lists(
    st.one_of(
        st.sampled_from(["", "Details", "Do you know?", "US", "Thanks.", "-----", "- item"]),
        st.text(alphabet="abc ABC.,?!'\"\t", max_size=120),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_every_word_lands_somewhere(lines: list[str]) -> None:
    text = "\n".join(lines)
    outline = outline_text(text)
    kept = (outline.title or "").split()
    for section in outline.sections:
        kept += (section.kicker or "").split() + (section.title or "").split()
        kept += [w for p in section.paragraphs for w in p.split()]
    separators = {line.strip() for line in lines if line.strip() and set(line.strip()) <= set("-")}
    expected = [w for line in lines if line.strip() not in separators for w in line.split()]
    assert kept == expected


# --- the hard-wrap heuristics, at their boundaries -------------------------------------------


def test_a_line_is_full_when_the_next_word_would_not_have_fitted() -> None:
    from digest.sectioning import _is_full

    # 30 + a space + "word" = 35 columns: it fits a width of 35, not one of 34.
    assert not _is_full("a" * 30, "word and more", 35)
    assert _is_full("a" * 30, "word and more", 34)
    # Lines up to MAX_WRAP_WIDTH (100) can be wrapped lines; longer ones never are.
    assert _is_full("a" * 100, "b", 100)
    assert not _is_full("a" * 101, "b", 100)


FULL = "a" * 58  # at width 60 "bbb." would not have fitted after it, and it stops mid-sentence
SHORT = "a" * 20
END = "bbb."  # ends a sentence: a full line that ends like this is no evidence of wrapping


@pytest.mark.parametrize(
    ("block", "wrapped"),
    [
        # 10 line pairs, 3 of them a full line that stops mid-sentence: exactly the 30% needed.
        ([FULL, END, FULL, END, FULL, END, SHORT, END, SHORT, END, SHORT], True),
        # 10 pairs, 2 with evidence: 20%, one-paragraph-per-line text with a few long lines.
        ([FULL, END, FULL, END, SHORT, END, SHORT, END, SHORT, END, SHORT], False),
        # No pair at all, or no evidence at all, is never wrapped.
        ([FULL], False),
        ([SHORT, END, SHORT], False),
    ],
)
def test_wrapping_needs_30_percent_of_line_pairs_as_evidence(
    block: list[str], wrapped: bool
) -> None:
    from digest.sectioning import _looks_wrapped

    assert _looks_wrapped([block], 60) is wrapped
    # The share is counted over all blocks together, not per block.
    assert _looks_wrapped([block, [SHORT, END, SHORT, END, SHORT]], 60) is False


def test_a_line_of_exactly_the_widest_wrap_width_still_counts() -> None:
    from digest.sectioning import _looks_wrapped

    assert _looks_wrapped([["a" * 100, "b."]], 100)
    assert not _looks_wrapped([["a" * 101, "b."]], 100)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Harbour bridge reopens after repairs", True),
        ("Is the bridge safe?", True),
        ("Wait for it…", True),  # a trailing ellipsis is a headline, not a sentence end
        ("Wait for it...", True),
        ("“Wait for it…”", True),
        ("The bridge reopened.", False),
        ("Read this:", False),
        ("A list, then", True),
        ("Ends with a comma,", False),
        ("—", False),  # nothing to read
        ("w" * 150, True),  # 150 characters: the most a title may have
        ("w" * 151, False),
        (" ".join(["word"] * 20), True),  # 20 words: the most a title may have
        (" ".join(["word"] * 21), False),
    ],
)
def test_title_lines(text: str, title: bool) -> None:
    from digest.sectioning import Line, is_title_line

    assert is_title_line(Line(text, 1)) is title
    assert not is_title_line(Line(text, 2))  # a hard-wrapped run is prose


def test_a_lone_line_is_the_text_not_its_title() -> None:
    from digest.sectioning import outline_text

    assert outline_text("Just one short line").title is None
    outline = outline_text("A title\n\nAnd one paragraph of text below it.")
    assert outline.title == "A title"


def test_verbatim_text_is_never_lost_when_headings_go() -> None:
    from digest.sectioning import sections_from_blocks

    prose = "The council met on Tuesday and agreed the plan after a long debate about costs."
    blocks = [
        ("verbatim", "Ward | Votes", 0),  # before any prose: joins the first section kept
        ("heading", "Budget", 2),
        ("paragraph", prose, 0),
        ("heading", "Share this page", 2),  # furniture: its table moves to the section before
        ("verbatim", "Facebook | Email", 0),
        ("heading", "Wards", 2),
        ("paragraph", prose, 0),
        ("heading", "Figures", 3),  # a heading over a table alone goes; the table stays
        ("verbatim", "North | 41", 0),
    ]
    sections = sections_from_blocks(blocks, "Council budget")
    assert [(s.title, s.verbatim) for s in sections] == [
        ("Budget", ("Ward | Votes", "Facebook | Email")),
        ("Wards", ("North | 41",)),
    ]
    assert all(s.paragraphs == (prose,) and not s.sections for s in sections)
