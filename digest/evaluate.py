"""`digest eval`: summarise article/reference pairs as `digest make` would; score with ROUGE."""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.errors import DigestError, UsageError
from digest.model import ArticleSummary, Document
from digest.sources import READERS
from digest.text import split_sentences

log = logging.getLogger(__name__)

METRICS = ("rouge1", "rouge2", "rougeLsum")
KINDS = ("article", "tldr", "section")
#: The guard's name for the text each kind scores.
GUARD_PARTS = {"article": "summary", "tldr": "tldr", "section": "section"}
#: Reader formats a pair may name in its "format" field (plain text when absent).
PAIR_FORMATS = tuple(READERS)
#: Bootstrap resamples for the 95% intervals; seeded, so a report is reproducible.
RESAMPLES = 1000
SEED = 12345
MULTI_REFERENCE = "multi-reference: each metric is the best F1 over an article's references"


class EvalError(DigestError):
    """The pairs file cannot be evaluated at all (missing, unreadable, nothing usable)."""


@dataclass(frozen=True)
class Pair:
    """One article and its reference summaries, as read from line `line` of the pairs file."""

    line: int
    id: str
    article: str
    references: tuple[str, ...]
    format: str = "text"


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


@dataclass(frozen=True)
class Score:
    """A mean F1 (0-1) over articles with its bootstrap 95% interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class SystemResult:
    name: str
    scores: Mapping[str, Score]
    words: float
    #: Per-article F1 per metric, in pair order (what the means and intervals come from).
    per_article: Mapping[str, tuple[float, ...]] = field(repr=False)
    outputs: tuple[str, ...] = field(repr=False, default=())


@dataclass(frozen=True)
class Report:
    data: str
    kind: str
    pairs: int
    bad_lines: tuple[BadLine, ...]
    engine: str
    model: str | None
    backend: str | None
    reference_words: float
    systems: tuple[SystemResult, ...]
    notices: tuple[str, ...] = ()
    #: The faithfulness guard: its mode, whether it checked anything (not extractive
    #: summaries), and of the model's sentences of this kind how many it checked and found
    #: unsupported (before fixing them, with --guard fix).
    guard: str = "off"
    guarded: bool = False
    guard_checked: int = 0
    guard_unsupported: int = 0

    @property
    def unsupported_share(self) -> float | None:
        if not self.guarded or not self.guard_checked:
            return None
        return self.guard_unsupported / self.guard_checked


# ------------------------------------------------------------------------- reading pairs


#: Where a pair's article may be, in the order looked for.
ARTICLE_FIELDS = ("article", "text", "document")
#: Where its reference summaries may be (a string, or a list of strings): the names of the
#: common data sets too (CNN/DailyMail's "highlights", BBC News Summary's "summary").
REFERENCE_FIELDS = ("reference", "references", "summary", "summaries", "highlights")
#: ... looked for in this order: a plural (several references) before its singular.
_REFERENCE_LOOKUP = ("references", "reference", "summaries", "summary", "highlights")
#: Skipped lines named in the one log line about them (all are in the report).
SHOWN_SKIPS = 5
#: ... and in the Markdown report (the JSON report has every one).
REPORTED_SKIPS = 50


def _alternatives(fields: Sequence[str]) -> str:
    return f'"{fields[0]}" (or ' + ", ".join(f'"{f}"' for f in fields[1:]) + ")"


def _reference_list(row: Mapping[str, Any]) -> list[str] | str:
    """The references of a row, or why there are none."""
    name = next((f for f in _REFERENCE_LOOKUP if f in row), None)
    if name is None:
        return f"missing field {_alternatives(REFERENCE_FIELDS)}"
    value = row[name]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        return f'"{name}" must be a string or a list of strings'
    value = [r for r in value if r.strip()]
    return value or "empty reference"


def parse_pair(line_number: int, line: str) -> Pair | BadLine:
    """One JSON line as a Pair, or a BadLine saying what is wrong with it."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadLine(line_number, f"not JSON ({exc.msg})")
    if not isinstance(row, dict):
        return BadLine(line_number, "not a JSON object")
    name = next((f for f in ARTICLE_FIELDS if f in row), None)
    if name is None:
        return BadLine(line_number, f"missing field {_alternatives(ARTICLE_FIELDS)}")
    article = row[name]
    if not isinstance(article, str):
        return BadLine(line_number, f'"{name}" must be a string')
    if not article.strip():
        return BadLine(line_number, "empty article")
    references = _reference_list(row)
    if isinstance(references, str):
        return BadLine(line_number, references)
    fmt = row.get("format", "text")
    if fmt not in PAIR_FORMATS:
        return BadLine(line_number, f"unknown format {fmt!r}; use one of {', '.join(PAIR_FORMATS)}")
    return Pair(line_number, str(row.get("id", line_number)), article, tuple(references), fmt)


def iter_pairs(path: Path) -> Iterator[Pair | BadLine]:
    """Each non-blank line of a JSON-lines file as a Pair or a BadLine, read as asked for: a
    caller that stops early reads no further (a 2 GB file and --limit 5 read five lines)."""
    try:
        handle = path.open(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise EvalError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield parse_pair(number, line)


def load_pairs(path: Path, *, limit: int | None = None) -> tuple[list[Pair], list[BadLine]]:
    """The first `limit` well-formed pairs of a JSON-lines file and the lines skipped before."""
    pairs: list[Pair] = []
    bad: list[BadLine] = []
    for parsed in iter_pairs(path):
        if isinstance(parsed, BadLine):
            bad.append(parsed)
            continue
        pairs.append(parsed)
        if limit is not None and len(pairs) >= limit:
            break
    return pairs, bad


def describe_skips(bad: Sequence[BadLine]) -> str:
    """One line for all the lines skipped: how many, and the first few with why."""
    ordered = sorted(bad, key=lambda b: b.line)
    shown = "; ".join(f"line {b.line}: {b.reason}" for b in ordered[:SHOWN_SKIPS])
    more = f"; and {len(ordered) - SHOWN_SKIPS} more" if len(ordered) > SHOWN_SKIPS else ""
    return f"{len(ordered)} line(s) skipped ({shown}{more})"


def read_pair(pair: Pair) -> Document:
    """The pair's article read by the reader `digest make` uses for its format."""
    from digest.sources import FORMATS, _reader

    suffix = next(s for s, f in FORMATS.items() if f == pair.format)
    return _reader(pair.format)(pair.article, Path(f"{pair.id}{suffix}"))


# ------------------------------------------------------------------------- scoring


def make_scorer() -> Any:
    """The ROUGE scorer every score here comes from (stemmed, the metrics above)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise EvalError("digest eval needs rouge-score: pip install rouge-score") from None
    return rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)


def lsum_lines(text: str) -> str:
    """One sentence per line: where ROUGE-Lsum looks for sentence boundaries."""
    return "\n".join(split_sentences(text))


def score_one(scorer: Any, candidate: str, references: Sequence[str]) -> dict[str, float]:
    """F1 per metric, the best over `references` for each metric separately."""
    prediction = lsum_lines(candidate)
    best = dict.fromkeys(METRICS, 0.0)
    for reference in references:
        scores = scorer.score(lsum_lines(reference), prediction)
        for metric in METRICS:
            best[metric] = max(best[metric], scores[metric].fmeasure)
    return best


def percentile_95(samples: Iterable[float]) -> tuple[float, float]:
    """The bounds of a percentile bootstrap 95% interval: the 2.5th and 97.5th percentiles of
    the statistic over the resamples (digest eval's ROUGE and the consistency report's)."""
    values = sorted(samples)
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def bootstrap(values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED) -> Score:
    """The mean of `values` with a percentile bootstrap 95% interval (articles resampled)."""
    n = len(values)
    if n == 0:
        return Score(math.nan, math.nan, math.nan)
    mean = sum(values) / n
    rng = random.Random(seed)
    return Score(mean, *percentile_95(sum(rng.choices(values, k=n)) / n for _ in range(resamples)))


def word_count(text: str) -> int:
    return len(text.split())


def score_system(
    name: str, outputs: Sequence[str], pairs: Sequence[Pair], scorer: Any
) -> SystemResult:
    rows = [score_one(scorer, out, p.references) for out, p in zip(outputs, pairs, strict=True)]
    per_article = {m: tuple(r[m] for r in rows) for m in METRICS}
    return SystemResult(
        name=name,
        scores={m: bootstrap(per_article[m]) for m in METRICS},
        words=sum(word_count(o) for o in outputs) / max(1, len(outputs)),
        per_article=per_article,
        outputs=tuple(outputs),
    )


# ------------------------------------------------------------------------- systems


def parse_baselines(value: str | None) -> list[int]:
    """'lead-3,lead-1' → [3, 1]."""
    if not value:
        return []
    ks: list[int] = []
    for item in (v.strip().lower() for v in value.split(",")):
        if not item:
            continue
        number = item.removeprefix("lead-").removeprefix("lead")
        if not number.isdigit() or int(number) < 1:
            raise UsageError(f"unknown baseline {item!r}; use lead-K such as lead-3 or lead-1")
        ks.append(int(number))
    return list(dict.fromkeys(ks))


def lead(document: Document, k: int) -> str:
    """The first `k` sentences of the document's prose, as the engines see it."""
    return " ".join(split_sentences(document.text)[:k])


def entry_text(article: ArticleSummary, kind: str) -> str:
    """What a reader of the digest gets for `kind` from one article's entry.

    article: the TL;DR and the paragraph after it (the entry's article-level summary; the
    paragraph leaves out the TL;DR's sentence so nothing is said twice). tldr: the TL;DR.
    section: the section bullets, in order.
    """
    if kind == "tldr":
        return article.tldr
    if kind == "section":
        return " ".join(s.summary for s in article.sections if s.summary)
    return " ".join(t for t in (article.tldr, article.summary) if t)


def usable_pairs(
    data: Path, *, limit: int | None = None
) -> tuple[list[Pair], list[Document], list[BadLine]]:
    """The first `limit` pairs of `data` whose article reads and has prose, their documents,
    and the lines left out on the way (with why); EvalError when none is usable. Reading
    stops once `limit` pairs are usable."""
    documents: list[Document] = []
    usable: list[Pair] = []
    bad: list[BadLine] = []
    for pair in iter_pairs(data):
        if limit is not None and len(usable) >= limit:
            break
        if isinstance(pair, BadLine):
            bad.append(pair)
            continue
        try:
            document = read_pair(pair)
        except DigestError as exc:
            bad.append(BadLine(pair.line, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a reader bug must not cost the other pairs
            bad.append(BadLine(pair.line, f"could not be parsed ({type(exc).__name__}: {exc})"))
            continue
        if document.words == 0:
            bad.append(BadLine(pair.line, "no prose in the article"))
            continue
        documents.append(document)
        usable.append(pair)
    if not usable:
        raise EvalError(f"no usable pairs in {data}" + (f": {describe_skips(bad)}" if bad else ""))
    return usable, documents, bad


def reference_words(pairs: Sequence[Pair]) -> float:
    """The mean length of the pairs' reference summaries, in words."""
    counts = [word_count(r) for p in pairs for r in p.references]
    return sum(counts) / len(counts)


def evaluate(
    data: Path,
    options: Any = None,
    *,
    kind: str = "article",
    baselines: Iterable[int] = (),
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Report:
    """Score the digest's `kind` summaries of every pair in `data` (and LEAD-k baselines).

    `options` is a pipeline.Options, as `digest make` builds it: engine, model, decoding
    settings, backend and cache all apply.
    """
    from digest.pipeline import Options, summarise_read_documents

    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not data.is_file():
        raise EvalError(f"no such file: {data}")
    scorer = make_scorer()
    usable, documents, bad = usable_pairs(data, limit=limit)
    if bad:
        # One line, not one per bad line: a file in another layout has thousands. INFO, so
        # -q keeps it off stderr; the report lists every skipped line.
        log.info("%s: %s", data, describe_skips(bad))
    options = options or Options()
    run = summarise_read_documents(documents, options, progress=progress)
    checked, unsupported = run.guard_counts.get(GUARD_PARTS[kind], (0, 0))
    outputs = [entry_text(a, kind) for a in run.articles]
    notices = list(run.notices)
    if kind == "section":
        # Only documents with two or more sections get bullets; the others are not scored
        # (an empty summary would score 0 and say nothing about the bullets).
        keep = [i for i, text in enumerate(outputs) if text]
        if len(keep) < len(outputs):
            notices.append(
                f"{len(outputs) - len(keep)} article(s) without section bullets left out"
            )
        if not keep:
            raise EvalError(f"no article in {data} has section bullets to score")
        outputs = [outputs[i] for i in keep]
        usable = [usable[i] for i in keep]
        documents = [documents[i] for i in keep]
    systems = [score_system(f"digest {kind}", outputs, usable, scorer)]
    for k in baselines:
        leads = [lead(d, k) for d in documents]
        systems.append(score_system(f"LEAD-{k}", leads, usable, scorer))
    return Report(
        data=str(data),
        kind=kind,
        pairs=len(usable),
        bad_lines=tuple(sorted(bad, key=lambda b: b.line)),
        engine=run.engine,
        model=run.model,
        backend=run.backend,
        reference_words=reference_words(usable),
        systems=tuple(systems),
        notices=tuple(notices),
        guard=options.guard,
        guarded=run.guarded,
        guard_checked=checked,
        guard_unsupported=unsupported,
    )


# ------------------------------------------------------------------------- reports


def _rouge_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rouge-score")
    except PackageNotFoundError:
        return "unknown"


def report_markdown(report: Report) -> str:
    """The report as Markdown: a table of F1 × 100 with 95% intervals, and how it was made."""
    engine = report.engine + (f" ({report.model})" if report.model else "")
    lines = [
        f"# digest eval: {report.kind} summaries",
        "",
        f"- data: `{report.data}`, {report.pairs} article(s) scored"
        + (f", {len(report.bad_lines)} line(s) skipped" if report.bad_lines else ""),
        f"- engine: {engine}" + (f", backend {report.backend}" if report.backend else ""),
        f"- F1 × 100, rouge-score {_rouge_version()} with Porter stemming; ROUGE-Lsum with one "
        "sentence per line; [95% bootstrap interval over articles]",
        f"- {MULTI_REFERENCE}",
        f"- references: {report.reference_words:.1f} words on average",
        "",
        "| system | ROUGE-1 | ROUGE-2 | ROUGE-Lsum | words |",
        "|---|---:|---:|---:|---:|",
    ]
    for system in report.systems:
        cells = " | ".join(
            f"{100 * s.mean:.2f} [{100 * s.low:.2f}, {100 * s.high:.2f}]"
            for s in (system.scores[m] for m in METRICS)
        )
        lines.append(f"| {system.name} | {cells} | {system.words:.1f} |")
    lines += ["", f"Faithfulness: {faithfulness_line(report)}"]
    for notice in report.notices:
        lines += ["", f"Note: {notice}"]
    if report.bad_lines:
        lines += ["", "Skipped lines:", ""]
        lines += [f"- line {b.line}: {b.reason}" for b in report.bad_lines[:REPORTED_SKIPS]]
        if len(report.bad_lines) > REPORTED_SKIPS:
            lines.append(f"- and {len(report.bad_lines) - REPORTED_SKIPS} more (all in --json)")
    return "\n".join(lines) + "\n"


def faithfulness_line(report: Report) -> str:
    """The share of the model's sentences the guard found unsupported, in words."""
    share = report.unsupported_share
    if share is None:
        if report.guard == "off":
            return "not checked (--guard off)"
        if not report.guarded:
            return "not checked: extractive summaries are the source's own sentences"
        return "no model-written sentences to check"
    done = {"fix": "replaced or dropped", "flag": "flagged"}[report.guard]
    return (
        f"the guard found {report.guard_unsupported} of {report.guard_checked} model-written "
        f"sentences ({100 * share:.1f}%) not supported by their article, and {done} them "
        "before scoring"
    )


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "data": report.data,
        "kind": report.kind,
        "pairs": report.pairs,
        "engine": report.engine,
        "model": report.model,
        "backend": report.backend,
        "rouge_score": _rouge_version(),
        "stemming": True,
        "multi_reference": "max",
        "reference_words": report.reference_words,
        "systems": [
            {
                "name": s.name,
                "words": s.words,
                **{m: {"f1": v.mean, "low": v.low, "high": v.high} for m, v in s.scores.items()},
            }
            for s in report.systems
        ],
        "skipped": [{"line": b.line, "reason": b.reason} for b in report.bad_lines],
        "notices": list(report.notices),
        "guard": {
            "mode": report.guard,
            "checked": report.guarded,
            "sentences": report.guard_checked,
            "unsupported": report.guard_unsupported,
            "unsupported_share": report.unsupported_share,
        },
    }


def report_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"
