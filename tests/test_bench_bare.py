"""scripts/bench_bare.py: its article choice, and a clean skip without ../shared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_bare.py"


def test_skips_cleanly_without_shared(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("benchmark skipped: ")
    assert result.stdout == ""


def test_short_articles_are_spread_over_the_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from bench_bare import select_short
    finally:
        sys.path.remove(str(SCRIPT.parent))
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"id": f"c/{n:03d}", "article": " ".join(["word"] * (100 if n % 3 else 400))}
        for n in range(60)
    ]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    chosen = select_short(pairs, 8, 250)
    assert len(chosen) == 8
    assert all(len(r["article"].split()) <= 250 for r in chosen)
    assert chosen[0]["id"] == "c/001" and chosen[-1]["id"] > "c/040"  # spread, not the first 8
