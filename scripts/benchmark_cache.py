"""Benchmark: what automatic cache pruning adds to a fully cached re-run of 100 documents.

Every condition runs in the same process, interleaved round by round, so machine noise hits
them alike; the report gives medians and the difference to the run without pruning.

    python scripts/benchmark_cache.py                 # writes docs/benchmarks/cache-prune.md
    python scripts/benchmark_cache.py --rounds 5 --no-write

Conditions (the extractive engine; every summary already cached, so no engine is built):
  off            cache_max_age = never: no pruning, rows used within the hour (nothing written)
  not due        cache_max_age = 90d, pruned less than a day ago: one indexed read
  due            pruned over a day ago: the prune runs (nothing old enough to delete)
  due, nightly   as a nightly run finds it: every row last used a day ago (so each is
                 re-stamped), the prune is due and deletes --stale rows of documents long gone
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import machine  # noqa: E402  (one description of the machine for every report)

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT.parent / "shared" / "data" / "bbc-news-summary" / "pairs.jsonl"
DAY = 86400.0


def write_documents(folder: Path, count: int) -> str:
    """`count` BBC articles from ../shared, or generated ones where it is absent."""
    folder.mkdir(parents=True)
    if PAIRS.is_file():
        with PAIRS.open(encoding="utf-8") as lines:
            for n, line in zip(range(count), lines, strict=False):
                (folder / f"{n:03d}.txt").write_text(json.loads(line)["article"], encoding="utf-8")
        return f"{count} BBC News articles from ../shared"
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_engine import write_articles

    write_articles(folder, count)
    return f"{count} generated articles (../shared absent)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stale", type=int, default=200, help="rows the nightly prune deletes")
    parser.add_argument("--output", type=Path, default=ROOT / "docs/benchmarks/cache-prune.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from digest.cache import CACHE_FILENAME, Cached, SummaryCache
    from digest.pipeline import Options, make_digest

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        what = write_documents(work / "in", args.documents)
        cache = work / "cache" / CACHE_FILENAME
        ages = {"off": None, "not due": 90 * DAY, "due": 90 * DAY, "due, nightly": 90 * DAY}
        options = {
            name: Options(engine="extractive", cache=cache, cache_max_age=age)
            for name, age in ages.items()
        }
        make_digest([work / "in"], options["off"])  # fills the cache
        with sqlite3.connect(cache) as db:
            rows = db.execute("SELECT count(*) FROM summaries").fetchone()[0]

        def set_up(name: str) -> None:
            now = time.time()
            pruned = now - (2 * DAY if name.startswith("due") else 60)
            with sqlite3.connect(cache) as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('pruned', ?)", [pruned])
                used = now - DAY if name == "due, nightly" else now
                db.execute("UPDATE summaries SET used = ?", [used])
            if name == "due, nightly":
                with SummaryCache(cache) as store:
                    stale = [
                        (f"gone-{n}", Cached("x" * 400, "extractive", None, None))
                        for n in range(args.stale)
                    ]
                    store.put_many(stale)
                with sqlite3.connect(cache) as db:
                    db.execute(
                        "UPDATE summaries SET used = ? WHERE key LIKE 'gone-%'", [now - 100 * DAY]
                    )
            with sqlite3.connect(cache) as db:  # every run starts from a checkpointed WAL
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        # The pruning step and the last-use writes, timed inside each run: the whole run's
        # time on a shared machine varies by more than they cost.
        import digest.cache_maintenance as maintenance

        spent = {"prune": 0.0, "touch": 0.0}

        def timed(name: str, function: Any) -> Any:
            def wrapper(*a: Any, **k: Any) -> Any:
                started = time.perf_counter()
                try:
                    return function(*a, **k)
                finally:
                    spent[name] += time.perf_counter() - started

            return wrapper

        maintenance.prune_if_due = timed("prune", maintenance.prune_if_due)
        SummaryCache.flush = timed("touch", SummaryCache.flush)  # type: ignore[method-assign]

        timings: dict[str, list[float]] = {name: [] for name in ages}
        parts: dict[str, list[tuple[float, float]]] = {name: [] for name in ages}
        shuffle = random.Random(9)
        for _ in range(args.rounds):
            order = list(ages)
            shuffle.shuffle(order)  # no condition always follows the one that wrote the most
            for name in order:
                set_up(name)
                spent.update(prune=0.0, touch=0.0)
                started = time.perf_counter()
                result = make_digest([work / "in"], options[name])
                timings[name].append(time.perf_counter() - started)
                parts[name].append((spent["prune"], spent["touch"]))
                assert len(result.articles) == args.documents
        with sqlite3.connect(cache) as db:
            left = db.execute("SELECT count(*) FROM summaries WHERE key LIKE 'gone-%'").fetchone()[
                0
            ]
        assert left == 0, "the nightly prune left stale rows"

    base = statistics.median(timings["off"])
    lines = [
        "# Automatic cache pruning: cost on a cached re-run",
        "",
        f"- Generated by `scripts/benchmark_cache.py` on {_dt.date.today().isoformat()}",
        f"- Machine: {machine()}; load average {os.getloadavg()[0]:.2f}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        f"- Input: {what}; {rows} cached summaries; every run fully cached (no engine built);",
        f"  {args.rounds} rounds, conditions interleaved; `make_digest` timed in-process",
        "",
        "| condition | whole run, median (ms) | min (ms) | vs off (ms) "
        "| in pruning (ms, median / max) | recording use (ms, median / max) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in timings.items():
        median = statistics.median(values)
        prune = [p for p, _ in parts[name]]
        touch = [t for _, t in parts[name]]
        lines.append(
            f"| {name} | {median * 1000:.1f} | {min(values) * 1000:.1f} | "
            f"{(median - base) * 1000:+.1f} | {statistics.median(prune) * 1000:.2f} / "
            f"{max(prune) * 1000:.2f} | {statistics.median(touch) * 1000:.2f} / "
            f"{max(touch) * 1000:.2f} |"
        )
    lines += [
        "",
        f"`due, nightly`: every row re-stamped as used and {args.stale} stale rows deleted.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
