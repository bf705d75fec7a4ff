"""Benchmark the story grouping (digest.stories) at 1,000 to 10,000 documents.

Usage: python scripts/benchmark_stories.py [--shared ../shared] [--sizes 1000 3000 10000]
           [--undated]

The documents are made in memory (never written anywhere) from the 215 articles of
../shared/data/story-clusters: each synthetic event takes one article, marks a random third of
its words as its own (so events made from one article share most words but not all, like two
reports on one topic), and gets 1 to 5 documents, each a random 60% of the article's sentences
with a date within 2 days of the event's (events spread over two years). Each size runs in a
fresh process, which prints the seconds `group_stories` took (wall clock, and the process's CPU
time: on a shared machine the wall clock also counts other jobs' turns) and its peak resident
memory (VmHWM in /proc/self/status, so it includes Python, NumPy and scikit-learn).
--undated drops the dates (no date window to narrow the candidates: the worst case).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.model import Document, Section  # noqa: E402
from digest.stories import group_stories  # noqa: E402

ARTICLES = Path("data") / "story-clusters" / "articles.jsonl"


def synthetic(shared: Path, count: int, seed: int = 21, dated: bool = True) -> list[Document]:
    rows = [json.loads(line) for line in (shared / ARTICLES).read_text("utf-8").splitlines()]
    rng = random.Random(seed)
    start = _dt.date(2020, 1, 1).toordinal()
    documents: list[Document] = []
    while len(documents) < count:
        event = len(documents)
        row = rng.choice(rows)
        vocabulary = sorted(set(re.findall(r"\w+", row["text"])))
        own = set(rng.sample(vocabulary, len(vocabulary) // 3))

        def mark(text: str, own: set[str] = own, event: int = event) -> str:
            return re.sub(r"\w+", lambda m: m[0] + f"q{event}" if m[0] in own else m[0], text)

        sentences = re.split(r"(?<=[.!?])\s+", row["text"])
        day = start + rng.randrange(730)
        for _ in range(rng.randint(1, 5)):
            kept = [s for s in sentences if rng.random() < 0.6] or sentences[:1]
            date = _dt.date.fromordinal(day + rng.randint(0, 2)).isoformat()
            section = Section(title=None, paragraphs=(mark(" ".join(kept)),))
            title = mark(row["title"] or kept[0][:80])
            path = Path(f"synthetic/{len(documents)}.txt")
            document = Document(
                path=path, title=title, sections=(section,), date=date if dated else None
            )
            documents.append(document)
            if len(documents) == count:
                break
    return documents


def peak_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]


def one(shared: Path, count: int, dated: bool = True) -> dict[str, float]:
    documents = synthetic(shared, count, dated=dated)
    began, cpu = time.perf_counter(), time.process_time()
    stories = group_stories(documents)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {
        "documents": count,
        "stories": len(set(stories)),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_mib": round(peak_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--undated", action="store_true", help="documents without dates")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.shared, args.one, dated=not args.undated)))
        return
    print(f"{'documents':>9} {'stories':>7} {'seconds':>7} {'CPU s':>7} {'peak MiB':>8}")
    for size in args.sizes:
        command = [sys.executable, __file__, "--shared", str(args.shared), "--one", str(size)]
        command += ["--undated"] if args.undated else []
        result = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
        print(
            f"{result['documents']:>9} {result['stories']:>7} "
            f"{result['seconds']:>7.2f} {result['cpu_seconds']:>7.2f} {result['peak_mib']:>8.1f}"
        )


if __name__ == "__main__":
    main()
