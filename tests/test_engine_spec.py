"""EngineSpec: an engine as a picklable value, built the same wherever it is built."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_models import make_text

from digest.engines import get_engine
from digest.engines.spec import EngineSpec
from digest.executing import build_engine
from digest.pipeline import Options
from digest.run_plan import plan_run


def test_a_spec_survives_pickling_and_builds_the_same_engine() -> None:
    spec = EngineSpec.create(
        "seq2seq", model="t5-small", generate={"num_beams": 2}, options={"backend": "auto"}
    )
    again = pickle.loads(pickle.dumps(spec.with_prompts()))
    assert again.named("seq2seq").engine == "seq2seq"
    assert dict(again.generate) == {"num_beams": 2}
    assert dict(again.prompts)["t5.j2"].startswith("summarize")
    engine = again.build()
    assert (engine.name, engine.model) == ("seq2seq", "t5-small")


def test_options_become_the_spec_the_pipeline_builds() -> None:
    options = Options(engine="seq2seq", model="fast", generate={"num_beams": 3})
    spec = plan_run(options).spec
    assert (spec.engine, spec.model, dict(spec.generate)) == (
        "seq2seq",
        "t5-small",
        {"num_beams": 3},
    )
    assert plan_run(Options(engine="extractive")).spec == EngineSpec("extractive")


def test_the_conversions_folder_travels_beside_the_options_not_in_them(tmp_path: Path) -> None:
    folder = tmp_path / "ct2"
    plain = EngineSpec.create("seq2seq", model="t5-small", options={"threads": 1})
    spec = EngineSpec.create(
        "seq2seq", model="t5-small", options={"threads": 1}, conversions=folder
    )
    assert spec.conversions == str(folder)
    # The summary cache fingerprints the options: where conversions live changes no key.
    assert spec.options == plain.options == (("threads", 1),)
    assert spec.arguments() == {**plain.arguments(), "conversions": str(folder)}
    assert "conversions" not in plain.arguments()
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec
    assert again.build().conversions == folder  # type: ignore[attr-defined]
    # auto's seq2seq engine is told it too; the extractive engine takes nothing.
    assert spec.named("auto").named("seq2seq").arguments()["conversions"] == str(folder)
    extractive = EngineSpec.create("extractive", conversions=folder)
    assert extractive.arguments() == {} and extractive.build().name == "extractive"


def test_extractive_from_a_spec_summarises_like_the_registry() -> None:
    texts = [make_text(200, seed=s) for s in range(3)]
    engine, notices = build_engine(pickle.loads(pickle.dumps(EngineSpec("extractive"))))
    assert notices == []
    assert engine.summarise(texts, kind="article") == get_engine("extractive").summarise(
        texts, kind="article"
    )


def test_carried_prompts_win_where_the_prompt_folders_differ(
    tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The driver's own prompt folder (DIGEST_PROMPTS) travels in the spec; the worker that
    # builds the engine has no such folder, and must still use the driver's wording.
    mine = tmp_path / "prompts"
    mine.mkdir()
    (mine / "t5.j2").write_text("condense: {{ text }}", encoding="utf-8")
    monkeypatch.setenv("DIGEST_PROMPTS", str(mine))
    spec = EngineSpec.create(
        "seq2seq", model=str(tiny_t5), options={"backend": "transformers", "threads": 1}
    ).with_prompts()
    monkeypatch.delenv("DIGEST_PROMPTS")
    carried, _ = build_engine(spec)
    plain, _ = build_engine(replace(spec, prompts=()))
    assert carried._prompt is not None and plain._prompt is not None  # type: ignore[attr-defined]
    assert carried._prompt("x") == "condense: x"  # type: ignore[attr-defined]
    assert plain._prompt("x") == "summarize: x"  # type: ignore[attr-defined]


def test_auto_builds_its_fallback_with_a_notice() -> None:
    engine, notices = build_engine(EngineSpec.create("auto", model="no-such-org/no-such-model"))
    assert engine.name == "extractive"
    assert notices and notices[0].startswith("Summaries are extractive because the seq2seq model")
