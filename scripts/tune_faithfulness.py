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
from digest.faithfulness import FEATURES, Source, quick_sentences, sentence_features  # noqa: E402


def features(path: Path, half: bool) -> tuple[list[np.ndarray], np.ndarray]:
    groups, labels = [], []
    for article in read_labels(path):
        if tuning_half(article.id) != half:
            continue
        source = Source(article.source)
        for item in article.summaries:
            rows = [
                [sentence_features(s, source)[0][k] for k in FEATURES]
                for s in quick_sentences(item.summary)
            ] or [[0.0] * len(FEATURES)]
            groups.append(np.array(rows))
            labels.append(float(item.inconsistent))
    return groups, np.array(labels)


def fit(groups: list[np.ndarray], y: np.ndarray, l2: float, steps: int = 3000) -> np.ndarray:
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
        w -= 0.5 * grad
    raw = w[:-1] / sd
    bias = w[-1] - float((w[:-1] * mu / sd).sum())
    return np.append(raw, bias)


def flags(groups: list[np.ndarray], w: np.ndarray, threshold: float) -> np.ndarray:
    # The checker's own verdict: any sentence at or over the threshold (max pooling).
    return np.array([(g @ w[:-1] + w[-1]).max() >= threshold for g in groups])


def balanced(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    recall = (p[y == 1]).mean()
    specificity = (~p[y == 0]).mean()
    precision = y[p].mean() if p.any() else 0.0
    return (recall + specificity) / 2, float(precision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args()
    groups, y = features(args.labels, half=True)
    w = fit(groups, y, args.l2)
    # The threshold on the logit: the best balanced accuracy on the tuning half.
    grid = np.linspace(-3, 3, 121)
    best = max(grid, key=lambda t: balanced(y, flags(groups, w, t))[0])
    ba, precision = balanced(y, flags(groups, w, best))
    print(f"tuning half: {len(y)} summaries, balanced accuracy {ba:.3f}, precision {precision:.3f}")
    print("WEIGHTS = {")
    print(f'    "bias": {w[-1] - best:.3f},')
    for name, value in zip(FEATURES, w[:-1], strict=True):
        print(f'    "{name}": {value:.3f},')
    print("}")


if __name__ == "__main__":
    main()
