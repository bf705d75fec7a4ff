"""`digest eval --consistency`: the faithfulness checker against human consistency labels."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.evaluate import RESAMPLES, SEED, percentile_95
from digest.faithfulness import Source, check_summary
from digest.wording import tokens

#: Experts' mean consistency score (1-5) below which a summary counts as inconsistent: the
#: usual binarisation of SummEval (consistent only when every expert gave 5).
CONSISTENT_SCORE = 5.0
#: The plain baseline: a summary is flagged when more than this share of its word 3-grams
#: are not in the source.
BASELINE_SHARE = 0.2
PARTS = ("tuning", "held-out", "all")
#: The verdicts scored, and how the Markdown report names them.
VERDICTS = {
    "checker": "checker (summary-level)",
    "sentences": "any sentence unsupported",
    "baseline": "3-gram baseline (>20% novel)",
}


class ConsistencyError(DigestError):
    """The labels file cannot be read or holds nothing usable."""


@dataclass(frozen=True)
class Labelled:
    """One system summary of one article, with the experts' mean consistency score."""

    article: str
    system: str
    summary: str
    score: float

    @property
    def inconsistent(self) -> bool:
        return self.score < CONSISTENT_SCORE


@dataclass(frozen=True)
class Article:
    id: str
    source: str
    summaries: tuple[Labelled, ...]


def tuning_half(article_id: str) -> bool:
    """The fixed split: an article is in the tuning half when its id's SHA-256 is even. The
    checker's weights were fitted on this half only; the other is reported untouched."""
    return int(hashlib.sha256(article_id.encode("utf-8")).hexdigest(), 16) % 2 == 0


def read_labels(path: Path) -> list[Article]:
    """Articles in the SummEval layout: `id`, `src`, `sys_summs[M].sys_summ` and
    `sys_summs[M].scores.consistency`, one JSON object a line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsistencyError(f"cannot read {path}: {exc}") from None
    articles = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            summaries = tuple(
                Labelled(
                    str(row["id"]),
                    str(system),
                    str(item["sys_summ"]),
                    float(item["scores"]["consistency"]),
                )
                for system, item in sorted(row["sys_summs"].items())
            )
            articles.append(Article(str(row["id"]), str(row["src"]), summaries))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConsistencyError(
                f"{path}, line {number}: not in the SummEval layout ({exc!r})"
            ) from None
    if not articles:
        raise ConsistencyError(f"{path}: no articles")
    return articles


def baseline_flags(summary: str, source: Source) -> bool:
    words = [t.word for t in tokens(summary)]
    grams = list(zip(words, words[1:], words[2:], strict=False))
    if not grams:
        return False
    novel = sum(1 for g in grams if g not in source.all_trigrams)
    return novel / len(grams) > BASELINE_SHARE


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Scores:
    """How one verdict agrees with the experts on a set of summaries."""

    summaries: int
    articles: int
    inconsistent: int
    balanced_accuracy: Interval
    precision: Interval
    recall: Interval


def _metrics(pairs: Sequence[tuple[bool, bool]]) -> tuple[float, float, float]:
    """Balanced accuracy, precision and recall of "inconsistent" over (label, flagged)."""
    tp = sum(1 for y, p in pairs if y and p)
    fn = sum(1 for y, p in pairs if y and not p)
    fp = sum(1 for y, p in pairs if not y and p)
    tn = sum(1 for y, p in pairs if not y and not p)
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    return (recall + specificity) / 2, precision, recall


def score(groups: Sequence[Sequence[tuple[bool, bool]]]) -> Scores:
    """Metrics with bootstrap 95% intervals. Articles are resampled, not summaries: the 16
    summaries of one article share its difficulty, and resampling them one by one would
    give intervals too narrow."""
    flat = [p for g in groups for p in g]
    point = _metrics(flat)
    rng = random.Random(SEED)
    samples: list[tuple[float, float, float]] = []
    for _ in range(RESAMPLES):
        drawn = [p for _ in groups for p in groups[rng.randrange(len(groups))]]
        samples.append(_metrics(drawn))

    def interval(i: int) -> Interval:
        return Interval(point[i], *percentile_95(s[i] for s in samples))

    return Scores(
        len(flat),
        len(groups),
        sum(1 for y, _ in flat if y),
        interval(0),
        interval(1),
        interval(2),
    )


@dataclass(frozen=True)
class ConsistencyReport:
    data: str
    #: part ("tuning", "held-out", "all") → verdict ("checker", "baseline") → scores
    parts: dict[str, dict[str, Scores]]
    sentences: int
    flagged_sentences: int
    seconds: float


Verdict = Callable[[str, Source], bool]


def evaluate_consistency(path: Path) -> ConsistencyReport:
    """Score the checker's summary-level verdict (SummaryCheck.inconsistent), the sentence
    verdict (inconsistent when any sentence is unsupported: what the guard acts on) and the
    3-gram baseline against the experts, on each half of the fixed split and whole."""
    import time

    articles = read_labels(path)
    started = time.perf_counter()
    per_article: dict[str, dict[str, list[tuple[bool, bool]]]] = {}
    sentences = flagged = 0
    for article in articles:
        source = Source(article.source)
        rows: dict[str, list[tuple[bool, bool]]] = {v: [] for v in VERDICTS}
        for item in article.summaries:
            check = check_summary(item.summary, source)
            sentences += len(check.sentences)
            flagged += len(check.flagged)
            rows["checker"].append((item.inconsistent, check.inconsistent))
            rows["sentences"].append((item.inconsistent, not check.supported))
            rows["baseline"].append((item.inconsistent, baseline_flags(item.summary, source)))
        per_article[article.id] = rows
    seconds = time.perf_counter() - started
    parts: dict[str, dict[str, Scores]] = {}
    for part in PARTS:
        chosen = [
            a.id for a in articles if part == "all" or tuning_half(a.id) == (part == "tuning")
        ]
        if not chosen:
            continue
        parts[part] = {
            verdict: score([per_article[a][verdict] for a in chosen]) for verdict in VERDICTS
        }
    return ConsistencyReport(str(path), parts, sentences, flagged, seconds)


def consistency_text(labels: Path | None, pairs: Path | None, *, as_json: bool) -> str:
    """`digest eval --consistency FILE`: the report as Markdown or JSON."""
    from digest.errors import UsageError

    if labels is None:
        raise UsageError("digest eval needs PAIRS (ROUGE) or --consistency FILE")
    if pairs is not None:
        raise UsageError("give PAIRS (ROUGE) or --consistency FILE, not both")
    report = evaluate_consistency(labels)
    return consistency_json(report) if as_json else consistency_markdown(report)


def _cell(i: Interval) -> str:
    return f"{i.value:.3f} [{i.low:.3f}, {i.high:.3f}]"


def consistency_markdown(report: ConsistencyReport) -> str:
    lines = [
        f"# Faithfulness checker against expert consistency labels: {report.data}",
        "",
        "A summary is inconsistent when the experts' mean consistency score is below 5. The "
        "checker flags it when its summary-level score (copied fragments per word, the worst "
        "sentence's unpaired words and unaligned share) reaches the threshold or a sentence "
        "breaks a rule (a number or a name the source lacks, most words unaligned); the "
        "sentence verdict flags it when any of its sentences is unsupported (what the guard "
        "acts on). Brackets: bootstrap 95% "
        f"intervals ({RESAMPLES} resamples of articles). The checker was tuned on the tuning "
        "half only.",
        "",
        "| part | verdict | articles | summaries | inconsistent | balanced accuracy | "
        "precision (inconsistent) | recall (inconsistent) |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for part, verdicts in report.parts.items():
        for name, s in verdicts.items():
            label = VERDICTS[name]
            lines.append(
                f"| {part} | {label} | {s.articles} | {s.summaries} | {s.inconsistent} | "
                f"{_cell(s.balanced_accuracy)} | {_cell(s.precision)} | {_cell(s.recall)} |"
            )
    share = report.flagged_sentences / report.sentences if report.sentences else 0.0
    lines += [
        "",
        f"Sentences checked: {report.sentences}, flagged: {report.flagged_sentences} "
        f"({share:.1%}); checking took {report.seconds:.2f} s.",
        "",
    ]
    return "\n".join(lines)


def consistency_json(report: ConsistencyReport) -> str:
    def interval(i: Interval) -> dict[str, float]:
        return {"value": round(i.value, 4), "low": round(i.low, 4), "high": round(i.high, 4)}

    parts = {
        part: {
            name: {
                "articles": s.articles,
                "summaries": s.summaries,
                "inconsistent": s.inconsistent,
                "balanced_accuracy": interval(s.balanced_accuracy),
                "precision": interval(s.precision),
                "recall": interval(s.recall),
            }
            for name, s in verdicts.items()
        }
        for part, verdicts in report.parts.items()
    }
    body = {
        "data": report.data,
        "parts": parts,
        "sentences": report.sentences,
        "flagged_sentences": report.flagged_sentences,
        "seconds": round(report.seconds, 3),
    }
    return json.dumps(body, indent=2) + "\n"
