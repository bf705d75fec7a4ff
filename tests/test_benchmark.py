"""scripts/benchmark.py: its settings, its article choice, and a clean skip without ../shared."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skips_cleanly_without_shared(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stderr.startswith("benchmark skipped: ")
    assert "absent" in result.stderr
    assert result.stdout == ""


def test_output_lengths_are_forced_and_both_sides_share_settings() -> None:
    benchmark = load_script()
    greedy = benchmark.decoding(1, 64)
    assert greedy["min_new_tokens"] == greedy["max_new_tokens"] == 64
    assert "length_penalty" not in greedy  # beam-only settings would only draw warnings
    assert benchmark.decoding(4, 32)["length_penalty"] == 2.0


def test_articles_are_spread_over_the_file(tmp_path: Path) -> None:
    benchmark = load_script()
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"id": f"cat{n // 10}/{n:03}", "article": "x"} for n in range(50)]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    chosen = benchmark.select_articles(pairs, 5)
    assert [r["id"] for r in chosen] == ["cat0/000", "cat1/010", "cat2/020", "cat3/030", "cat4/040"]
