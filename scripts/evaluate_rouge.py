"""Reproduce docs/quality.md: build pairs files from ../shared, split them, run `digest eval`.

    python scripts/evaluate_rouge.py [--sets news-writers,18f,bbc] [--split all|dev|held-out|whole]
                                     [--engine extractive] [--work outputs/quality] [--limit N]

For each data set it writes `WORK/<set>-<split>.jsonl` (the pairs `digest eval` reads; the
texts stay out of the repository) and `WORK/<set>-<split>-<kind>.md` (its report), and prints
every report. The split is fixed by a hash of each pair's id: `dev` is the half the
extractive engine was tuned on, `held-out` the half it never was; `all` (the default) runs
both, `whole` the set undivided.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"

try:
    import digest  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from digest.evaluate import (  # noqa: E402
    SystemResult,
    report_markdown,
    score_system,
)
from digest.sources.markdown import split_front_matter  # noqa: E402
from digest.text import split_sentences  # noqa: E402

SPLITS = ("all", "dev", "held-out", "whole")
#: (kind, baselines) scored for each set. BBC's references are long extracts: only the
#: article summary is meaningful there.
RUNS = {
    "news-writers": (("article", "lead-3"), ("tldr", "lead-1")),
    "18f": (("article", "lead-3"), ("tldr", "lead-1")),
    "bbc": (("article", "lead-3"),),
}

# A sentence end glued to the next sentence ("$10.9bn.For the year"): the BBC references were
# made by concatenating article sentences without a space.
_GLUED = re.compile(r"([^\W_]{2}[.!?][\"'”’)]?)(?=[\"'“‘]?[A-Z])")


def split_of(pair_id: str) -> str:
    """'dev' or 'held-out', fixed by the id's hash (stable across machines and orderings)."""
    digit = int(hashlib.sha256(pair_id.encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if digit % 2 == 0 else "held-out"


def news_writers(folder: Path) -> Iterator[dict[str, object]]:
    with (folder / "news-writers" / "pairs.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield {"id": row["id"], "article": row["article"], "references": row["references"]}


def bbc(folder: Path) -> Iterator[dict[str, object]]:
    with (folder / "bbc-news-summary" / "pairs.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            reference = _GLUED.sub(r"\1 ", row["summary"])
            yield {"id": row["id"], "article": row["article"], "reference": reference}


def eighteen_f(folder: Path) -> Iterator[dict[str, object]]:
    """18F posts with their author-written `excerpt` as the reference. The front matter is cut
    down to the title, so no summary field can reach the engine."""
    for path in sorted((folder / "markdown-18f").glob("*.md")):
        front, body = split_front_matter(path.read_text(encoding="utf-8"))
        excerpt = front.get("excerpt")
        if not isinstance(excerpt, str) or not excerpt.strip():
            continue
        title = json.dumps(str(front.get("title") or path.stem))
        yield {
            "id": path.name,
            "format": "markdown",
            "article": f"---\ntitle: {title}\n---\n\n{body}",
            "reference": excerpt.strip(),
        }


SETS = {"news-writers": news_writers, "18f": eighteen_f, "bbc": bbc}
#: sumy's summarisers scored beside the digest on the same pairs (BBC is left out: its 2,225
#: long articles take TextRank a long time, and the set is not the tuning target).
PEERS = ("LexRank", "TextRank", "Luhn")
PEER_SETS = ("news-writers", "18f")
_WORD = re.compile(r"[^\W_]+")


class OfflineTokenizer:
    """sumy's own Tokenizer needs NLTK's punkt data, which cannot be downloaded offline:
    this one gives sumy the digest's sentences and plain regex words instead."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORD.findall(sentence))


def peer_summaries(texts: list[str], peer: str, sentences: int) -> list[str]:
    """The first `sentences` sentences sumy's `peer` picks for each text, in text order."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    kind = {"LexRank": LexRankSummarizer, "TextRank": TextRankSummarizer, "Luhn": LuhnSummarizer}
    summarizer = kind[peer](Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = OfflineTokenizer()
    out = []
    for text in texts:
        paragraphs = [
            Paragraph([Sentence(s, tokenizer) for s in split_sentences(p)])
            for p in text.split("\n\n")
            if p.strip()
        ]
        chosen = summarizer(ObjectDocumentModel(tuple(paragraphs)), sentences)
        out.append(" ".join(str(s) for s in chosen))
    return out


def score_peers(pairs_file: Path, kind: str, limit: int | None) -> str | None:
    """A Markdown table of sumy's summarisers on `pairs_file` (3 sentences for the article
    summary, 1 for the TL;DR), scored exactly as `digest eval` scores; None without sumy."""
    try:
        import sumy  # noqa: F401
    except ImportError:
        return None
    from digest.evaluate import Report, make_scorer, reference_words, usable_pairs

    # The same pairs digest eval scores (unreadable ones and ones without prose left out).
    pairs, documents, _ = usable_pairs(pairs_file, limit=limit)
    texts = [d.text for d in documents]
    scorer = make_scorer()
    count = 1 if kind == "tldr" else 3
    systems: list[SystemResult] = [
        score_system(
            f"sumy {peer} ({count} sent.)", peer_summaries(texts, peer, count), pairs, scorer
        )
        for peer in PEERS
    ]
    report = Report(
        data=str(pairs_file),
        kind=kind,
        pairs=len(pairs),
        bad_lines=(),
        engine="sumy 0.13 (offline tokenizer: digest's sentences, regex words)",
        model=None,
        backend=None,
        reference_words=reference_words(pairs),
        systems=tuple(systems),
    )
    return report_markdown(report)


def write_pairs(rows: Iterable[dict[str, object]], split: str, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            if split == "whole" or split_of(str(row["id"])) == split:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS)
    )
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--engine", default="extractive")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--work", type=Path, default=ROOT / "outputs" / "quality")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--no-peers", dest="peers", action="store_false", help="leave out sumy's summarisers"
    )
    args = parser.parse_args(None if argv is None else list(argv))
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        print(f"error: unknown set {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"error: {args.data} not found; it is the team's ../shared/data", file=sys.stderr)
        return 2
    splits = ("dev", "held-out") if args.split == "all" else (args.split,)
    for name in names:
        for split in splits:
            pairs = args.work / f"{name}-{split}.jsonl"
            write_pairs(SETS[name](args.data), split, pairs)
            for kind, baseline in RUNS[name]:
                report = args.work / f"{name}-{split}-{kind}.md"
                command = [
                    "eval", str(pairs), "--kind", kind, "--baseline", baseline,
                    "--engine", args.engine, "--no-cache", "--quiet", "--out", str(report),
                ]  # fmt: skip
                if args.limit:
                    command += ["--limit", str(args.limit)]
                print(f"$ digest {' '.join(command)}", flush=True)
                done = subprocess.run([sys.executable, "-m", "digest", *command], check=False)
                if done.returncode:
                    return done.returncode
                if args.peers and name in PEER_SETS:
                    peers = score_peers(pairs, kind, args.limit)
                    if peers is None:
                        print("(sumy is not installed: peers left out)", flush=True)
                    else:
                        peer_report = args.work / f"{name}-{split}-{kind}-peers.md"
                        peer_report.write_text(peers, encoding="utf-8")
                        print(peers, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
