"""Measure extraction F1 and summary clutter against the ground truth of article-extraction pages.

Usage: python scripts/measure_extraction.py [--shared ../shared] [--misses] [--json OUT.json]

Over ../shared/data/article-extraction (real news and blog pages, `html/ID.html.gz`, with the
true article body of each in `ground-truth.json`), split into a fixed "dev" and "held-out"
half by a hash of the page id (`split_of` in scripts/evaluate_rouge.py), it reports for each
half and the whole:

- extraction: the text the HTML reader keeps as the article body (every section's title,
  paragraphs and verbatim text; the document title excluded) against the true body, as the
  article-extraction-benchmark's evaluate.py scores it: tokens are `\\w+` (case kept), 4-word
  shingles are counted as a multiset; per page tp, fp and fn are the overlap, the excess of
  the prediction and the excess of the truth; precision is averaged over the pages whose
  prediction has shingles, recall over the pages whose truth has them (a page with nothing
  extracted scores recall 0), and F1 is that of the two means. The same for trafilatura
  alone, run as the benchmark runs it (`trafilatura.extract(html, include_comments=False)`).
  "Pages lost": the reader gives no text (or skips the page) where trafilatura gives some;
  "pages short": the reader's recall is under 0.5 where trafilatura's is 0.5 or more.
- clutter: the digest is made from the pages with the extractive engine (no cache), and every
  summary sentence a reader of the Markdown digest sees (each article's TL;DR, its summary,
  and the summaries of the top-level sections shown as bullets) is split into sentences by a
  regex of this script's own (at ".", "!" or "?", closing quotes and brackets kept, before
  white space and a capital, digit or opening quote; not after a single capital or a common
  title abbreviation such as "Mr." or "Rep."). A sentence is compared with the page's true
  body, both casefolded and cut into `\\w+` tokens: a sentence of 3 tokens or more is found
  when at least 80% of its tokens lie in one of its word 3-grams that occurs in the body; a
  sentence of 1 or 2 tokens is found when its tokens occur contiguously in the body; a
  sentence with no token is not counted. Clutter is the share of sentences not found, given
  per part (tldr, summary, bullets). The summaries of nested and folded sections, which only
  the JSON output holds, are counted on a separate line ("json only"), outside the total.

`--misses` lists each clutter sentence (page id, part, sentence) and each page lost;
`--json` writes the figures and the per-page numbers for later comparison.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate_rouge import split_of  # noqa: E402

from digest.model import Document  # noqa: E402

MAX_BYTES = 20_000_000
#: The parts of an article's entry a reader of the Markdown digest sees, in order; "json only"
#: (nested and folded sections' summaries) is counted apart, outside the total.
PARTS = ("tldr", "summary", "bullets")
JSON_ONLY = "json only"
#: A sentence of 3+ tokens is found in the body when this share of its tokens is covered.
FOUND_SHARE = 0.8

# ---------------------------------------------------------------- extraction (evaluate.py)

_TOKEN = re.compile(r"\w+")

TpFpFn = tuple[float, float, float]


def shingles(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    """n-word shingles with their counts, as evaluate.py's `_ngrams`: `\\w+` tokens, case kept;
    a text of fewer than n tokens is one shorter shingle, an empty text none."""
    words = _TOKEN.findall(text or "")
    grams = (tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))
    return Counter(g for g in grams if g)


def tp_fp_fn(truth: str | None, pred: str | None, n: int = 4) -> TpFpFn:
    """evaluate.py's `string_shingle_matching`: overlap, excess of the prediction, excess of
    the truth, normalised to sum to 1 (so long pages weigh no more than short ones)."""
    true, predicted = shingles(truth, n), shingles(pred, n)
    tp = float(sum((true & predicted).values()))
    fp = float(sum((predicted - true).values()))
    fn = float(sum((true - predicted).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def page_scores(counts: TpFpFn) -> dict[str, float | None]:
    """One page's precision, recall and F1; None where evaluate.py leaves the page out of the
    mean (precision with no predicted shingle, recall with no true one)."""
    tp, fp, fn = counts
    p = precision_score(*counts) if tp + fp > 0 else None
    r = recall_score(*counts) if tp + fn > 0 else None
    f = None if p is None or r is None else 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def mean_scores(pages: Iterable[TpFpFn]) -> dict[str, float]:
    """evaluate.py's `metrics_from_tp_fp_fns`: mean precision, mean recall, their F1."""
    pages = list(pages)
    precisions = [precision_score(*c) for c in pages if c[0] + c[1] > 0]
    recalls = [recall_score(*c) for c in pages if c[0] + c[2] > 0]
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def body_text(document: Document) -> str:
    """The article body the reader keeps: section titles, paragraphs and verbatim text (tables,
    code) in reading order; not the document title."""
    parts: list[str] = []
    for section in document.all_sections():
        parts.extend([section.title] if section.title else [])
        parts.extend(section.paragraphs + section.verbatim)
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------- clutter

#: A sentence end: ".", "!" or "?" with any closing quotes or brackets, before white space and
#: a capital, a digit or an opening quote or bracket.
_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
#: Not an end: a single capital ("U.S.", "J. Smith") or a title or common abbreviation.
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]|\b(?i:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Col|Lt|Sgt|St|Jr|Sr|No|vs|etc|Inc"
    r"|Corp|Co|Ltd|Calif|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences by this script's own rule (see the module docstring), not the digest's."""
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        if _ABBREVIATION.search(text[start : match.start() + 1]):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def words(text: str) -> list[str]:
    """Casefolded `\\w+` tokens."""
    return _TOKEN.findall(text.casefold())


@dataclass(frozen=True)
class Body:
    """A true article body, ready for `found`: its tokens as one spaced string and its 3-grams."""

    joined: str
    trigrams: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, text: str) -> Body:
        tokens = words(text)
        grams = frozenset(tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2))
        return cls(f" {' '.join(tokens)} ", grams)


def found(sentence: str, body: Body) -> bool | None:
    """Whether `sentence` is in `body` by the clutter rule (module docstring); None for a
    sentence with no token (not counted)."""
    tokens = words(sentence)
    if not tokens:
        return None
    if len(tokens) < 3:
        return f" {' '.join(tokens)} " in body.joined
    covered = [False] * len(tokens)
    for i in range(len(tokens) - 2):
        if tuple(tokens[i : i + 3]) in body.trigrams:
            covered[i : i + 3] = [True, True, True]
    return sum(covered) >= FOUND_SHARE * len(tokens)


def _walk(sections: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in sections:
        yield section
        yield from _walk(section.get("sections") or [])


def summary_parts(article: dict[str, Any]) -> list[tuple[str, str]]:
    """(part, text) for every summary of one article of the JSON digest: the TL;DR, the
    summary, the top-level sections the Markdown digest shows as bullets (when it has more
    than one section and the section is not folded) and, as "json only", the rest."""
    parts = [("tldr", article.get("tldr") or ""), ("summary", article.get("summary") or "")]
    top = article.get("sections") or []
    for section in top:
        shown = len(top) > 1 and not section.get("folded")
        parts.append(("bullets" if shown else JSON_ONLY, section.get("summary") or ""))
        parts.extend((JSON_ONLY, s.get("summary") or "") for s in _walk(section["sections"]))
    return [(part, text) for part, text in parts if text.strip()]


# ------------------------------------------------------------------------------------ run


@dataclass
class Page:
    id: str
    split: str
    digest: TpFpFn = (0.0, 0.0, 0.0)
    trafilatura: TpFpFn = (0.0, 0.0, 0.0)
    digest_words: int = 0
    trafilatura_words: int = 0
    skipped: str | None = None  # why the reader (or the digest run) skipped the page
    #: part → [sentences counted, sentences not found]
    counts: dict[str, list[int]] = field(default_factory=dict)
    clutter: list[tuple[str, str]] = field(default_factory=list)  # (part, sentence)

    @property
    def lost(self) -> bool:
        return self.digest_words == 0 and self.trafilatura_words > 0

    @property
    def short(self) -> bool:
        """Less than half the true body kept, where trafilatura keeps half or more."""
        return recall_score(*self.digest) < 0.5 <= recall_score(*self.trafilatura)


def load_pages(folder: Path) -> dict[str, tuple[bytes, str]]:
    """id → (the page's bytes, true article body)."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for path in sorted((folder / "html").glob("*.html.gz")):
        page_id = path.name.split(".")[0]
        pages[page_id] = (gzip.decompress(path.read_bytes()), truth[page_id]["articleBody"] or "")
    return pages


def extract(pages: dict[str, tuple[bytes, str]], work: Path) -> dict[str, Page]:
    import trafilatura

    from digest.errors import SkipDocument
    from digest.sources import read_document

    results = {}
    for page_id, (html, truth) in pages.items():
        page = Page(page_id, split_of(page_id))
        try:
            ours = body_text(read_document(work / f"{page_id}.html", max_bytes=MAX_BYTES))
        except SkipDocument as exc:
            ours, page.skipped = "", str(exc)
        # As the benchmark's run_trafilatura.py: the page read as UTF-8 text.
        text = html.decode("utf-8", errors="replace")
        theirs = trafilatura.extract(text, include_comments=False) or ""
        page.digest, page.trafilatura = tp_fp_fn(truth, ours), tp_fp_fn(truth, theirs)
        page.digest_words, page.trafilatura_words = (
            len(_TOKEN.findall(ours)),
            len(_TOKEN.findall(theirs)),
        )
        results[page_id] = page
    return results


def make_json_digest(folder: Path) -> dict[str, Any]:
    """The JSON digest of every page in `folder`, made as `digest make --engine extractive
    --no-cache --format json` makes it."""
    from digest.pipeline import Options, make_digest
    from digest.render import digest_as_dict

    return digest_as_dict(make_digest([folder], Options(engine="extractive", cache=None)))


def score_clutter(
    digest: dict[str, Any], pages: dict[str, tuple[bytes, str]], results: dict[str, Page]
) -> None:
    for article in digest["documents"]:
        page = results[Path(article["path"]).name.removesuffix(".html")]
        body = Body.of(pages[page.id][1])
        for part, text in summary_parts(article):
            for sentence in split_sentences(text):
                hit = found(sentence, body)
                if hit is None:
                    continue
                counts = page.counts.setdefault(part, [0, 0])
                counts[0] += 1
                if not hit:
                    counts[1] += 1
                    page.clutter.append((part, sentence))
    for skipped in digest["skipped"]:
        page = results[Path(skipped["path"]).name.removesuffix(".html")]
        page.skipped = page.skipped or skipped["reason"]


def _percent(bad: int, total: int) -> str:
    return f"{bad}/{total} ({100 * bad / total:.1f}%)" if total else "0/0"


def summarise(pages: list[Page]) -> dict[str, Any]:
    parts = {
        part: [sum(p.counts.get(part, [0, 0])[i] for p in pages) for i in range(2)]
        for part in (*PARTS, JSON_ONLY)
    }
    total = [sum(parts[part][i] for part in PARTS) for i in range(2)]
    return {
        "pages": len(pages),
        "digest": mean_scores(p.digest for p in pages),
        "trafilatura": mean_scores(p.trafilatura for p in pages),
        "lost": [p.id for p in pages if p.lost],
        "short": [p.id for p in pages if p.short],
        "skipped": [p.id for p in pages if p.skipped],
        "sentences": total[0],
        "clutter": total[1],
        "clutter_share": total[1] / total[0] if total[0] else 0.0,
        "parts": {part: {"sentences": n, "clutter": bad} for part, (n, bad) in parts.items()},
    }


def report(figures: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "Extraction against the true article body (4-word shingles, as evaluate.py: mean "
        "precision and recall over pages, F1 of the means)",
        "",
        "| split | pages | digest P | digest R | digest F1 | trafilatura P | trafilatura R "
        "| trafilatura F1 | lost | short |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for split, f in figures.items():
        d, t = f["digest"], f["trafilatura"]
        lines.append(
            f"| {split} | {f['pages']} | {d['precision']:.3f} | {d['recall']:.3f} | "
            f"{d['f1']:.3f} | {t['precision']:.3f} | {t['recall']:.3f} | {t['f1']:.3f} | "
            f"{len(f['lost'])} | {len(f['short'])} |"
        )
    lines += [
        "",
        "Clutter: summary sentences not found in the true article body",
        "",
        "| split | all shown | tldr | summary | bullets | json only (not in all) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for split, f in figures.items():
        cells = [_percent(f["clutter"], f["sentences"])] + [
            _percent(f["parts"][part]["clutter"], f["parts"][part]["sentences"])
            for part in (*PARTS, JSON_ONLY)
        ]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list clutter and lost pages")
    parser.add_argument("--json", type=Path, help="write the figures and per-page numbers here")
    args = parser.parse_args(argv)
    folder = args.shared / "data" / "article-extraction"
    if not (folder / "ground-truth.json").is_file():
        print(f"shared data not found under {args.shared}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    pages = load_pages(folder)
    with tempfile.TemporaryDirectory(prefix="measure-extraction-") as tmp:
        work = Path(tmp)
        for page_id, (html, _) in pages.items():
            (work / f"{page_id}.html").write_bytes(html)
        results = extract(pages, work)
        score_clutter(make_json_digest(work), pages, results)
    elapsed = time.perf_counter() - started

    ordered = list(results.values())
    figures = {
        split: summarise([p for p in ordered if split in ("whole", p.split)])
        for split in ("dev", "held-out", "whole")
    }
    print("\n".join(report(figures)))
    for name in ("lost", "short"):
        print(f"\nPages {name}: {', '.join(figures['whole'][name]) or 'none'}", end="")
    print()
    print(f"({len(ordered)} pages in {elapsed:.0f} s)")
    if args.misses:
        print()
        for page in ordered:
            for part, sentence in page.clutter:
                print(f"  clutter  {page.id[:12]} {page.split} {part}: {sentence!r}")
        for page in ordered:
            if page.skipped:
                print(f"  skipped  {page.id[:12]} {page.split}: {page.skipped}")
    if args.json:
        out = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
            "python": platform.python_version(),
            "seconds": round(elapsed, 1),
            "figures": figures,
            "pages": {
                p.id: {
                    "split": p.split,
                    "digest": page_scores(p.digest),
                    "trafilatura": page_scores(p.trafilatura),
                    "digest_words": p.digest_words,
                    "trafilatura_words": p.trafilatura_words,
                    "lost": p.lost,
                    "skipped": p.skipped,
                    "counts": p.counts,
                    "clutter": [{"part": part, "sentence": s} for part, s in p.clutter],
                }
                for p in ordered
            },
        }
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
