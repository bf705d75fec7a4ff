"""The faithfulness guard: a model's summary checked against its source, sentence by sentence,
its unsupported sentences replaced by the source sentence they paraphrased, dropped, or
flagged (--guard fix|flag|off)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.errors import UsageError
from digest.faithfulness import Source, best_source_sentence, check_sentence, quick_sentences
from digest.model import GuardNote
from digest.text import join_sentences, normalise_space

if TYPE_CHECKING:
    from digest.guard_model import ModelChecker

log = logging.getLogger(__name__)

GUARD_MODES = ("fix", "flag", "off")
#: Below this probability of support from the model-based checker a sentence is unsupported,
#: whatever the lexical checker said.
MODEL_SUPPORT = 0.5
#: Source texts indexed at once: a run checks each article's summary, TL;DR and sections
#: against a handful of texts, then moves on.
_INDEXED = 64


def check_guard_mode(mode: str) -> str:
    if mode not in GUARD_MODES:
        raise UsageError(f"--guard must be one of {', '.join(GUARD_MODES)}, not {mode!r}")
    return mode


@dataclass
class GuardCounts:
    """What one run's guard did, for the log and the benchmark."""

    sentences: int = 0
    replaced: int = 0
    dropped: int = 0
    flagged: int = 0
    seconds: float = 0.0
    #: part ("summary", "tldr", "section") → [sentences checked, found unsupported]
    parts: dict[str, list[int]] = field(default_factory=dict)

    def unsupported(self, part: str) -> tuple[int, int]:
        checked, found = self.parts.get(part, [0, 0])
        return checked, found


class Guard:
    """Checks model-written texts against the texts they were made from.

    `fix` replaces an unsupported sentence by the source sentence holding most of its words
    (when one holds at least half of them and is not already said) or drops it; `flag` keeps
    it and notes it. A sentence found word for word in its source is supported as it stands.
    """

    def __init__(self, mode: str, model: str | ModelChecker | None = None) -> None:
        self.mode = check_guard_mode(mode)
        #: The consistency model's name until it is loaded, on first need (never, for a run
        #: whose summaries all come quoted); None when there is none or it failed to load.
        self._model_name = model if isinstance(model, str) else None
        self.model = None if isinstance(model, str) else model
        #: Why the consistency model is not used, when it was named but did not load.
        self.model_problem: str | None = None
        self.counts = GuardCounts()
        self._sources: dict[str, tuple[Source, str]] = {}

    def _source(self, text: str) -> tuple[Source, str]:
        if text not in self._sources:
            if len(self._sources) >= _INDEXED:
                self._sources.pop(next(iter(self._sources)))
            self._sources[text] = (Source(text), normalise_space(text))
        return self._sources[text]

    def apply(
        self, summary: str, source_text: str, part: str, section: str | None = None
    ) -> tuple[str, list[GuardNote]]:
        """`summary` with its unsupported sentences fixed (or as it is, when flagging), and
        a note for each such sentence."""
        if self.mode == "off" or not summary.strip():
            return summary, []
        started = time.perf_counter()
        try:
            return self._apply(summary, source_text, part, section)
        finally:
            self.counts.seconds += time.perf_counter() - started

    def _apply(
        self, summary: str, source_text: str, part: str, section: str | None
    ) -> tuple[str, list[GuardNote]]:
        source, flat = self._source(source_text)
        paragraphs = [quick_sentences(p) for p in re.split(r"\n\s*\n", summary) if p.strip()]
        sentences = [s for p in paragraphs for s in p]
        verdicts = self._verdicts(sentences, source, flat)
        notes: list[GuardNote] = []
        used = {normalise_space(s) for s in sentences}
        kept_paragraphs: list[str] = []
        at = 0
        counted = self.counts.parts.setdefault(part, [0, 0])
        counted[0] += len(sentences)
        counted[1] += sum(1 for reason, _ in verdicts if reason is not None)
        for paragraph in paragraphs:
            kept: list[str] = []
            for sentence in paragraph:
                reason, score = verdicts[at]
                at += 1
                self.counts.sentences += 1
                if reason is None:
                    kept.append(sentence)
                    continue
                note = GuardNote(part, sentence, "flagged", reason, None, section, score)
                if self.mode == "fix":
                    replacement = best_source_sentence(sentence, source)
                    if replacement is not None and normalise_space(replacement) not in used:
                        used.add(normalise_space(replacement))
                        kept.append(replacement)
                        note = GuardNote(
                            part, sentence, "replaced", reason, replacement, section, score
                        )
                        self.counts.replaced += 1
                    else:
                        note = GuardNote(part, sentence, "dropped", reason, None, section, score)
                        self.counts.dropped += 1
                else:
                    kept.append(sentence)
                    self.counts.flagged += 1
                notes.append(note)
            if kept:
                kept_paragraphs.append(join_sentences(kept))
        return "\n\n".join(kept_paragraphs), notes

    def _verdicts(
        self, sentences: Sequence[str], source: Source, flat: str
    ) -> list[tuple[str | None, float | None]]:
        """(why it is unsupported or None, the model's support or None) per sentence."""
        checks = [
            None if normalise_space(s) in flat else check_sentence(s, source) for s in sentences
        ]
        scores: list[float | None] = [None] * len(sentences)
        if self._model_name is not None:
            from digest.guard_model import load_model_checker

            self.model, self.model_problem = load_model_checker(self._model_name)
            self._model_name = None
            if self.model_problem:
                log.warning("%s", self.model_problem)
        if self.model is not None:
            asked = [i for i, c in enumerate(checks) if c is not None]
            pairs = [(checks[i].aligned or flat[:2000], sentences[i]) for i in asked]  # type: ignore[union-attr]
            found: list[float | None]
            try:
                found = list(self.model.support(pairs))
            except Exception as exc:  # noqa: BLE001 - an optional model must not end the run
                self.model_problem = (
                    f"consistency model {self.model.model} failed ({type(exc).__name__}: "
                    f"{exc}); the guard uses the lexical checker alone"
                )
                log.warning("%s", self.model_problem)
                self.model, found = None, [None] * len(asked)
            for i, p in zip(asked, found, strict=True):
                scores[i] = p
        verdicts: list[tuple[str | None, float | None]] = []
        for check, score in zip(checks, scores, strict=True):
            if check is None:
                verdicts.append((None, None))  # quoted word for word
            elif not check.supported:
                verdicts.append((check.reason, score))
            elif score is not None and score < MODEL_SUPPORT:
                verdicts.append((f"the consistency model gives it {score:.0%} support", score))
            else:
                verdicts.append((None, score))
        return verdicts

    def log_counts(self) -> None:
        c = self.counts
        if c.sentences:
            log.info(
                "guard (%s): %d sentences checked, %d replaced, %d dropped, %d flagged, %.2f s",
                self.mode,
                c.sentences,
                c.replaced,
                c.dropped,
                c.flagged,
                c.seconds,
            )
