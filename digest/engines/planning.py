"""Planning seq2seq work: summary lengths per input, jobs, and length-sorted batches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digest.budgets import BUDGETS, TOKENS_PER_WORD
from digest.text import split_sentences

#: A summary may run from this share of its word budget (digest.budgets) to this share.
LENGTH_SLACK = (0.6, 1.25)
#: Prompt kinds: a chunk is one piece of a text too long for the model.
PROMPT_KINDS = ("section", "article", "chunk")
#: No summary is allowed fewer new tokens than this at most (a sentence needs room).
SHORTEST_MAX_NEW = 16
#: Upper bound on new tokens when the checkpoint does not state one.
DEFAULT_MAX_NEW = 200
BEAM_ONLY = ("early_stopping", "length_penalty")


def target_lengths(
    tokens: int,
    kind: str,
    *,
    ceiling: int = DEFAULT_MAX_NEW,
    checkpoint_min: int | None = None,
) -> tuple[int, int]:
    """(min_new_tokens, max_new_tokens) for a text of `tokens` tokens.

    The same word budget as the extractive engine's (digest.budgets: about 60 words for a
    700-word story, growing with the fourth root of the length), in tokens; so a short
    section is not padded out to a checkpoint's minimum (BART-CNN's 56 tokens is longer than
    many sections) and a long article gets a paragraph, not the checkpoint's 142 tokens.
    Lengths are rounded to coarse steps so texts of similar length share a batch.
    """
    budget = BUDGETS[kind].words(round(tokens / TOKENS_PER_WORD)) * TOKENS_PER_WORD
    ceiling = max(1, ceiling)
    most = max(SHORTEST_MAX_NEW, math.ceil(budget * LENGTH_SLACK[1]))
    least = min(math.floor(budget * LENGTH_SLACK[0]), tokens)
    if checkpoint_min is not None:
        least = min(least, checkpoint_min)
    return coarse(least, most, ceiling)


def coarse(least: int, most: int, ceiling: int, step: int = 8) -> tuple[int, int]:
    most = min(ceiling, step * math.ceil(most / step))
    return min(most, step // 2 * (least // (step // 2))), most


def first_sentence(text: str) -> str:
    """The TL;DR of a summary: its first sentence (no model call; the summary is short)."""
    sentences = split_sentences(text)
    return sentences[0] if sentences else text.strip()


@dataclass
class Job:
    """One model input: a whole text, or one chunk of a text too long for the window."""

    text: int  # index of the input text this job belongs to
    prompt: str
    tokens: int  # prompt tokens, special tokens included
    settings: tuple[tuple[str, Any], ...]
    final: bool  # its output is the text's summary (not one chunk's, to be reduced)


def plan_batches(jobs: Sequence[Job], *, batch_size: int, batch_tokens: int) -> list[list[int]]:
    """Job indices in batches of equal settings and similar length, longest first."""
    order = sorted(range(len(jobs)), key=lambda j: (jobs[j].settings, -jobs[j].tokens))
    batches: list[list[int]] = []
    for j in order:
        job = jobs[j]
        beams = int(dict(job.settings).get("num_beams", 1))
        if batches:
            batch = batches[-1]
            head = jobs[batch[0]]  # the longest of its batch: sets the padded length
            fits = (len(batch) + 1) * head.tokens * beams <= batch_tokens
            if head.settings == job.settings and len(batch) < batch_size and fits:
                batch.append(j)
                continue
        batches.append([j])
    return batches
