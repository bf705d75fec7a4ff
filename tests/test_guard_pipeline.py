"""The guard in `digest make`: a tiny random seq2seq model's summaries (unsupported by
construction) fixed, flagged or left alone; the cache keeps what the model wrote; a tiny
random consistency model wired in, and the lexical checker alone when it does not load."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from digest import cli
from digest.errors import ModelUnavailable
from digest.faithfulness import Source, check_sentence, quick_sentences
from digest.guard import Guard
from digest.guard_model import ModelChecker, support_label
from digest.render import escape_markdown
from digest.text import normalise_space

runner = CliRunner()
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _sources(folder: Path) -> Path:
    """The seed article (real English prose, with sections): the tiny model's words, drawn
    from a made-up vocabulary, are not in it."""
    folder.mkdir()
    for seed in SEEDS.iterdir():
        (folder / seed.name).write_bytes(seed.read_bytes())
    return folder


def _make(src: Path, out: Path, model: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(
        cli.app,
        [
            "make",
            str(src),
            "-o",
            str(out),
            "-e",
            "seq2seq",
            "-m",
            str(model),
            "-g",
            "num_beams=1",
            "-g",
            "max_new_tokens=24",
            "-f",
            "md,json",
            "--backend",
            "transformers",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(next(out.glob("digest-*.json")).read_text("utf-8"))
    data["markdown"] = next(out.glob("digest-*.md")).read_text("utf-8")
    return data


def _texts(doc: dict[str, Any]) -> list[str]:
    sections = [s["summary"] for s in doc["sections"] if s["summary"] and not s["quoted"]]
    return [doc["summary"], doc["tldr"], *sections]


def _source_text(src: Path, doc: dict[str, Any]) -> str:
    return (src / Path(doc["path"]).name).read_text(encoding="utf-8")


def test_fix_leaves_only_supported_or_source_sentences(tiny_bart: Path, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    raw = _make(src, tmp_path / "off", tiny_bart, "--no-cache", "--guard", "off")
    assert raw["guard"] == {"mode": "off", "checked": False, "note": "not checked (--guard off)"}
    fixed = _make(src, tmp_path / "fix", tiny_bart, "--no-cache", "--guard", "fix")
    assert fixed["guard"]["mode"] == "fix" and fixed["guard"]["checked"] is True
    notes = [n for d in fixed["documents"] for n in d["guard"]]
    # The random model's text is not supported: the guard had work to do, and says what.
    assert notes and {n["action"] for n in notes} <= {"replaced", "dropped"}
    assert {n["part"] for n in notes} >= {"summary", "section"}
    for note in notes:
        assert note["reason"]
        if note["action"] == "replaced":
            assert note["replacement"]
    for doc, before in zip(fixed["documents"], raw["documents"], strict=True):
        text = _source_text(src, doc)
        source, flat = Source(text), normalise_space(text)
        for summary in _texts(doc):
            for sentence in quick_sentences(summary.replace(" […]", "")):
                assert (
                    normalise_space(sentence) in flat or check_sentence(sentence, source).supported
                ), sentence
        # Every note's sentence was the model's, and it is gone from the entry.
        for note in doc["guard"]:
            assert note["sentence"] in " ".join(_texts(before)) + " " + before["tldr"]
            assert note["sentence"] not in " ".join(_texts(doc))
    assert "†" not in fixed["markdown"]


def test_flag_keeps_and_marks(tiny_bart: Path, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    raw = _make(src, tmp_path / "off", tiny_bart, "--no-cache", "--guard", "off")
    flagged = _make(src, tmp_path / "flag", tiny_bart, "--no-cache", "--guard", "flag")
    notes = [n for d in flagged["documents"] for n in d["guard"]]
    assert notes and {n["action"] for n in notes} == {"flagged"}
    # Flagging changes nothing the reader sees in the JSON's texts: same summaries as off.
    for doc, before in zip(flagged["documents"], raw["documents"], strict=True):
        assert _texts(doc) == _texts(before)
        for note in doc["guard"]:
            assert note["sentence"] in " ".join(_texts(doc))
    md = flagged["markdown"]
    assert md.count("*Not found in the source as written") == sum(
        1 for d in flagged["documents"] if d["guard"]
    )
    # Each flagged sentence is marked wherever it is shown: summary, TL;DR or bullet.
    for doc in flagged["documents"]:
        for note in doc["guard"]:
            shown = escape_markdown(note["sentence"])
            assert md.count(shown) == md.count(shown + "†") > 0, note


def test_cache_holds_what_the_model_wrote(
    tiny_bart: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _sources(tmp_path / "src")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = _make(src, tmp_path / "1", tiny_bart, *cache, "--guard", "fix")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="digest"):
        raw = _make(src, tmp_path / "2", tiny_bart, *cache, "--guard", "off")
    # The article summary comes from the cache (the sections differ: they leave out what the
    # summary said, and fixing changed the summary).
    assert re.search(r"summaries: [1-9]\d* from the cache", caplog.text)
    uncached = _make(src, tmp_path / "3", tiny_bart, "--no-cache", "--guard", "off")
    # The fixing run did not store its fixes: a cached run without the guard is the model's.
    assert [_texts(d) for d in raw["documents"]] == [_texts(d) for d in uncached["documents"]]
    again = _make(src, tmp_path / "4", tiny_bart, *cache, "--guard", "fix")
    assert [_texts(d) for d in again["documents"]] == [_texts(d) for d in first["documents"]]
    assert [d["guard"] for d in again["documents"]] == [d["guard"] for d in first["documents"]]


def test_extractive_summaries_are_not_checked(tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    result = runner.invoke(
        cli.app,
        ["make", str(src), "-o", str(tmp_path / "out"), "-e", "extractive", "-f", "json",
         "--no-cache", "--guard", "fix"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(next((tmp_path / "out").glob("digest-*.json")).read_text("utf-8"))
    assert data["guard"]["checked"] is False
    assert "extractive" in data["guard"]["note"]
    assert all(d["guard"] == [] for d in data["documents"])


@pytest.fixture(scope="session")
def objecting_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("nli-objects"), supported_bias=-20.0)


@pytest.fixture(scope="session")
def agreeing_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("nli-agrees"), supported_bias=20.0)


def test_consistency_model_is_consulted(
    tiny_bart: Path, objecting_classifier: Path, agreeing_classifier: Path, tmp_path: Path
) -> None:
    src = _sources(tmp_path / "src")
    lexical = _make(src, tmp_path / "lex", tiny_bart, "--no-cache", "--guard", "flag")
    objecting = _make(
        src, tmp_path / "obj", tiny_bart, "--no-cache", "--guard", "flag",
        "--guard-model", str(objecting_classifier),
    )  # fmt: skip
    agreeing = _make(
        src, tmp_path / "agr", tiny_bart, "--no-cache", "--guard", "flag",
        "--guard-model", str(agreeing_classifier),
    )  # fmt: skip
    lex_notes = [n for d in lexical["documents"] for n in d["guard"]]
    obj_notes = [n for d in objecting["documents"] for n in d["guard"]]
    agr_notes = [n for d in agreeing["documents"] for n in d["guard"]]
    assert lex_notes and all(n["model_score"] is None for n in lex_notes)
    # Each checked sentence went to the model too, and its score is in the JSON.
    assert len(obj_notes) >= len(lex_notes)
    assert all(n["model_score"] is not None and n["model_score"] < 0.5 for n in obj_notes)
    # Used in addition: a model that always agrees takes nothing from the lexical verdicts.
    assert [n["sentence"] for n in agr_notes] == [n["sentence"] for n in lex_notes]
    assert all(n["model_score"] > 0.5 for n in agr_notes)


def test_an_objecting_model_flags_what_the_lexical_checker_passes(
    objecting_classifier: Path, agreeing_classifier: Path
) -> None:
    source = (
        "The council said on Tuesday that the new rail line would open in 2027. "
        "Critics did not agree with the plan."
    )
    summary = "Critics did not agree with the plan. The new rail line would open in 2027."
    assert Guard("flag").apply(summary, source, "summary")[1] == []
    kept, notes = Guard("flag", ModelChecker(str(objecting_classifier))).apply(
        summary, source, "summary"
    )
    # The first sentence is the source's own, word for word: never sent to the model.
    assert kept == summary
    assert [n.sentence for n in notes] == ["The new rail line would open in 2027."]
    assert "consistency model gives it 0% support" in notes[0].reason
    assert notes[0].model_score is not None and notes[0].model_score < 0.01
    fixed, notes = Guard("fix", ModelChecker(str(objecting_classifier))).apply(
        summary, source, "summary"
    )
    assert notes[0].action == "replaced"
    assert fixed == (
        "Critics did not agree with the plan. "
        "The council said on Tuesday that the new rail line would open in 2027."
    )
    assert Guard("flag", ModelChecker(str(agreeing_classifier))).apply(
        summary, source, "summary"
    ) == (summary, [])


def test_consistency_model_without_a_supported_label_is_refused(tmp_path: Path) -> None:
    assert support_label({0: "CONTRADICTION", 1: "Entailment"}) == 1
    assert support_label({0: "inconsistent", 1: "consistent"}) == 1
    with pytest.raises(ModelUnavailable, match="name none of"):
        support_label({0: "LABEL_0", 1: "LABEL_1"})


def test_consistency_model_that_does_not_load_falls_back(
    tiny_bart: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _sources(tmp_path / "src")
    lexical = _make(src, tmp_path / "lex", tiny_bart, "--no-cache", "--guard", "flag")
    missing = tmp_path / "no-such-model"
    with caplog.at_level(logging.WARNING, logger="digest"):
        fallback = _make(
            src, tmp_path / "fb", tiny_bart, "--no-cache", "--guard", "flag",
            "--guard-model", str(missing),
        )  # fmt: skip
    assert "the guard uses the lexical checker alone" in caplog.text
    assert [d["guard"] for d in fallback["documents"]] == [d["guard"] for d in lexical["documents"]]


def test_bad_guard_mode_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "o"), "--guard", "mend"]
    )
    assert result.exit_code == 2
    assert "--guard must be one of fix, flag, off" in result.output


def test_eval_reports_the_share_the_guard_flags(tiny_bart: Path, tmp_path: Path) -> None:
    article = next(SEEDS.iterdir()).read_text(encoding="utf-8")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"article": article, "reference": "A made-up reference summary."}) + "\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    common = ["eval", str(pairs), "--no-cache", "-o", str(report)]
    model = [
        "-e",
        "seq2seq",
        "-m",
        str(tiny_bart),
        "--backend",
        "transformers",
        "-g",
        "num_beams=1",
    ]
    result = runner.invoke(cli.app, [*common, "--json", *model, "--guard", "flag"])
    assert result.exit_code == 0, result.output
    guard = json.loads(report.read_text(encoding="utf-8"))["guard"]
    assert guard["mode"] == "flag" and guard["checked"] is True
    # The random model's summary: every sentence of it unsupported.
    assert guard["sentences"] > 0 and guard["unsupported"] == guard["sentences"]
    assert guard["unsupported_share"] == 1.0
    result = runner.invoke(cli.app, [*common, *model, "--guard", "fix"])
    assert result.exit_code == 0, result.output
    assert "Faithfulness: the guard found" in result.output
    assert "and replaced or dropped them before scoring" in result.output
    result = runner.invoke(cli.app, [*common, "-e", "extractive", "--guard", "fix"])
    assert result.exit_code == 0, result.output
    assert "Faithfulness: not checked: extractive summaries" in result.output


def test_guard_mode_from_digest_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGEST_GUARD")  # the environment would win over the file
    src = _sources(tmp_path / "src")
    config = tmp_path / "digest.toml"
    config.write_text('guard = "flag"\n', encoding="utf-8")
    out = tmp_path / "out"
    args = ["make", str(src), "-o", str(out), "-e", "extractive", "-f", "json", "--no-cache"]
    result = runner.invoke(cli.app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    data = json.loads(next(out.glob("digest-*.json")).read_text("utf-8"))
    assert data["guard"]["mode"] == "flag"
    result = runner.invoke(cli.app, ["--config", str(config), *args, "--guard", "off"])
    assert result.exit_code == 0, result.output
    data = json.loads(next(out.glob("digest-*.json")).read_text("utf-8"))
    assert data["guard"]["mode"] == "off"
