"""scripts/evaluate_rouge.py (`make quality`): pairs files from ../shared, splits, a real run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, shared_path


def _load_script() -> ModuleType:
    # scripts/ is not a package; load the file the way `python scripts/evaluate_rouge.py` would.
    spec = importlib.util.spec_from_file_location(
        "evaluate_rouge", ROOT / "scripts" / "evaluate_rouge.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evaluate_rouge = _load_script()


def test_split_is_a_stable_half_by_id_hash() -> None:
    ids = [f"doc-{i}" for i in range(400)]
    splits = [evaluate_rouge.split_of(i) for i in ids]
    assert set(splits) == {"dev", "held-out"}
    assert 150 < splits.count("dev") < 250
    # Fixed by the id alone: the same on every machine, in every order.
    assert [evaluate_rouge.split_of(i) for i in reversed(ids)] == splits[::-1]
    assert evaluate_rouge.split_of("doc-7") == evaluate_rouge.split_of("doc-7")


def test_18f_pairs_keep_only_the_title_of_the_front_matter(tmp_path: Path) -> None:
    folder = tmp_path / "markdown-18f"
    folder.mkdir()
    (folder / "post.md").write_text(
        '---\ntitle: "A post"\nexcerpt: The secret summary.\ndescription: The secret summary.\n'
        "---\n\nThe body says something else entirely.\n",
        encoding="utf-8",
    )
    (folder / "no-excerpt.md").write_text("---\ntitle: x\n---\n\nBody.\n", encoding="utf-8")
    [row] = list(evaluate_rouge.eighteen_f(tmp_path))
    assert row["reference"] == "The secret summary."
    assert row["format"] == "markdown"
    assert "secret" not in str(row["article"])
    assert str(row["article"]).startswith('---\ntitle: "A post"\n---')


def test_bbc_glued_references_get_their_spaces_back(tmp_path: Path) -> None:
    folder = tmp_path / "bbc-news-summary"
    folder.mkdir()
    row = {
        "id": "b/1",
        "article": "T\n\nA. B.",
        "summary": "Profits rose to $1.2bn.The shares fell.",
    }
    (folder / "pairs.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    [pair] = list(evaluate_rouge.bbc(tmp_path))
    assert pair["reference"] == "Profits rose to $1.2bn. The shares fell."


def test_missing_data_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_rouge.main(["--data", str(tmp_path / "absent")]) == 2
    assert "absent not found" in capsys.readouterr().err


def test_a_small_real_run_writes_pairs_and_reports(tmp_path: Path) -> None:
    pytest.importorskip("rouge_score")
    data = shared_path("data")
    shared_path("data", "news-writers", "pairs.jsonl")
    code = evaluate_rouge.main(
        ["--data", str(data), "--sets", "news-writers", "--split", "held-out"]
        + ["--limit", "4", "--work", str(tmp_path)]
    )
    assert code == 0
    pairs = (tmp_path / "news-writers-held-out.jsonl").read_text(encoding="utf-8").splitlines()
    assert pairs and all(evaluate_rouge.split_of(json.loads(p)["id"]) == "held-out" for p in pairs)
    report = (tmp_path / "news-writers-held-out-article.md").read_text(encoding="utf-8")
    assert "| LEAD-3 |" in report and "4 article(s) scored" in report
    assert "| LEAD-1 |" in (tmp_path / "news-writers-held-out-tldr.md").read_text(encoding="utf-8")
