"""Fit the faithfulness checker's weights on the tuning half of a SummEval-layout file.

    python scripts/tune_faithfulness.py ../shared/data/summeval-consistency/dev.jsonl

Only the articles of the tuning half (digest.consistency.tuning_half) are read for fitting;
the printed weights and threshold go into digest/faithfulness.py by hand, and
`digest eval --consistency` then reports the held-out half untouched. The sentence risk is
a logistic score over the sentence's features; a summary's is its riskiest sentence's, so the
fit pools sentences with a soft maximum (log-sum-exp) and weighs both classes equally.

    python scripts/tune_faithfulness.py --summary ../shared/data/summeval-consistency/dev.jsonl

fits the summary-level verdict instead (digest.faithfulness.SUMMARY_SCALES and
SUMMARY_THRESHOLD: the mean of the standardised summary signals, and a threshold). It first
reports 4-fold cross-validation within the tuning half, folds drawn by article (the 16
summaries of one article never straddle training and test) and repeated over 20 shuffles,
for this verdict, the 3-gram baseline with its threshold refitted per fold, and the checker
as it stands; then it fits the scales and the threshold on the whole tuning half.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.consistency import read_labels, tuning_half  # noqa: E402
from digest.faithfulness import (  # noqa: E402
    FEATURES,
    SUMMARY_SCALES,
    Source,
    certainly_unsupported,
    check_summary,
    quick_sentences,
    sentence_features,
)
from digest.wording import tokens  # noqa: E402


def features(path: Path, half: bool) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Each summary's sentence features, its label, and whether a sentence of it is
    unsupported on the rules alone (those are flagged whatever the weights)."""
    groups, labels, certain = [], [], []
    for article in read_labels(path):
        if tuning_half(article.id) != half:
            continue
        source = Source(article.source)
        for item in article.summaries:
            found = [sentence_features(s, source)[0] for s in quick_sentences(item.summary)]
            rows = [[f[k] for k in FEATURES] for f in found] or [[0.0] * len(FEATURES)]
            groups.append(np.array(rows))
            labels.append(float(item.inconsistent))
            certain.append(any(certainly_unsupported(f) for f in found))
    return groups, np.array(labels), np.array(certain)


def fit(groups: list[np.ndarray], y: np.ndarray, l2: float, steps: int = 1500) -> np.ndarray:
    """Weights (bias last) over standardised features, by gradient descent."""
    stacked = np.vstack(groups)
    mu, sd = stacked.mean(0), stacked.std(0) + 1e-9
    z = [(g - mu) / sd for g in groups]
    w = np.zeros(len(FEATURES) + 1)
    balance = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    for _ in range(steps):
        grad = np.zeros_like(w)
        for g, label, weight in zip(z, y, balance, strict=True):
            scores = g @ w[:-1] + w[-1]
            top = scores.max()
            soft = np.exp(scores - top)
            pooled = top + np.log(soft.sum())
            p = 1 / (1 + np.exp(-pooled))
            share = soft / soft.sum()
            d = weight * (p - label)
            grad[:-1] += d * (share @ g)
            grad[-1] += d
        grad /= len(z)
        grad[:-1] += l2 * w[:-1]
        w -= 1.0 * grad
        # Every signal says "riskier" as it grows: a negative weight would be collinearity
        # talking, and would let a sentence pass for being unlike its source.
        w[:-1] = np.maximum(w[:-1], 0.0)
    raw = w[:-1] / sd
    bias = w[-1] - float((w[:-1] * mu / sd).sum())
    # Standardised weights clipped at 0 stay 0 in raw units; the bias absorbs the means.
    return np.append(raw, bias)


def flags(
    groups: list[np.ndarray], certain: np.ndarray, w: np.ndarray, threshold: float
) -> np.ndarray:
    # The checker's own verdict: a rule, or any sentence at or over the threshold.
    scored = np.array([(g @ w[:-1] + w[-1]).max() >= threshold for g in groups])
    return scored | certain


def balanced(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    recall = (p[y == 1]).mean()
    specificity = (~p[y == 0]).mean()
    precision = y[p].mean() if p.any() else 0.0
    return (recall + specificity) / 2, float(precision)


def summary_rows(path: Path) -> tuple[np.ndarray, ...]:
    """The tuning half's summaries: article, summary signals (SUMMARY_SCALES' order), label,
    the sentence verdict (any sentence unsupported), the 3-gram baseline's novel share, and
    whether a sentence breaks a rule (flagged whatever the summary's score)."""
    articles, rows, labels, verdicts, novel, certain = [], [], [], [], [], []
    for article in read_labels(path):
        if not tuning_half(article.id):
            continue
        source = Source(article.source)
        for item in article.summaries:
            check = check_summary(item.summary, source)
            articles.append(article.id)
            rows.append([check.features[k] for k in SUMMARY_SCALES])
            labels.append(item.inconsistent)
            verdicts.append(not check.supported)
            certain.append(any(certainly_unsupported(c.features) for c in check.sentences))
            words = [t.word for t in tokens(item.summary)]
            grams = list(zip(words, words[1:], words[2:], strict=False))
            novel.append(
                sum(g not in source.all_trigrams for g in grams) / len(grams) if grams else 0.0
            )
    return (
        np.array(articles),
        np.array(rows),
        np.array(labels),
        np.array(verdicts),
        np.array(novel),
        np.array(certain),
    )


def best_threshold(score: np.ndarray, y: np.ndarray, rules: np.ndarray | None = None) -> float:
    """The threshold with the best balanced accuracy (flagged: at or over it, or breaking a
    rule): halfway between two observed scores."""
    values = np.unique(score)
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2])
    ruled = np.zeros(len(y), bool) if rules is None else rules
    return float(max(cuts, key=lambda t: balanced(y, (score >= t) | ruled)[0]))


def scaled(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    return ((x - train.mean(0)) / train.std(0)).mean(1)


def cross_validate(
    articles: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    fixed: np.ndarray,
    novel: np.ndarray,
    certain: np.ndarray,
) -> None:
    names = sorted(set(articles))
    results: dict[str, list[tuple[float, float]]] = {"summary": [], "baseline": [], "fixed": []}
    for shuffle in range(20):
        order = np.random.RandomState(shuffle).permutation(names)
        fold = {a: i % 4 for i, a in enumerate(order)}
        folds = np.array([fold[a] for a in articles])
        flagged = {k: np.zeros(len(y), bool) for k in ("summary", "baseline")}
        for k in range(4):
            train, test = folds != k, folds == k
            t = best_threshold(scaled(x[train], x[train]), y[train], certain[train])
            flagged["summary"][test] = (scaled(x[test], x[train]) >= t) | certain[test]
            t = best_threshold(novel[train], y[train])
            flagged["baseline"][test] = novel[test] >= t
        for k, f in flagged.items():
            results[k].append(balanced(y, f))
        results["fixed"].append(balanced(y, fixed))
    labels = {
        "summary": "summary-level verdict (scales and threshold refitted per fold)",
        "baseline": "3-gram novel share (threshold refitted per fold)",
        "fixed": "any sentence unsupported (not refitted: its weights saw the whole tuning half)",
    }
    for k, label in labels.items():
        r = np.array(results[k])
        print(
            f"CV {label}: balanced accuracy {r[:, 0].mean():.3f} (sd over shuffles "
            f"{r[:, 0].std():.3f}), precision {r[:, 1].mean():.3f}"
        )


def tune_summary(path: Path) -> None:
    articles, x, y, fixed, novel, certain = summary_rows(path)
    cross_validate(articles, x, y, fixed, novel, certain)
    mu, sd = x.mean(0), x.std(0)
    threshold = best_threshold(scaled(x, x), y, certain)
    ba, precision = balanced(y, (scaled(x, x) >= threshold) | certain)
    print(f"tuning half: {len(y)} summaries, balanced accuracy {ba:.3f}, precision {precision:.3f}")
    print("SUMMARY_SCALES = {")
    for name, m, s in zip(SUMMARY_SCALES, mu, sd, strict=True):
        print(f'    "{name}": ({m:.4f}, {s:.4f}),')
    print("}")
    print(f"SUMMARY_THRESHOLD = {threshold:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--precision", type=float, default=0.4)
    parser.add_argument("--curve", action="store_true", help="print every threshold's figures")
    parser.add_argument("--summary", action="store_true", help="fit the summary-level verdict")
    args = parser.parse_args()
    if args.summary:
        tune_summary(args.labels)
        return
    groups, y, certain = features(args.labels, half=True)
    w = fit(groups, y, args.l2)
    # The threshold on the logit: the best balanced accuracy on the tuning half.
    # The threshold on the logit: the best balanced accuracy on the tuning half among those
    # at least --precision precise, since a guard that rewrites good sentences costs readers.
    grid = np.linspace(-3, 6, 181)
    results = {t: balanced(y, flags(groups, certain, w, t)) for t in grid}
    if args.curve:
        for t, (ba, precision) in results.items():
            print(f"threshold {t:+.2f}: balanced accuracy {ba:.3f}, precision {precision:.3f}")
    precise = [t for t in grid if results[t][1] >= args.precision] or list(grid)
    best = max(precise, key=lambda t: results[t][0])
    ba, precision = results[best]
    print(f"tuning half: {len(y)} summaries, balanced accuracy {ba:.3f}, precision {precision:.3f}")
    print("WEIGHTS = {")
    print(f'    "bias": {w[-1] - best:.3f},')
    for name, value in zip(FEATURES, w[:-1], strict=True):
        print(f'    "{name}": {value:.3f},')
    print("}")


if __name__ == "__main__":
    main()
