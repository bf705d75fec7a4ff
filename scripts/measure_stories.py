"""Measure the story grouping (digest.stories) against labelled news events.

Usage: python scripts/measure_stories.py [--shared ../shared] [--json out.json]
           [--via-cli] [--distractors N]

Over ../shared/data/story-clusters/articles.jsonl (215 articles, 78 events), each article is
written to a temporary Markdown file (front matter: title, date when known, source (the
outlet) and link (its URL); `write_articles`) and read back with the library's reader, as
`digest make` would read it. The articles are split into a fixed "dev" and "held-out" half by
a hash of their `cluster` label (`split_of`, as in scripts/evaluate_rouge.py), so one event is
never in both halves; the grouping's parameters were tuned on dev only. Each half, and the
whole set, is grouped on its own and scored against `cluster` (one event) and the coarser
`story` (related events a digest may merge):

- pairwise: precision and recall over pairs of articles put in one group;
- B-cubed: per article, the share of its group in its true cluster (precision) and of its
  true cluster in its group (recall), averaged over articles.

Beside it, the baseline: plain TF-IDF (title and text) with average-link clustering at cosine
distance 0.8 (scikit-learn AgglomerativeClustering).

--via-cli groups through the real command instead of the library: each part's files are
summarised by `digest make DIR --format json --engine extractive --no-cache` into a temporary
folder, and each document's `story` is read from the JSON.

--distractors N adds N articles of ../shared/data/bbc-news-summary (2004-05, other events) to
every run: a larger run must not merge more. The parameters were chosen on dev alone and on
dev with 300 and with 1,000 of them (see docs/quality.md, "Stories").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.model import Document  # noqa: E402
from digest.reading import read_file  # noqa: E402
from digest.stories import group_stories  # noqa: E402

ARTICLES = Path("data") / "story-clusters" / "articles.jsonl"
DISTRACTORS = Path("data") / "bbc-news-summary" / "pairs.jsonl"


def split_of(label: str) -> str:
    """'dev' or 'held-out', fixed by the label's hash (as scripts/evaluate_rouge.py)."""
    digit = int(hashlib.sha256(label.encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if digit % 2 == 0 else "held-out"


def pairwise(predicted: Sequence[object], truth: Sequence[object]) -> dict[str, float]:
    """Precision, recall and F1 over the pairs of items put together. An item whose truth is
    None is a distractor: put with a labelled item it is a false pair; put with another
    distractor, the pair is not scored."""
    both = Counter((p, t) for p, t in zip(predicted, truth, strict=True) if t is not None)
    pairs = sum(n * (n - 1) // 2 for n in both.values())
    guessed = sum(n * (n - 1) // 2 for n in Counter(predicted).values())
    unlabelled = Counter(p for p, t in zip(predicted, truth, strict=True) if t is None)
    guessed -= sum(n * (n - 1) // 2 for n in unlabelled.values())
    true = sum(n * (n - 1) // 2 for t, n in Counter(truth).items() if t is not None)
    return _prf(pairs / guessed if guessed else 1.0, pairs / true if true else 1.0)


def bcubed(predicted: Sequence[object], truth: Sequence[object]) -> dict[str, float]:
    """B-cubed precision, recall and F1, averaged over the labelled items (a distractor, truth
    None, counts only as a wrong member of the group it is put in)."""
    both = Counter(zip(predicted, truth, strict=True))
    sizes_p, sizes_t = Counter(predicted), Counter(truth)
    labelled = [(p, t) for p, t in zip(predicted, truth, strict=True) if t is not None]
    n = len(labelled)
    precision = sum(both[(p, t)] / sizes_p[p] for p, t in labelled)
    recall = sum(both[(p, t)] / sizes_t[t] for p, t in labelled)
    return _prf(precision / n if n else 1.0, recall / n if n else 1.0)


def _prf(precision: float, recall: float) -> dict[str, float]:
    total = precision + recall
    f1 = 2 * precision * recall / total if total else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def load(shared: Path) -> list[dict[str, Any]]:
    with (shared / ARTICLES).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def distractors(shared: Path, count: int, seed: int = 21) -> list[dict[str, Any]]:
    """`count` BBC articles as rows of the story-clusters shape, with no event: any pair
    with a labelled article is false, pairs among them are not scored (the BBC set has a
    few reports of one event itself)."""
    lines = (shared / DISTRACTORS).read_text(encoding="utf-8").splitlines()
    rows = []
    for line in random.Random(seed).sample(lines, count):
        item = json.loads(line)
        label = f"bbc-{item['id']}"
        body = item["article"].split("\n\n", 1)[-1]  # the article repeats its title first
        rows.append(
            {"id": label.replace("/", "-"), "cluster": None, "story": None}
            | {"title": item["title"], "text": body, "date": "", "source": "bbc.co.uk"}
            | {"url": ""}
        )
    return rows


def write_articles(rows: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """Each row as `folder/<id>.md`: YAML front matter with its title, date (when known, ISO),
    source (the outlet) and link (its URL), then its text. Returns the paths, in order."""
    paths = []
    for row in rows:
        front = {
            "title": row.get("title"),
            "date": (row.get("date") or "")[:10],
            "source": row.get("source"),
            "link": row.get("url"),
        }
        # JSON strings are YAML double-quoted scalars: quotes, colons and newlines stay text.
        header = "".join(f"{key}: {json.dumps(value)}\n" for key, value in front.items() if value)
        path = folder / f"{row['id']}.md"
        path.write_text(f"---\n{header}---\n\n{row['text']}\n", encoding="utf-8")
        paths.append(path)
    return paths


def as_documents(rows: Sequence[dict[str, Any]], folder: Path) -> list[Document]:
    """Each article written by `write_articles` and read back by the reader."""
    documents = []
    for row, path in zip(rows, write_articles(rows, folder), strict=True):
        document = read_file(path)
        assert isinstance(document, Document), (row["id"], document)
        documents.append(document)
    return documents


class NoStories(Exception):
    """`digest make` failed, or its JSON gives no `story` per document."""


def stories_via_cli(rows: Sequence[dict[str, Any]], folder: Path) -> list[str]:
    """Each row's story id as `digest make` writes it in its JSON digest."""
    articles, outputs = folder / "articles", folder / "outputs"
    articles.mkdir()
    write_articles(rows, articles)
    command = [sys.executable, "-m", "digest", "make", str(articles), "--out", str(outputs)]
    command += ["--format", "json", "--engine", "extractive", "--no-cache", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise NoStories(f"digest make failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    written = sorted(outputs.glob("*.json"))
    if not written:
        raise NoStories(f"digest make wrote no JSON digest in {outputs}")
    return stories_from_json(json.loads(written[-1].read_text(encoding="utf-8")), rows)


def stories_from_json(digest: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[str]:
    """Each row's story id in a JSON digest, its documents matched by file name (`<id>.md`)."""
    listed = digest.get("documents", digest.get("articles", []))
    story = {Path(item["path"]).stem: item.get("story") for item in listed}
    missing = [row["id"] for row in rows if story.get(row["id"]) is None]
    if missing:
        raise NoStories(
            f"the JSON digest gives no story for {len(missing)} of {len(rows)} documents "
            f"(first: {missing[0]}); this digest make does not group stories yet"
        )
    return [str(story[row["id"]]) for row in rows]


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
    rows: Sequence[dict[str, Any]],
    grouping: Callable[[Sequence[int]], Sequence[object]],
    extra: Sequence[dict[str, Any]] = (),
) -> dict[str, dict[str, object]]:
    """Scores of `grouping` (row indexes in, one group per index out) on dev, held-out and all
    articles, against cluster and story. The `extra` rows (after `rows`) join every run."""
    results: dict[str, dict[str, object]] = {}
    every = [*rows, *extra]
    for part in ("dev", "held-out", "all"):
        chosen = [i for i, row in enumerate(rows) if part in ("all", split_of(row["cluster"]))]
        chosen += range(len(rows), len(every))
        predicted = list(grouping(chosen))
        entry: dict[str, object] = {"articles": len(chosen), "groups": len(set(predicted))}
        for label in ("cluster", "story"):
            truth = [every[i][label] for i in chosen]
            entry[label] = {
                "pairwise": pairwise(predicted, truth),
                "bcubed": bcubed(predicted, truth),
            }
        results[part] = entry
    return results


def measure(
    shared: Path, via_cli: bool = False, extra: int = 0
) -> dict[str, dict[str, dict[str, object]]]:
    """The grouping's and the baseline's scores (see the module's docstring)."""
    rows = load(shared)
    others = distractors(shared, extra) if extra else []
    every = [*rows, *others]
    with tempfile.TemporaryDirectory() as folder:
        documents = as_documents(every, Path(folder))
    results = {}
    if via_cli:

        def grouping(chosen: Sequence[int]) -> list[str]:
            with tempfile.TemporaryDirectory() as folder:
                return stories_via_cli([every[i] for i in chosen], Path(folder))

        results["digest make"] = score(rows, grouping, others)
    else:
        results["stories"] = score(
            rows, lambda chosen: group_stories([documents[i] for i in chosen]), others
        )
    results["baseline"] = score(
        rows, lambda chosen: baseline([documents[i] for i in chosen]), others
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--via-cli", action="store_true", help="group through digest make")
    parser.add_argument("--distractors", type=int, default=0, help="BBC articles added to runs")
    args = parser.parse_args()
    try:
        results = measure(args.shared, via_cli=args.via_cli, extra=args.distractors)
    except NoStories as error:
        sys.exit(f"measure_stories: {error}")
    print(
        f"{'method':11} {'part':8} {'label':7} {'n':>4} {'groups':>6}"
        "   pairwise P/R/F1     B3 P/R/F1"
    )
    for method, parts in results.items():
        for part, entry in parts.items():
            for label in ("cluster", "story"):
                s = entry[label]
                assert isinstance(s, dict)
                pw, b3 = s["pairwise"], s["bcubed"]
                print(
                    f"{method:11} {part:8} {label:7} {entry['articles']:>4} {entry['groups']:>6}   "
                    f"{pw['precision']:.3f} {pw['recall']:.3f} {pw['f1']:.3f}   "
                    f"{b3['precision']:.3f} {b3['recall']:.3f} {b3['f1']:.3f}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
