"""Fit the faithfulness checker's weights on the tuning half of a SummEval-layout file.

    python scripts/tune_faithfulness.py ../shared/data/summeval-consistency/dev.jsonl

Only the articles of the tuning half (digest.consistency.tuning_half) are read for fitting;
the printed weights and threshold go into digest/faithfulness.py by hand, and
`digest eval --consistency` then reports the held-out half untouched. The sentence risk is
a logistic score over the sentence's features; a summary's is its riskiest sentence's, so the
fit pools sentences with a soft maximum (log-sum-exp) and weighs both classes equally.
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
    Source,
    certainly_unsupported,
    quick_sentences,
    sentence_features,
)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--precision", type=float, default=0.4)
    parser.add_argument("--curve", action="store_true", help="print every threshold's figures")
    args = parser.parse_args()
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
