"""Benchmark: the faithfulness guard's share of a 24-article seq2seq run.

A real-size t5-small with random weights (built from ../shared's config and tokenizer) runs
the library's own path over 24 BBC articles at beam 4 and 40 new tokens (as the CTranslate2
benchmark does) three times: guard off, flag and fix. The guard's own time is measured inside
it (digest.guard.GuardCounts.seconds), and set against the whole summarising time of the
same run. Random weights write text nothing in the source supports, so every sentence is
checked in full and, with fix, a replacement is searched for: the guard's worst case.

    python scripts/bench_guard.py                      # CTranslate2 when installed
    python scripts/bench_guard.py --backend transformers
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import ARCHITECTURE, DATA, build_model, decoding, select_articles  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from digest.executing import build_engine
    from digest.guard import Guard
    from digest.options import Options
    from digest.reading import read_sources
    from digest.run_plan import plan_run
    from digest.summary_tree import summarise_documents

    with tempfile.TemporaryDirectory(prefix="bench-guard-") as scratch:
        folder = Path(scratch)
        build_model(args.shared / ARCHITECTURE, folder / "model")
        files = []
        for n, row in enumerate(select_articles(args.shared / DATA, args.limit)):
            path = folder / "articles" / f"{n:02d}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_text(row["article"], encoding="utf-8")
            files.append(path)
        options = Options(
            engine="seq2seq",
            model=str(folder / "model"),
            backend=args.backend,
            generate=decoding(args.beams, args.tokens),
            conversions=folder / "ct2",
        )
        engine, _ = build_engine(plan_run(options).spec)
        documents, _, _ = read_sources(files)
        words = sum(d.words for d in documents)
        print(f"{len(documents)} articles, {words} words; backend {engine.backend}")
        summarise_documents(documents, engine)  # warm-up: first-call costs out of the way
        print("| guard | summarising (s) | guard (s) | guard share | sentences | unsupported |")
        print("|---|---:|---:|---:|---:|---:|")
        for mode in ("off", "flag", "fix"):
            guard = Guard(mode)
            started = time.perf_counter()
            summarise_documents(documents, engine, guard=guard)
            total = time.perf_counter() - started
            c = guard.counts
            unsupported = sum(found for _, found in c.parts.values())
            print(
                f"| {mode} | {total:.2f} | {c.seconds:.3f} | {100 * c.seconds / total:.1f}% | "
                f"{c.sentences} | {unsupported} |"
            )


if __name__ == "__main__":
    main()
