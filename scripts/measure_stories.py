"""Measure the story grouping (digest.stories) against labelled news events.

Usage: python scripts/measure_stories.py [--shared ../shared] [--json out.json]

Over ../shared/data/story-clusters/articles.jsonl (215 articles, 78 events), each article is
written to a temporary Markdown file (front matter: title, date when known, outlet) and read
back with the library's reader, as `digest make` would read it. The articles are split into a
fixed "dev" and "held-out" half by a hash of their `cluster` label (`split_of` in
scripts/evaluate_rouge.py), so one event is never in both halves; the grouping's parameters
were tuned on dev only. Each half, and the whole set, is grouped on its own and scored against
`cluster` (one event) and the coarser `story` (related events a digest may merge):

- pairwise: precision and recall over pairs of articles put in one group;
- B-cubed: per article, the share of its group in its true cluster (precision) and of its
  true cluster in its group (recall), averaged over articles.

Beside it, the baseline: plain TF-IDF (title and text) with average-link clustering at cosine
distance 0.8 (scikit-learn AgglomerativeClustering).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.model import Document  # noqa: E402
from digest.reading import read_file  # noqa: E402
from digest.stories import group_stories  # noqa: E402

ARTICLES = Path("data") / "story-clusters" / "articles.jsonl"


def split_of(label: str) -> str:
    """'dev' or 'held-out', fixed by the label's hash (as scripts/evaluate_rouge.py)."""
    digit = int(hashlib.sha256(label.encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if digit % 2 == 0 else "held-out"


def pairwise(predicted: Sequence[object], truth: Sequence[object]) -> dict[str, float]:
    """Precision, recall and F1 over the pairs of items put together."""
    both = Counter(zip(predicted, truth, strict=True))
    pairs = sum(n * (n - 1) // 2 for n in both.values())
    guessed = sum(n * (n - 1) // 2 for n in Counter(predicted).values())
    true = sum(n * (n - 1) // 2 for n in Counter(truth).values())
    return _prf(pairs / guessed if guessed else 1.0, pairs / true if true else 1.0)


def bcubed(predicted: Sequence[object], truth: Sequence[object]) -> dict[str, float]:
    """B-cubed precision, recall and F1, averaged over items."""
    both = Counter(zip(predicted, truth, strict=True))
    sizes_p, sizes_t = Counter(predicted), Counter(truth)
    n = len(predicted)
    precision = sum(both[(p, t)] / sizes_p[p] for p, t in zip(predicted, truth, strict=True))
    recall = sum(both[(p, t)] / sizes_t[t] for p, t in zip(predicted, truth, strict=True))
    return _prf(precision / n if n else 1.0, recall / n if n else 1.0)


def _prf(precision: float, recall: float) -> dict[str, float]:
    total = precision + recall
    f1 = 2 * precision * recall / total if total else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def load(shared: Path) -> list[dict[str, str]]:
    with (shared / ARTICLES).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def as_documents(rows: Sequence[dict[str, str]], folder: Path) -> list[Document]:
    """Each article written as Markdown with its title, date and outlet, read by the reader."""
    documents = []
    for row in rows:
        front = {"title": row["title"], "source": row["source"]}
        if row.get("date"):
            front["date"] = row["date"]
        header = "".join(f"{key}: {json.dumps(value)}\n" for key, value in front.items())
        path = folder / f"{row['id']}.md"
        path.write_text(f"---\n{header}---\n\n{row['text']}\n", encoding="utf-8")
        document = read_file(path)
        assert isinstance(document, Document), (row["id"], document)
        documents.append(document)
    return documents


def baseline(documents: Sequence[Document]) -> list[int]:
    """Plain TF-IDF (English stop words, sublinear tf) average link at cosine distance 0.8."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    matrix = vectorizer.fit_transform([f"{d.title}\n{d.text}" for d in documents])
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=0.8
    )
    return [int(label) for label in model.fit_predict(matrix.toarray())]


def score(
    rows: Sequence[dict[str, str]],
    documents: Sequence[Document],
    grouping: Callable[[Sequence[Document]], list[int]],
) -> dict[str, dict[str, object]]:
    """Scores of `grouping` on dev, held-out and all articles, against cluster and story."""
    results: dict[str, dict[str, object]] = {}
    for part in ("dev", "held-out", "all"):
        chosen = [i for i, row in enumerate(rows) if part in ("all", split_of(row["cluster"]))]
        predicted = grouping([documents[i] for i in chosen])
        entry: dict[str, object] = {"articles": len(chosen), "groups": len(set(predicted))}
        for label in ("cluster", "story"):
            truth = [rows[i][label] for i in chosen]
            entry[label] = {
                "pairwise": pairwise(predicted, truth),
                "bcubed": bcubed(predicted, truth),
            }
        results[part] = entry
    return results


def measure(shared: Path) -> dict[str, dict[str, dict[str, object]]]:
    rows = load(shared)
    with tempfile.TemporaryDirectory() as folder:
        documents = as_documents(rows, Path(folder))
    return {
        "stories": score(rows, documents, group_stories),
        "baseline": score(rows, documents, baseline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = measure(args.shared)
    print(
        f"{'method':9} {'part':8} {'label':7} {'n':>4} {'groups':>6}"
        "   pairwise P/R/F1     B3 P/R/F1"
    )
    for method, parts in results.items():
        for part, entry in parts.items():
            for label in ("cluster", "story"):
                s = entry[label]
                assert isinstance(s, dict)
                pw, b3 = s["pairwise"], s["bcubed"]
                print(
                    f"{method:9} {part:8} {label:7} {entry['articles']:>4} {entry['groups']:>6}   "
                    f"{pw['precision']:.3f} {pw['recall']:.3f} {pw['f1']:.3f}   "
                    f"{b3['precision']:.3f} {b3['recall']:.3f} {b3['f1']:.3f}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
