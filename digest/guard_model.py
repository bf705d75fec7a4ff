"""A model-based consistency checker for the guard: an NLI or factual-consistency sequence
classifier (hub id or local folder) that scores (source passage, summary sentence) pairs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from digest.errors import ModelUnavailable

log = logging.getLogger(__name__)

#: Label names that mean "the premise supports the hypothesis", in the order they are tried:
#: NLI models say entailment, factual-consistency models (HHEM, AlignScore-style) consistent.
SUPPORT_LABELS = ("entailment", "entails", "entailed", "consistent", "supported", "factual")
#: Pairs per forward pass.
BATCH = 16
#: Premise and sentence together, in tokens: the aligned source sentences are short.
MAX_TOKENS = 512


def support_label(id2label: dict[int, str]) -> int:
    """The index of the label that means supported; ModelUnavailable when none does."""
    names = {i: str(n).strip().lower() for i, n in id2label.items()}
    for wanted in SUPPORT_LABELS:
        for i, name in names.items():
            if name == wanted:
                return int(i)
    raise ModelUnavailable(
        "the consistency model's labels ("
        + ", ".join(names.values())
        + ") name none of "
        + ", ".join(SUPPORT_LABELS)
    )


class ModelChecker:
    """Loaded on first use; `support(pairs)` gives each (premise, sentence) pair the
    probability of the label that means supported."""

    def __init__(self, model: str, device: str | None = None) -> None:
        self.model = model
        self.device = device
        self._tokenizer: Any = None
        self._network: Any = None
        self._label = 0
        self._max_tokens = MAX_TOKENS

    def prepare(self) -> None:
        """Load tokenizer and classifier; ModelUnavailable if they cannot be had."""
        if self._network is not None:
            return
        from digest.engines.loading import Loader, first_line

        loader = Loader(self.model)
        loader.check_obtainable()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            tokenizer = loader.load(AutoTokenizer)
            network = loader.load(AutoModelForSequenceClassification)
        except ValueError as exc:
            raise ModelUnavailable(
                f"consistency model {self.model} could not be loaded: {first_line(exc)}"
            ) from None
        self._label = support_label(dict(network.config.id2label))
        # The smallest limit the checkpoint states: past its position table a model fails.
        limits = [MAX_TOKENS, getattr(network.config, "max_position_embeddings", MAX_TOKENS)]
        stated = getattr(tokenizer, "model_max_length", MAX_TOKENS)
        if isinstance(stated, int) and 0 < stated < 1_000_000:
            limits.append(stated)
        self._max_tokens = min(limits)
        network.eval()
        if self.device:
            network.to(self.device)
        self._tokenizer, self._network = tokenizer, network
        log.info("consistency model %s loaded (supported = label %d)", self.model, self._label)

    def support(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        self.prepare()
        import torch

        scores: list[float] = []
        for start in range(0, len(pairs), BATCH):
            batch = pairs[start : start + BATCH]
            encoded = self._tokenizer(
                [p for p, _ in batch],
                [h for _, h in batch],
                truncation=True,
                max_length=self._max_tokens,
                padding=True,
                return_tensors="pt",
            ).to(self._network.device)
            with torch.inference_mode():
                logits = self._network(**encoded).logits
            probabilities = torch.softmax(logits.float(), dim=-1)[:, self._label]
            scores.extend(float(p) for p in probabilities)
        return scores


def load_model_checker(model: str | None) -> tuple[ModelChecker | None, str | None]:
    """The model checker for `model`, loaded; (None, why) when it cannot be, so the guard
    falls back to the lexical checker alone."""
    if not model:
        return None, None
    checker = ModelChecker(model)
    try:
        checker.prepare()
    except ModelUnavailable as exc:
        return None, f"{exc}; the guard uses the lexical checker alone"
    return checker, None
