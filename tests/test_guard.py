"""The faithfulness checker and the guard on hand-made texts; the consistency evaluation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest import cli
from digest.consistency import (
    consistency_markdown,
    evaluate_consistency,
    read_labels,
    score,
    tuning_half,
)
from digest.errors import UsageError
from digest.faithfulness import (
    SUMMARY_THRESHOLD,
    Source,
    certainly_unsupported,
    check_sentence,
    check_summary,
    quick_sentences,
)
from digest.guard import Guard
from digest.render import escape_flagged
from digest.wording import tokens

SOURCE = (
    "The council said on Tuesday that the new rail line would open in 2027. "
    "It will cost 4 billion pounds, twice the first estimate. "
    "Critics did not agree with the plan. "
    "Mayor Ann Hollis said the line would serve 12 stations across the region."
)
runner = CliRunner()


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The council said the new rail line would open in 2029.", "number 2029 not in the source"),
        ("The line will serve the 89th station.", "number 89th not in the source"),
        ("Critics agreed with the plan.", "negation"),
        ("Mayor Bob Travers said the line would serve 12 stations.", "name Bob not in the source"),
    ],
)
def test_unsupported_sentences_say_why(sentence: str, reason: str) -> None:
    check = check_sentence(sentence, Source(SOURCE))
    assert not check.supported
    assert reason in check.reason


@pytest.mark.parametrize(
    "sentence",
    [
        "Critics did not agree with the plan.",
        "The council said the new rail line would open in 2027.",
        "Mayor Ann Hollis said the line would serve twelve stations.",
        "It will cost 4 billion pounds.",
    ],
)
def test_supported_sentences_pass(sentence: str) -> None:
    check = check_sentence(sentence, Source(SOURCE))
    assert check.supported, check
    assert check.reason == ""


def test_numbers_compare_by_value_and_units_stand_apart() -> None:
    words = [(t.word, t.number) for t in tokens("£200million, 1,500 fans, the 89th; three")]
    assert words == [
        ("200", "200"),
        ("million", None),
        ("1500", "1500"),
        ("fans", None),
        ("the", None),
        ("89", "89"),
        ("three", "3"),
    ]


def test_quick_sentences_keep_titles_and_initials() -> None:
    text = 'Mr. Smith met J. K. Rowling in the U.S. on Monday. "Great," he said.\n\nNew one.'
    assert quick_sentences(text) == [
        "Mr. Smith met J. K. Rowling in the U.S. on Monday.",
        '"Great," he said.',
        "New one.",
    ]


def test_summary_level_verdict() -> None:
    # Copied whole: two sentences that follow each other in the source are one fragment of
    # 17 words; every word aligned, nothing flagged.
    copied = check_summary(
        "It will cost 4 billion pounds, twice the first estimate. "
        "Critics did not agree with the plan.",
        SOURCE,
    )
    assert copied.features["fragments_per_word"] == pytest.approx(1 / 17)
    assert copied.features["unsupported_share"] == 0.0
    assert not copied.inconsistent
    # Pieced from single words of the source, in an order it never has: flagged on its score
    # alone, though each word is the source's and no rule is broken.
    pieced = check_summary("Critics estimate the stations would cost twice the region.", SOURCE)
    assert not any(certainly_unsupported(s.features) for s in pieced.sentences)
    assert pieced.score >= SUMMARY_THRESHOLD
    assert pieced.inconsistent
    # A new number makes a summary inconsistent whatever its score.
    assert check_summary("It will cost 5 billion pounds.", SOURCE).inconsistent


def test_fix_replaces_by_the_paraphrased_source_sentence_or_drops() -> None:
    guard = Guard("fix")
    summary = (
        "The council said the rail line would open in 2029. Critics agreed with the plan. "
        "The scandal in Paris forced a resignation."
    )
    fixed, notes = guard.apply(summary, SOURCE, "summary")
    assert fixed == (
        "The council said on Tuesday that the new rail line would open in 2027. "
        "Critics did not agree with the plan."
    )
    assert [n.action for n in notes] == ["replaced", "replaced", "dropped"]
    assert notes[0].reason == "number 2029 not in the source"
    assert notes[2].replacement is None
    assert check_summary(fixed, SOURCE).supported


def test_flag_keeps_and_notes_and_off_does_nothing() -> None:
    summary = "The council said the rail line would open in 2029. Critics did not agree."
    kept, notes = Guard("flag").apply(summary, SOURCE, "summary")
    assert kept == summary
    assert [(n.action, n.sentence) for n in notes] == [
        ("flagged", "The council said the rail line would open in 2029.")
    ]
    assert Guard("off").apply(summary, SOURCE, "summary") == (summary, [])


def test_a_sentence_quoted_from_the_source_is_never_touched() -> None:
    quoted = "It will cost 4 billion pounds, twice the first estimate."
    assert Guard("fix").apply(quoted, SOURCE, "summary") == (quoted, [])


def test_unknown_guard_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--guard must be one of fix, flag, off"):
        Guard("repair")


def test_flagged_sentences_get_a_dagger_and_stay_escaped() -> None:
    text = "Fine. It cost *99* [pounds](http://x). More."
    shown = escape_flagged(text, ["It cost *99* [pounds](http://x)."])
    assert shown == r"Fine. It cost \*99\* \[pounds\](http://x).† More."
    # A placeholder smuggled into the text itself never turns into a mark.
    assert "†" not in escape_flagged("A \ue000 b.", [])


# -- the consistency evaluation


def _labels(tmp_path: Path) -> Path:
    rows = []
    for n in range(4):
        src = f"Article {n}. " + SOURCE
        rows.append(
            {
                "id": f"made-up-{n}",
                "src": src,
                "sys_summs": {
                    "M1": {
                        "sys_summ": "Critics did not agree with the plan.",
                        "scores": {"consistency": 5.0},
                    },
                    "M2": {
                        "sys_summ": "The rail line would open in 2031 said the mayor of Lyon.",
                        "scores": {"consistency": 2.0},
                    },
                    "M3": {
                        "sys_summ": "It will cost 4 billion pounds.",
                        "scores": {"consistency": 4.67},
                    },
                },
            }
        )
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_metrics_and_article_bootstrap() -> None:
    # Article A: one hit, two false alarms; article B: one miss, one correct pass.
    scores = score([[(True, True), (False, True), (False, True)], [(True, False), (False, False)]])
    assert scores.recall.value == pytest.approx(1 / 2)
    assert scores.precision.value == pytest.approx(1 / 3)
    # Recall 1/2, specificity 1/3.
    assert scores.balanced_accuracy.value == pytest.approx(5 / 12)
    assert scores.balanced_accuracy.low <= 5 / 12 <= scores.balanced_accuracy.high
    assert (scores.summaries, scores.articles, scores.inconsistent) == (5, 2, 2)


@pytest.mark.parametrize(
    ("changed", "certain"),
    [
        ({}, False),
        ({"novel_numbers": 1.0}, True),
        ({"novel_names": 1.0}, True),
        ({"unsupported_share": 0.5}, True),
        ({"unsupported_share": 0.4}, False),
        ({"words": 0.0}, True),
    ],
)
def test_the_rules_need_no_weights(changed: dict[str, float], certain: bool) -> None:
    features = {"novel_numbers": 0.0, "novel_names": 0.0, "unsupported_share": 0.0}
    features["words"] = 5.0
    assert certainly_unsupported({**features, **changed}) is certain


def test_consistency_report_on_a_small_file(tmp_path: Path) -> None:
    path = _labels(tmp_path)
    articles = read_labels(path)
    assert [len(a.summaries) for a in articles] == [3, 3, 3, 3]
    report = evaluate_consistency(path)
    whole = report.parts["all"]["checker"]
    assert (whole.summaries, whole.inconsistent) == (12, 8)
    # M2 (a new number and a new name) is caught; M1 and M3 are supported: M3 is labelled
    # inconsistent (4.67), so recall is one half and precision one.
    assert whole.recall.value == pytest.approx(0.5)
    assert whole.precision.value == pytest.approx(1.0)
    text = consistency_markdown(report)
    assert "| all | checker (summary-level) | 4 | 12 | 8 | 0.750" in text
    # The sentence verdict agrees here: only M2 has an unsupported sentence.
    assert report.parts["all"]["sentences"].recall.value == pytest.approx(0.5)


def test_the_split_is_fixed_and_about_half() -> None:
    ids = [f"dm-test-{n:04d}" for n in range(400)]
    tuning = [i for i in ids if tuning_half(i)]
    assert 150 < len(tuning) < 250
    assert tuning_half("dm-test-f26d8400ae49b90d109c165d0f44b8f6ca253c08") is True


def test_eval_consistency_cli(tmp_path: Path) -> None:
    path = _labels(tmp_path)
    result = runner.invoke(cli.app, ["eval", "--consistency", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["parts"]["all"]["checker"]["summaries"] == 12
    assert set(data["parts"]["all"]) == {"checker", "sentences", "baseline"}


def test_eval_needs_pairs_or_labels(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["eval"])
    assert result.exit_code == 2
    assert "--consistency" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    result = runner.invoke(cli.app, ["eval", "--consistency", str(bad)])
    assert result.exit_code == 1
    assert "line 1: not in the SummEval layout" in result.output


def test_summeval_dev_figures(shared: Path) -> None:
    """The figures docs/quality.md reports: the 3-gram baseline as the issue states it, and
    the checker on both halves of the fixed split."""
    path = shared / "data" / "summeval-consistency" / "dev.jsonl"
    if not path.is_file():
        pytest.skip("no summeval-consistency data")
    report = evaluate_consistency(path)
    baseline = report.parts["all"]["baseline"]
    assert baseline.balanced_accuracy.value == pytest.approx(0.722, abs=0.001)
    assert report.parts["tuning"]["checker"].summaries == 512
    assert report.parts["held-out"]["checker"].summaries == 336
    # The checker's figures as docs/quality.md gives them (the target of 0.80 is not met):
    # the summary-level verdict, and the sentence verdict the guard acts on.
    figures = {
        (part, verdict): round(report.parts[part][verdict].balanced_accuracy.value, 3)
        for part in ("tuning", "held-out", "all")
        for verdict in ("checker", "sentences")
    }
    assert figures == {
        ("tuning", "checker"): 0.788,
        ("held-out", "checker"): 0.724,
        ("all", "checker"): 0.761,
        ("tuning", "sentences"): 0.736,
        ("held-out", "sentences"): 0.693,
        ("all", "sentences"): 0.717,
    }
    assert round(report.parts["held-out"]["checker"].precision.value, 3) == 0.400
    assert round(report.parts["held-out"]["sentences"].precision.value, 3) == 0.437


def test_markdown_marks_flagged_sentences_in_every_place() -> None:
    import datetime as _dt

    from digest.model import ArticleSummary, Digest, GuardNote, SectionSummary
    from digest.render import render_markdown

    note = GuardNote("summary", "It rained *hard*.", "flagged", "word rained not in the source")
    article = ArticleSummary(
        path="a.txt",
        title="T",
        summary="First. It rained *hard*.",
        tldr="It rained *hard*.",
        words=100,
        sections=(
            SectionSummary(None, "One", "It rained *hard*. Then sun.", 50),
            SectionSummary(None, "Two", "Other news.", 50),
        ),
        guard=(note,),
    )
    day = _dt.date(2026, 12, 3)
    md = render_markdown(Digest(day, "seq2seq", None, (article,), guard="flag", guarded=True))
    assert md.count(r"It rained \*hard\*.†") == 3  # TL;DR, summary and bullet
    assert md.count("*Not found in the source as written") == 1
    plain = render_markdown(Digest(day, "seq2seq", None, (replace(article, guard=()),)))
    assert "†" not in plain and "Not found in the source" not in plain


def test_the_page_and_both_email_parts_mark_what_the_markdown_marks() -> None:
    import datetime as dt

    import lxml.html

    from digest.email import render_email, subject_for
    from digest.html_page import render_html
    from digest.model import ArticleSummary, Digest, GuardNote, SectionSummary

    odd = "It cost <b>99</b> pounds."
    notes = (GuardNote("summary", odd, "flagged", "number 99 not in the source"),)
    article = ArticleSummary(
        path="a.txt",
        title="A",
        summary=f"Fine. {odd} More.",
        tldr=odd,
        words=400,
        sections=(
            SectionSummary(None, "One", f"Also {odd}", 100),
            SectionSummary(None, "Two", "Plain.", 100),
        ),
        guard=notes,
    )
    digest = Digest(date=dt.date(2026, 12, 3), engine="seq2seq", model="m", articles=(article,))
    when = dt.datetime(2026, 12, 3, 6, 30, tzinfo=dt.timezone.utc)
    page = " ".join(
        lxml.html.document_fromstring(render_html(digest, None, updated=when))
        .text_content()
        .split()
    )
    text, html, _ = render_email(digest)
    html_text = " ".join(lxml.html.document_fromstring(html).text_content().split())
    for shown in (page, html_text, " ".join(text.split())):
        # After the TL;DR, in the summary and in the bullet: three marks, and the footnote.
        assert shown.count(f"{odd}†") == 3, shown
        assert "† Not found in the source as written" in shown
    assert "<b>" not in page.replace(odd, "") and "<b>99</b>" not in render_html(
        digest, None, updated=when
    )
    assert subject_for(digest) == "Digest — 3 Dec 2026 — 1 article"
