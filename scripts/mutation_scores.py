"""Per-module mutation scores from mutmut's results (after `mutmut run`; docs/testing.md)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code  # the names mutmut itself shows


def scores(mutants: Path) -> dict[str, Counter[str]]:
    result: dict[str, Counter[str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        counts: Counter[str] = Counter()
        for code in data.get("exit_code_by_key", {}).values():
            counts[status_by_exit_code[code]] += 1
        result[str(meta.relative_to(mutants)).removesuffix(".meta")] = counts
    return result


def main() -> int:
    mutants = Path(sys.argv[1] if len(sys.argv) > 1 else "mutants")
    print("| module | mutants | killed | survived | no test reaches it | not checked | score |")
    print("|---|---|---|---|---|---|---|")
    for module, counts in scores(mutants).items():
        total = sum(counts.values())
        killed = counts["killed"] + counts["timeout"]
        score = killed / total if total else 0.0
        print(
            f"| `{module}` | {total} | {killed} | {counts['survived']} | {counts['no tests']} "
            f"| {counts['not checked']} | {score:.0%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
