"""Score the extractive engine's article summaries against BBC News references with ROUGE.

    python scripts/evaluate_rouge.py [--data PATH] [--split all|dev|test] [--limit N]

Prints mean ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 (rouge-score, Porter stemming) for the engine
and for two baselines: LEAD-3, and LEAD-k, the first k sentences where k is the number the
engine kept for that article (position alone, at the engine's own length). The dev split
(odd-numbered ids) is the one the engine was tuned on; test (even ids) is held out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "bbc-news-summary" / "pairs.jsonl"

try:
    import digest  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from digest.engines.extractive import ExtractiveSummariser  # noqa: E402
from digest.text import split_sentences  # noqa: E402

METRICS = ("rouge1", "rouge2", "rougeLsum")
HEADINGS = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeLsum": "ROUGE-Lsum"}

# A sentence end glued to the next sentence ("$10.9bn.For the year"): the BBC references were
# made by concatenating article sentences without a space, which pysbd cannot split.
_GLUED = re.compile(r"([^\W_]{2}[.!?][\"'”’)]?)(?=[\"'“‘]?[A-Z])")


@dataclass(frozen=True)
class Pair:
    id: str
    body: str
    reference: str


def strip_title(article: str) -> str:
    """The article without its first line, as the digest's text reader takes that as the title."""
    return article.partition("\n")[2].strip()


def in_split(pair_id: str, split: str) -> bool:
    """dev = odd-numbered ids (used for tuning), test = even-numbered ids (held out)."""
    if split == "all":
        return True
    number = int(re.sub(r"\D", "", pair_id.rsplit("/", 1)[-1]) or 0)
    return (number % 2 == 1) == (split == "dev")


def load_pairs(path: Path, *, split: str = "all", limit: int | None = None) -> list[Pair]:
    pairs = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if in_split(row["id"], split):
                pairs.append(Pair(row["id"], strip_title(row["article"]), row["summary"]))
                if limit is not None and len(pairs) >= limit:
                    break
    return pairs


def reference_sentences(reference: str, article_sentences: Sequence[str]) -> list[str]:
    """The reference's sentences, one per item, for ROUGE-Lsum.

    The references are article sentences glued together, so boundaries are recovered by
    matching the article's own sentences (split as the engine splits them) in order; any stretch
    that matches none is split with split_sentences after the missing spaces are put back.
    """
    candidates = sorted({s for s in article_sentences if s}, key=len, reverse=True)
    sentences: list[str] = []
    unmatched: list[str] = []

    def flush() -> None:
        if unmatched:
            sentences.extend(split_sentences(_GLUED.sub(r"\1 ", "".join(unmatched))))
            unmatched.clear()

    position = 0
    while position < len(reference):
        match = next((s for s in candidates if reference.startswith(s, position)), None)
        if match is None:
            unmatched.append(reference[position])
            position += 1
            continue
        flush()
        sentences.append(match)
        position += len(match)
    flush()
    return sentences


def lead(sentences: Sequence[str], k: int) -> list[str]:
    return list(sentences[:k])


def evaluate(
    pairs: Sequence[Pair],
    engine: ExtractiveSummariser | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Mean F1 per system and metric, and each system's mean length in words ("words").

    The "reference" entry holds only the references' mean length.
    """
    from rouge_score import rouge_scorer  # a test extra, not a runtime dependency

    engine = engine or ExtractiveSummariser()
    engine.prepare()
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    summaries = engine.summarise([p.body for p in pairs], kind="article", progress=progress)
    totals: dict[str, dict[str, float]] = {}
    reference_words = 0

    def add(system: str, candidate: Sequence[str], reference: Sequence[str]) -> None:
        # One sentence per line is what rougeLsum reads as sentence boundaries.
        scores = scorer.score("\n".join(reference), "\n".join(candidate))
        row = totals.setdefault(system, dict.fromkeys((*METRICS, "words"), 0.0))
        for metric in METRICS:
            row[metric] += scores[metric].fmeasure
        row["words"] += sum(len(s.split()) for s in candidate)

    for pair, summary in zip(pairs, summaries, strict=True):
        article = split_sentences(pair.body)
        reference = reference_sentences(pair.reference, article)
        chosen = split_sentences(summary)
        add("extractive", chosen, reference)
        add("LEAD-3", lead(article, 3), reference)
        add("LEAD-k (same k)", lead(article, len(chosen)), reference)
        reference_words += sum(len(s.split()) for s in reference)
    results = {
        system: {metric: value / max(1, len(pairs)) for metric, value in row.items()}
        for system, row in totals.items()
    }
    results["reference"] = {"words": reference_words / max(1, len(pairs))}
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    header = f"{'system':<18}" + "".join(f"{HEADINGS[m]:>12}" for m in METRICS) + f"{'words':>8}"
    lines = [header, "-" * len(header)]
    for system, row in results.items():
        if system == "reference":
            continue
        cells = "".join(f"{100 * row[m]:>12.2f}" for m in METRICS)
        lines.append(f"{system:<18}{cells}{row['words']:>8.0f}")
    if "reference" in results:
        lines.append(f"(reference summaries: {results['reference']['words']:.0f} words on average)")
    return "\n".join(lines)


def _ticker(total: int, out: Callable[[str], object]) -> Callable[[int], None]:
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if done % 250 == 0 or done == total:
            out(f"summarised {done}/{total}")

    return tick


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="pairs.jsonl to read")
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    args = parser.parse_args(None if argv is None else list(argv))
    if not args.data.is_file():
        print(
            f"error: {args.data} not found; it lives in the team's ../shared folder "
            "(pass --data to point elsewhere)",
            file=sys.stderr,
        )
        return 2
    pairs = load_pairs(args.data, split=args.split, limit=args.limit)
    if not pairs:
        print("error: no pairs selected", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = evaluate(
        pairs, progress=_ticker(len(pairs), lambda line: print(line, file=sys.stderr))
    )
    print(f"BBC News Summary, split={args.split}, {len(pairs)} articles ({args.data})")
    print("Mean F1 x 100, rouge-score with Porter stemming; words = mean summary length.")
    print(format_table(results))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
