"""The seq2seq engine: any Hugging Face encoder-decoder checkpoint (T5, BART, Pegasus, …)."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from digest.chunking import chunk_text
from digest.defaults import DEFAULT_MODEL
from digest.engines import ctranslate2_backend
from digest.engines.conversions import conversions_folder
from digest.engines.loading import (
    FALLBACK_INPUT_TOKENS,
    Checkpoint,
    decoding_defaults,
    input_limit,
    output_limit,
    read_checkpoint,
    usable_cores,
)
from digest.engines.planning import (
    BEAM_ONLY,
    DEFAULT_MAX_NEW,
    PROMPT_KINDS,
    SHORTEST_MAX_NEW,
    Job,
    coarse,
    first_sentence,
    plan_batches,
    target_lengths,
)
from digest.engines.settings import resolve_model
from digest.engines.transformers_backend import Loaded, load_checkpoint
from digest.errors import ModelUnavailable
from digest.prompts import Prompt, load_prompt, prompt_family

log = logging.getLogger(__name__)


#: The fewest new tokens one chunk's summary may have.
CHUNK_LEAST = 8
#: Map-reduce rounds before the chunk summaries are returned as they are (not reached in
#: practice: each round shrinks a text to about a quarter of its size or less).
MAX_ROUNDS = 8


class Seq2SeqSummariser:
    """Summarises with a Hugging Face seq2seq checkpoint, loaded once on first need.

    Options: `backend` ("transformers", "ctranslate2" or "auto": CTranslate2 when it is
    installed and the checkpoint converts), `device` ("cpu", "cuda", …; default: CUDA when
    present), `batch_size` (most texts per generate() call; 32 on CPU, 64 with CTranslate2),
    `batch_tokens` (most input tokens × beams per call; 16,384 on CPU, 65,536 with CTranslate2
    — lower it to save memory), `max_input_tokens`
    (a smaller window than the model's own, e.g. for tests), `threads` (CPU threads; default:
    the cores this process may use), `compute_type` (CTranslate2's weights and arithmetic:
    default int8 on CPU, int8_float16 on GPU; float32 reproduces transformers exactly),
    `prompts` (template file name → text, as an EngineSpec carries them; default: prompts/),
    `conversions` (where CTranslate2 conversions are made and reused; default: user cache).
    """

    name: str = "seq2seq"

    def __init__(
        self,
        model: str | None = None,
        generate: Mapping[str, Any] | None = None,
        *,
        backend: str = "auto",
        device: str | None = None,
        batch_size: int | None = None,
        batch_tokens: int | None = None,
        max_input_tokens: int | None = None,
        threads: int | None = None,
        compute_type: str | None = None,
        prompts: Mapping[str, str] | None = None,
        conversions: str | Path | None = None,
    ) -> None:
        self.model: str | None = resolve_model(model or DEFAULT_MODEL)
        self.generate = dict(generate or {})
        self.requested_backend = ctranslate2_backend.check_backend_name(backend)
        #: The backend that runs (or, before prepare(), is expected to run) the model.
        self.backend: str | None = ctranslate2_backend.expected_backend(self.requested_backend)
        self.device = device
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.max_input_tokens = max_input_tokens
        self.threads = threads
        self.compute_type = compute_type
        #: Prompt templates carried by an EngineSpec (file name → text); None: read prompts/.
        self.prompts = dict(prompts) if prompts else None
        self.conversions = conversions_folder(None) if conversions is None else Path(conversions)
        self._loaded: Loaded | None = None
        self._prompt: Prompt | None = None
        self._limit = FALLBACK_INPUT_TOKENS
        self._defaults: dict[str, Any] = {}
        self._checkpoint_min: int | None = None
        self._checkpoint_max: int | None = None
        self._output_limit: int | None = None
        self._base_tokens: dict[str, int] = {}
        #: Token ids of the prompts counted during one summarise() call (see _count_many).
        self._encoded: dict[str, list[int]] = {}
        #: Counts for logs and the benchmark: model inputs, generate() calls, texts map-reduced.
        self.stats = {"inputs": 0, "batches": 0, "map_reduced": 0}
        #: Seconds spent tokenising (counting, encoding, decoding) and in the backend.
        self.timings = {"tokenise": 0.0, "generate": 0.0, "load": 0.0}

    # -- loading

    def prepare(self) -> None:
        """Load tokenizer and model once; later calls return at once."""
        if self._loaded is not None:
            return
        assert self.model is not None
        if "torch" not in sys.modules:
            # Idle OpenMP threads then sleep instead of spinning: on a machine shared with other
            # work, spinning threads fight for the same cores and generation slows many-fold.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        threads = self.threads or usable_cores()
        started = time.perf_counter()
        checkpoint = self._cached_checkpoint(threads) or read_checkpoint(self.model)
        self._defaults, self._checkpoint_min, self._checkpoint_max = decoding_defaults(
            checkpoint.generation_config, checkpoint.config
        )
        loaded = self._load_backend(checkpoint, threads)
        model_type = getattr(loaded.config, "model_type", "")
        name = f"{self.model} {getattr(loaded.config, '_name_or_path', '')}"
        self._prompt = load_prompt(prompt_family(model_type, name), self.prompts)
        self._limit = input_limit(loaded.tokenizer, loaded.config)
        self._output_limit = output_limit(loaded.config)
        if self.max_input_tokens:
            # Only ever smaller: past the model's own limit BART fails and T5 degrades.
            self._limit = min(self._limit, self.max_input_tokens)
        # CTranslate2 keeps beams and caches in far less memory than torch, and its larger
        # batches were measured faster on 2 CPU cores too (5.5 s against 6.5 s at beam 4).
        large = not loaded.device.startswith("cpu") or loaded.backend.name == "ctranslate2"
        self.batch_size = self.batch_size or (64 if large else 32)
        self.batch_tokens = self.batch_tokens or (65536 if large else 16384)
        self._loaded = loaded
        self.backend = loaded.backend.name
        self._base_tokens = {k: self._count("", k) for k in PROMPT_KINDS}
        self.timings["load"] = time.perf_counter() - started
        log.info(
            "loaded %s (%s) with %s on %s in %.1fs: window %d tokens, prompt %s, %d threads",
            self.model,
            model_type,
            self.backend,
            loaded.device,
            self.timings["load"],
            self._limit,
            self._prompt.filename,
            threads,
        )

    def _cached_checkpoint(self, threads: int) -> Checkpoint | None:
        """The checkpoint from CTranslate2's cached conversion, where that backend will run:
        configs and tokenizer without importing torch or transformers (about 1.5 s a run)."""
        if self.requested_backend == "transformers" or not ctranslate2_backend.installed():
            return None
        assert self.model is not None
        return ctranslate2_backend.cached_checkpoint(
            self.model,
            root=self.conversions,
            device=self.device,
            compute_type=self.compute_type,
            threads=threads,
        )

    def _load_backend(self, checkpoint: Checkpoint, threads: int) -> Loaded:
        """CTranslate2 where asked (or, for auto, where it can); transformers otherwise."""
        choice = self.requested_backend
        if choice == "ctranslate2" or (choice == "auto" and ctranslate2_backend.installed()):
            # The user's settings over the checkpoint's: what every batch will decode with.
            settings = {**self._defaults, **self.generate}
            reason = ctranslate2_backend.unusable_because(settings, strict=choice != "auto")
            if reason is None:
                try:
                    backend, device = ctranslate2_backend.load(
                        checkpoint,
                        root=self.conversions,
                        device=self.device,
                        threads=threads,
                        compute_type=self.compute_type,
                        batch_tokens=self.batch_tokens,
                    )
                except ModelUnavailable as exc:
                    if choice != "auto":
                        raise
                    reason = str(exc)
                else:
                    config = checkpoint.config
                    return Loaded(
                        checkpoint.tokenizer,
                        None,
                        config,
                        device,
                        backend,
                        checkpoint.generation_config,
                    )
            log.info("%s; using transformers", reason)
        checkpoint = checkpoint.with_transformers()
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        loaded = load_checkpoint(self.model or "", device=self.device, checkpoint=checkpoint)
        # The checkpoint's min_length/max_length (BART-CNN: 56/142) are replaced by lengths
        # scaled to each input; reset them so generate() neither applies nor warns about them.
        generation = loaded.network.generation_config
        blank = type(generation)()
        generation.min_length = blank.min_length
        generation.max_length = blank.max_length
        return loaded

    @property
    def input_tokens(self) -> int:
        """The window every model input fits in (prompt and special tokens included)."""
        self.prepare()
        return self._limit

    def _count(self, text: str, kind: str) -> int:
        return self._count_many({0: text}, kind, keep=False)[0]

    def _count_many(self, texts: Mapping[int, str], kind: str, keep: bool) -> dict[int, int]:
        """Each text's prompt length in tokens, in one tokenizer call; with `keep`, the ids
        are kept, so a whole text's prompt is not tokenised again for the model."""
        assert self._loaded is not None and self._prompt is not None
        prompts = {i: self._prompt(text, kind=kind) for i, text in texts.items()}
        started = time.perf_counter()
        encoded = self._loaded.tokenizer(list(prompts.values()), verbose=False)["input_ids"]
        self.timings["tokenise"] += time.perf_counter() - started
        if keep:
            self._encoded.update(zip(prompts.values(), encoded, strict=True))
        return {i: len(ids) for i, ids in zip(prompts, encoded, strict=True)}

    # -- decoding settings

    def generation_settings(self, tokens: int, kind: str) -> dict[str, Any]:
        """generate() keyword arguments for summarising a text of `tokens` tokens (no prompt).

        Checkpoint defaults, then lengths scaled to the input, then the user's explicit
        settings, which win.
        """
        self.prepare()
        least, most = target_lengths(
            tokens,
            kind,
            ceiling=self._checkpoint_max or DEFAULT_MAX_NEW,
            checkpoint_min=self._checkpoint_min,
        )
        settings: dict[str, Any] = {
            **self._defaults,
            "min_new_tokens": least,
            "max_new_tokens": most,
        }
        settings.update(self.generate)
        if self._output_limit and settings["max_new_tokens"] > self._output_limit:
            # Beyond the decoder's position table generate() fails with an IndexError.
            settings["max_new_tokens"] = self._output_limit
        settings["min_new_tokens"] = min(settings["min_new_tokens"], settings["max_new_tokens"])
        if settings.get("num_beams", 1) <= 1:
            for key in BEAM_ONLY:  # meaningless without beams; transformers warns about them
                settings.pop(key, None)
        return settings

    def chunk_settings(self, summary: Mapping[str, Any], share: float) -> dict[str, Any]:
        """Settings for one chunk of a long text: its share of the whole text's summary length.

        Together the chunk summaries come to about one summary of the text, which the reduce
        step then makes whole. Each stays under a quarter of the window, so every round
        shrinks the text and map-reduce ends.
        """
        cap = max(SHORTEST_MAX_NEW, (self._limit - self._base_tokens["chunk"]) // 4)
        most = max(SHORTEST_MAX_NEW, math.ceil(summary["max_new_tokens"] * share))
        # Coarser steps than whole texts get: chunk shares vary a lot, and texts must share
        # settings to share a batch.
        least, most = coarse(math.floor(summary["min_new_tokens"] * share), most, cap, step=16)
        # Never nothing: an empty chunk summary drops that part of the text from the reduce
        # step (digest-sized budgets make small shares round down to 0).
        least = min(most, max(least, CHUNK_LEAST))
        return {**summary, "min_new_tokens": least, "max_new_tokens": most}

    # -- summarising

    def summarise(
        self,
        texts: Sequence[str],
        *,
        kind: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """One summary per text, in order; long texts are summarised map-reduce."""
        if kind == "tldr":
            # The input is already a summary: its first sentence is the TL;DR.
            tldrs = [first_sentence(t) for t in texts]
            if progress and tldrs:
                progress(len(tldrs))
            return tldrs
        if kind not in ("section", "article"):
            raise ValueError(f"unknown kind {kind!r}")
        results: list[str | None] = [None] * len(texts)
        work: dict[int, str] = {}
        for i, text in enumerate(texts):
            if text.strip():
                work[i] = text.strip()
            else:
                results[i] = ""
        if progress and len(work) < len(texts):
            progress(len(texts) - len(work))
        if not work:
            return [r or "" for r in results]
        self.prepare()

        try:
            return self._summarise(work, results, kind, progress)
        finally:
            self._encoded.clear()

    def _summarise(
        self,
        work: dict[int, str],
        results: list[str | None],
        kind: str,
        progress: Callable[[int], None] | None,
    ) -> list[str]:
        sizes = self._count_many(work, kind, keep=True)
        lengths = {i: max(1, n - self._base_tokens[kind]) for i, n in sizes.items()}
        self.stats["map_reduced"] += sum(1 for size in sizes.values() if size > self._limit)
        for round_ in range(1, MAX_ROUNDS + 1):
            jobs = self._plan(work, sizes, lengths, kind)
            outputs = self._run(jobs, progress)
            pieces: dict[int, list[str]] = {}
            for job, output in zip(jobs, outputs, strict=True):
                if job.final:
                    results[job.text] = output
                else:
                    pieces.setdefault(job.text, []).append(output)
            work = {}
            for i, parts in pieces.items():
                joined = " ".join(p for p in parts if p)
                size = self._count_many({i: joined}, kind, keep=True)[i]
                if size >= sizes[i] or round_ == MAX_ROUNDS:
                    # No progress (or out of rounds): keep every chunk summary rather than cut.
                    log.warning("text %d: map-reduce stopped after %d rounds", i, round_)
                    results[i] = joined
                    if progress:
                        progress(1)
                else:
                    work[i], sizes[i] = joined, size
            if not work:
                break
        return [r if r is not None else "" for r in results]

    def _plan(
        self,
        work: Mapping[int, str],
        sizes: Mapping[int, int],
        lengths: Mapping[int, int],
        kind: str,
    ) -> list[Job]:
        """A job per text that fits the window; a job per chunk for one that does not.

        `lengths` holds each text's original length in tokens, which sets its summary length
        in every round: a map-reduced text gets the summary its full length deserves.
        """
        assert self._prompt is not None
        jobs = []
        for i, text in work.items():
            summary = self.generation_settings(lengths[i], kind)
            if sizes[i] <= self._limit:
                prompt = self._prompt(text, kind=kind)
                jobs.append(Job(i, prompt, sizes[i], tuple(sorted(summary.items())), True))
                continue
            chunks = chunk_text(text, limit=self._limit, count=lambda t: self._count(t, "chunk"))
            log.debug("text %d: %d tokens, %d chunks", i, sizes[i], len(chunks))
            # Kept: these prompts go to the model as they are, so _run() need not encode them.
            counted = self._count_many(dict(enumerate(chunks)), "chunk", keep=True)
            measured = [counted[n] for n in range(len(chunks))]
            room = [max(1, n - self._base_tokens["chunk"]) for n in measured]
            for chunk, tokens, share in zip(chunks, measured, room, strict=True):
                settings = self.chunk_settings(summary, share / sum(room))
                prompt = self._prompt(chunk, kind="chunk")
                jobs.append(Job(i, prompt, tokens, tuple(sorted(settings.items())), False))
        return jobs

    def _run(self, jobs: Sequence[Job], progress: Callable[[int], None] | None) -> list[str]:
        assert self._loaded is not None
        tokenizer, backend = self._loaded.tokenizer, self._loaded.backend
        outputs: list[str] = [""] * len(jobs)
        assert self.batch_size and self.batch_tokens
        batches = plan_batches(jobs, batch_size=self.batch_size, batch_tokens=self.batch_tokens)
        for batch in batches:
            settings = dict(jobs[batch[0]].settings)
            started = time.perf_counter()
            prompts = [jobs[j].prompt for j in batch]
            missing = list(dict.fromkeys(p for p in prompts if p not in self._encoded))
            if missing:  # normally none: every prompt was measured with keep=True
                self._encoded.update(zip(missing, tokenizer(missing)["input_ids"], strict=True))
            inputs = [self._encoded[p] for p in prompts]
            generating = time.perf_counter()
            generated = backend.generate(inputs, settings)
            decoding = time.perf_counter()
            decoded = tokenizer.batch_decode(generated, skip_special_tokens=True)
            self.timings["tokenise"] += time.perf_counter() - decoding + generating - started
            self.timings["generate"] += decoding - generating
            for j, text in zip(batch, decoded, strict=True):
                outputs[j] = text.strip()
            self.stats["inputs"] += len(batch)
            self.stats["batches"] += 1
            if progress:
                finished = sum(1 for j in batch if jobs[j].final)
                if finished:
                    progress(finished)
        return outputs
