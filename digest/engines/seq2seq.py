"""The seq2seq engine: any Hugging Face encoder-decoder checkpoint (T5, BART, Pegasus, …)."""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from digest.budgets import BUDGETS, TOKENS_PER_WORD
from digest.chunking import chunk_text
from digest.engines.settings import PRESETS, resolve_model
from digest.errors import ModelUnavailable
from digest.prompts import Prompt, load_prompt, prompt_family
from digest.text import split_sentences

log = logging.getLogger(__name__)

#: Same as pipeline.DEFAULT_MODEL; used when the engine is built without a model.
DEFAULT_MODEL = PRESETS["balanced"]

#: When neither the tokenizer nor the config states an input limit.
FALLBACK_INPUT_TOKENS = 512
#: A summary may run from this share of its word budget (digest.budgets) to this share.
LENGTH_SLACK = (0.6, 1.25)
#: Prompt kinds: a chunk is one piece of a text too long for the model.
PROMPT_KINDS = ("section", "article", "chunk")
#: No summary is allowed fewer new tokens than this at most (a sentence needs room).
SHORTEST_MAX_NEW = 16
#: Upper bound on new tokens when the checkpoint does not state one.
DEFAULT_MAX_NEW = 200
#: Map-reduce rounds before the chunk summaries are returned as they are (not reached in
#: practice: each round shrinks a text to about a quarter of its size or less).
MAX_ROUNDS = 8
#: Settings taken over from a checkpoint's generation config / summarization parameters.
_DECODING_KEYS = (
    "num_beams",
    "no_repeat_ngram_size",
    "length_penalty",
    "early_stopping",
    "repetition_penalty",
    "encoder_no_repeat_ngram_size",
)
_BEAM_ONLY = ("early_stopping", "length_penalty")


# ---------------------------------------------------------------- pure helpers (no torch)


def usable_cores() -> int:
    """CPU cores this process may really use: affinity mask, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def _cgroup_cpu_quota() -> float | None:
    # Containers often see every host core but are throttled to a quota; threads beyond
    # the quota only add contention.
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        v1 = Path("/sys/fs/cgroup/cpu")
        quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
        period_us = int((v1 / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


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
    return _coarse(least, most, ceiling)


def _coarse(least: int, most: int, ceiling: int, step: int = 8) -> tuple[int, int]:
    most = min(ceiling, step * math.ceil(most / step))
    return min(most, step // 2 * (least // (step // 2))), most


def first_sentence(text: str) -> str:
    """The TL;DR of a summary: its first sentence (no model call; the summary is short)."""
    sentences = split_sentences(text)
    return sentences[0] if sentences else text.strip()


def _looks_like_path(model: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else with separators is meant as a folder.
    return (
        model.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or "\\" in model
        or model.count("/") > 1
        or (len(model) > 1 and model[1] == ":")
    )


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check of the hub, so an unplugged machine fails in seconds, not after
    huggingface_hub's five retries (about 25 s)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a proxy may be the only way out; let the real request decide
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _cause_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen: BaseException | None = exc
    while seen is not None and len(names) < 20:
        names.update(cls.__name__ for cls in type(seen).__mro__)
        seen = seen.__cause__ or seen.__context__
    return names


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------- loading


class Backend(Protocol):
    """What runs the network: prompts as token ids in, generated token ids out, in order.

    Everything else (prompts, chunking, lengths, batching, map-reduce) is the engine's and is
    shared, so two backends differ only in how fast they compute the same summaries.
    """

    name: str

    def generate(
        self, inputs: Sequence[Sequence[int]], settings: Mapping[str, Any]
    ) -> list[list[int]]: ...


@dataclass
class _Loaded:
    tokenizer: Any
    network: Any  # the transformers model; None when another backend runs it
    config: Any
    device: str
    backend: Backend
    generation_config: Any = None


class _Loader:
    """from_pretrained with local files first, a download second, and one-line errors."""

    def __init__(self, model: str) -> None:
        self.model = model
        path = Path(model).expanduser()
        self.local = path.exists()
        if self.local:
            if not path.is_dir():
                raise ModelUnavailable(
                    f"model {model} is a file, not a model folder; pass the folder that "
                    "save_pretrained() wrote, or a hub id such as t5-small"
                )
            if not (path / "config.json").is_file():
                raise ModelUnavailable(
                    f"model folder {model} has no config.json; pass a folder written by "
                    "save_pretrained(), or a hub id such as t5-small"
                )
            self.source = str(path.resolve())  # one conversion cache entry whatever the cwd
        elif _looks_like_path(model):
            raise ModelUnavailable(
                f"model folder {model} does not exist; check the path, or pass a hub id "
                "such as t5-small"
            )
        else:
            self.source = model
        self.downloading = False
        self._may_download = False

    def check_obtainable(self) -> None:
        """For a hub id that is not in the local cache, fail now if it cannot be downloaded
        either: before transformers and torch are imported (about 1.5 s), not after."""
        if self.local:
            return
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(self.source, "config.json")
        except ValueError:  # HFValidationError: a malformed id; from_pretrained words it
            return
        if not isinstance(found, str):
            self._require_download()

    def _require_download(self) -> None:
        if self._may_download:
            return  # checked already: the hub answers only once per run
        if _offline():
            raise ModelUnavailable(
                f"model {self.model} is not in the local cache and downloads are off "
                "(HF_HUB_OFFLINE=1); set HF_HUB_OFFLINE=0 / connect once to download it, "
                "or pass --model with a local folder"
            )
        if not _hub_reachable():
            raise ModelUnavailable(
                f"model {self.model} is not in the local cache and the Hugging Face hub "
                "cannot be reached; connect once to download it (or set HF_HOME to a "
                "cache that has it), or pass --model with a local folder"
            )
        self._may_download = True

    def load(self, factory: Any, **kwargs: Any) -> Any:
        # Local files first: no network round trip when the model is cached, and the only
        # path that works offline. safetensors is preferred by from_pretrained itself when a
        # checkpoint has both formats; remote code is never run.
        kwargs["trust_remote_code"] = False
        if not self.downloading:
            try:
                return factory.from_pretrained(self.source, local_files_only=True, **kwargs)
            except OSError as exc:
                if self.local:
                    raise ModelUnavailable(
                        f"model folder {self.model} could not be loaded: {_first_line(exc)}"
                    ) from None
            self._require_download()
            self.downloading = True
            log.info("downloading %s from the Hugging Face hub", self.model)
        try:
            return factory.from_pretrained(self.source, **kwargs)
        except OSError as exc:
            names = _cause_names(exc)
            if "GatedRepoError" in names:
                raise ModelUnavailable(
                    f"model {self.model} is gated on the Hugging Face hub; accept its licence "
                    "and log in (hf auth login), or pass --model with a local folder"
                ) from None
            if {"RepositoryNotFoundError", "HFValidationError"} & names:
                raise ModelUnavailable(
                    f"model {self.model} is neither a local folder nor a model id on the Hugging "
                    "Face hub; check the spelling, or pass --model with a local folder"
                ) from None
            raise ModelUnavailable(
                f"model {self.model} could not be downloaded ({_first_line(exc)}); connect and "
                "retry, or pass --model with a local folder"
            ) from None


def _pick_device(requested: str | None) -> str:
    import torch

    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pick_dtype(device: str, model_type: str) -> Any:
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    # T5's activations overflow float16 (NaN summaries); it stays in float32 on older GPUs.
    return torch.float32 if prompt_family(model_type, "") != "plain" else torch.float16


@dataclass
class Checkpoint:
    """What every backend needs from a checkpoint before (or instead of) its torch weights."""

    model: str  # as the user named it
    source: str  # what from_pretrained takes: the folder, or the hub id
    local: bool
    config: Any
    tokenizer: Any
    generation_config: Any
    loader: _Loader
    #: Read from a CTranslate2 conversion's JSON files (digest.engines.light), not by
    #: transformers: the tokenizer is an adapter over the `tokenizers` library.
    light: bool = False

    def with_transformers(self) -> Checkpoint:
        """This checkpoint as transformers reads it (what converting and torch runs need)."""
        return read_checkpoint(self.model) if self.light else self


def read_checkpoint(model: str) -> Checkpoint:
    """Config, tokenizer and generation config of `model`; ModelUnavailable if it can't be had."""
    loader = _Loader(model)
    loader.check_obtainable()
    # Imported here so that importing digest (and --help, and the extractive path) never
    # pays for transformers.
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES as SEQ2SEQ_TYPES,
    )

    try:
        config = loader.load(AutoConfig)
    except ValueError as exc:  # a config.json transformers does not recognise
        raise ModelUnavailable(
            f"model {model} has an unusable config: {_first_line(exc)}"
        ) from None
    model_type = getattr(config, "model_type", "?")
    if not getattr(config, "is_encoder_decoder", False) or model_type not in SEQ2SEQ_TYPES:
        raise ModelUnavailable(
            f"model {model} is a {model_type} model, not a seq2seq (encoder-decoder) summariser; "
            "pass --model with one such as t5-small or sshleifer/distilbart-cnn-12-6"
        )
    try:
        tokenizer = loader.load(AutoTokenizer)
    except ValueError as exc:
        raise ModelUnavailable(f"model {model} could not be loaded: {_first_line(exc)}") from None
    try:
        generation = GenerationConfig.from_pretrained(
            loader.source, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError):
        # What from_pretrained falls back to for checkpoints saved without one.
        generation = GenerationConfig.from_model_config(config)
    return Checkpoint(model, loader.source, loader.local, config, tokenizer, generation, loader)


def load_checkpoint(
    model: str, *, device: str | None = None, checkpoint: Checkpoint | None = None
) -> _Loaded:
    """Load tokenizer and model for `model` (hub id or folder); ModelUnavailable if it can't be."""
    from transformers import AutoModelForSeq2SeqLM

    checkpoint = checkpoint or read_checkpoint(model)
    config = checkpoint.config
    chosen = _pick_device(device)
    try:
        network = checkpoint.loader.load(
            AutoModelForSeq2SeqLM,
            config=config,
            dtype=_pick_dtype(chosen, getattr(config, "model_type", "?")),
        )
    except ValueError as exc:
        raise ModelUnavailable(f"model {model} could not be loaded: {_first_line(exc)}") from None
    network.to(chosen)
    network.eval()
    backend = TransformersBackend(network, checkpoint.tokenizer, chosen)
    return _Loaded(
        checkpoint.tokenizer, network, config, chosen, backend, network.generation_config
    )


class TransformersBackend:
    """Runs the checkpoint with transformers' generate() under torch.inference_mode()."""

    name = "transformers"

    def __init__(self, network: Any, tokenizer: Any, device: str) -> None:
        self.network = network
        self.tokenizer = tokenizer
        self.device = device

    def generate(
        self, inputs: Sequence[Sequence[int]], settings: Mapping[str, Any]
    ) -> list[list[int]]:
        import torch

        encoded = self.tokenizer.pad(
            {"input_ids": [list(ids) for ids in inputs]}, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            encoder_outputs = self._encode(encoded["input_ids"], encoded["attention_mask"])
            generated = self.network.generate(
                encoder_outputs=encoder_outputs,
                attention_mask=encoded["attention_mask"],
                **settings,
            )
        return [list(row) for row in generated.tolist()]

    def _encode(self, input_ids: Any, attention_mask: Any) -> Any:
        """Run the encoder in small groups of similar length, without most of the padding.

        A decoding batch is best large (each step then reads the weights once for many
        texts), but its longest text sets everyone's padded length; the encoder's cost is per
        token, padding included, so it runs on each group trimmed to that group's own length.
        """
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        encoder = self.network.get_encoder()
        if getattr(self.tokenizer, "padding_side", "right") != "right":
            # Trimming assumes padding at the end; others are encoded as they come.
            state = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return BaseModelOutput(last_hidden_state=state)
        lengths = attention_mask.sum(dim=1).tolist()
        hidden = None
        start = 0
        while start < len(lengths):
            # Rows arrive longest first; a group ends where padding would pass an eighth.
            end = start + 1
            while end < len(lengths) and end - start < 8 and lengths[end] * 8 >= lengths[start] * 7:
                end += 1
            width = int(max(lengths[start:end]))
            states = encoder(
                input_ids=input_ids[start:end, :width],
                attention_mask=attention_mask[start:end, :width],
            ).last_hidden_state
            if hidden is None:
                hidden = torch.zeros(
                    (len(lengths), input_ids.shape[1], states.shape[-1]),
                    dtype=states.dtype,
                    device=states.device,
                )
            hidden[start:end, :width] = states
            start = end
        return BaseModelOutput(last_hidden_state=hidden)


def input_limit(tokenizer: Any, config: Any) -> int:
    """The model's real input limit in tokens: the smallest sane limit it states anywhere."""
    limits = []
    stated = getattr(tokenizer, "model_max_length", None)
    # Tokenizers without a limit report a huge sentinel (int(1e30)); ignore that.
    if isinstance(stated, int) and 0 < stated < 1_000_000:
        limits.append(stated)
    for attr in ("max_position_embeddings", "n_positions", "max_encoder_position_embeddings"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
    return min(limits) if limits else FALLBACK_INPUT_TOKENS


def output_limit(config: Any) -> int | None:
    """Most new tokens the decoder can position (learned position tables end; BART: 1024)."""
    for attr in ("max_decoder_position_embeddings", "max_position_embeddings", "n_positions"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value - 2  # the decoder start token and a forced first token take places
    return None


def decoding_defaults(
    generation_config: Any, config: Any
) -> tuple[dict[str, Any], int | None, int | None]:
    """The checkpoint's decoding settings, and its stated (min, max) summary lengths.

    Values the checkpoint set in generation_config.json, overlaid with the config's
    task_specific_params["summarization"] (what the old summarization pipeline applied).
    """
    stated: dict[str, Any] = {}
    if generation_config is not None:
        stated.update(generation_config.to_diff_dict())
    task = getattr(config, "task_specific_params", None) or {}
    stated.update(task.get("summarization", {}))
    defaults = {k: stated[k] for k in _DECODING_KEYS if stated.get(k) is not None}
    low = stated.get("min_new_tokens", stated.get("min_length"))
    high = stated.get("max_new_tokens", stated.get("max_length"))
    return defaults, (int(low) if low else None), (int(high) if high else None)


# ---------------------------------------------------------------- the engine


@dataclass
class _Job:
    text: int  # index of the input text this job belongs to
    prompt: str
    tokens: int  # prompt tokens, special tokens included
    settings: tuple[tuple[str, Any], ...]
    final: bool  # its output is the text's summary (not one chunk's, to be reduced)


class Seq2SeqSummariser:
    """Summarises with a Hugging Face seq2seq checkpoint, loaded once on first need.

    Options: `backend` ("transformers", "ctranslate2" or "auto": CTranslate2 when it is
    installed and the checkpoint converts), `device` ("cpu", "cuda", …; default: CUDA when
    present), `batch_size` (most texts per generate() call; 32 on CPU, 64 with CTranslate2),
    `batch_tokens` (most input tokens × beams per call; 16,384 on CPU, 65,536 with CTranslate2
    — lower it to save memory), `max_input_tokens`
    (a smaller window than the model's own, e.g. for tests), `threads` (CPU threads; default:
    the cores this process may use), `compute_type` (CTranslate2's weights and arithmetic:
    default int8 on CPU, int8_float16 on GPU; float32 reproduces transformers exactly).
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
    ) -> None:
        from digest.engines import ctranslate2_backend

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
        self._loaded: _Loaded | None = None
        self._prompt: Prompt | None = None
        self._limit = FALLBACK_INPUT_TOKENS
        self._defaults: dict[str, Any] = {}
        self._checkpoint_min: int | None = None
        self._checkpoint_max: int | None = None
        self._output_limit: int | None = None
        self._base_tokens: dict[str, int] = {}
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
        checkpoint = self._cached_checkpoint() or read_checkpoint(self.model)
        self._defaults, self._checkpoint_min, self._checkpoint_max = decoding_defaults(
            checkpoint.generation_config, checkpoint.config
        )
        loaded = self._load_backend(checkpoint, threads)
        model_type = getattr(loaded.config, "model_type", "")
        name = f"{self.model} {getattr(loaded.config, '_name_or_path', '')}"
        self._prompt = load_prompt(prompt_family(model_type, name))
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

    def _cached_checkpoint(self) -> Checkpoint | None:
        """The checkpoint from CTranslate2's cached conversion, where that backend will run:
        configs and tokenizer without importing torch or transformers (about 1.5 s a run)."""
        from digest.engines import ctranslate2_backend

        if self.requested_backend == "transformers" or not ctranslate2_backend.installed():
            return None
        assert self.model is not None
        return ctranslate2_backend.cached_checkpoint(
            self.model, device=self.device, compute_type=self.compute_type
        )

    def _load_backend(self, checkpoint: Checkpoint, threads: int) -> _Loaded:
        """CTranslate2 where asked (or, for auto, where it can); transformers otherwise."""
        from digest.engines import ctranslate2_backend

        choice = self.requested_backend
        if choice == "ctranslate2" or (choice == "auto" and ctranslate2_backend.installed()):
            # The user's settings over the checkpoint's: what every batch will decode with.
            settings = {**self._defaults, **self.generate}
            reason = ctranslate2_backend.unusable_because(settings, strict=choice != "auto")
            if reason is None:
                try:
                    backend, device = ctranslate2_backend.load(
                        checkpoint,
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
                    return _Loaded(
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
        assert self._loaded is not None and self._prompt is not None
        started = time.perf_counter()
        encoded = self._loaded.tokenizer(self._prompt(text, kind=kind), verbose=False)
        self.timings["tokenise"] += time.perf_counter() - started
        return len(encoded["input_ids"])

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
            for key in _BEAM_ONLY:  # meaningless without beams; transformers warns about them
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
        least, most = _coarse(math.floor(summary["min_new_tokens"] * share), most, cap, step=16)
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

        sizes = {i: self._count(t, kind) for i, t in work.items()}
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
                size = self._count(joined, kind)
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
    ) -> list[_Job]:
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
                jobs.append(_Job(i, prompt, sizes[i], tuple(sorted(summary.items())), True))
                continue
            chunks = chunk_text(text, limit=self._limit, count=lambda t: self._count(t, "chunk"))
            log.debug("text %d: %d tokens, %d chunks", i, sizes[i], len(chunks))
            measured = [self._count(chunk, "chunk") for chunk in chunks]
            room = [max(1, n - self._base_tokens["chunk"]) for n in measured]
            for chunk, tokens, share in zip(chunks, measured, room, strict=True):
                settings = self.chunk_settings(summary, share / sum(room))
                prompt = self._prompt(chunk, kind="chunk")
                jobs.append(_Job(i, prompt, tokens, tuple(sorted(settings.items())), False))
        return jobs

    def _batches(self, jobs: Sequence[_Job]) -> list[list[int]]:
        """Job indices in batches of equal settings and similar length, longest first."""
        assert self.batch_size and self.batch_tokens
        order = sorted(range(len(jobs)), key=lambda j: (jobs[j].settings, -jobs[j].tokens))
        batches: list[list[int]] = []
        for j in order:
            job = jobs[j]
            beams = int(dict(job.settings).get("num_beams", 1))
            if batches:
                batch = batches[-1]
                head = jobs[batch[0]]  # the longest of its batch: sets the padded length
                fits = (len(batch) + 1) * head.tokens * beams <= self.batch_tokens
                if head.settings == job.settings and len(batch) < self.batch_size and fits:
                    batch.append(j)
                    continue
            batches.append([j])
        return batches

    def _run(self, jobs: Sequence[_Job], progress: Callable[[int], None] | None) -> list[str]:
        assert self._loaded is not None
        tokenizer, backend = self._loaded.tokenizer, self._loaded.backend
        outputs: list[str] = [""] * len(jobs)
        for batch in self._batches(jobs):
            settings = dict(jobs[batch[0]].settings)
            started = time.perf_counter()
            inputs = tokenizer([jobs[j].prompt for j in batch])["input_ids"]
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
