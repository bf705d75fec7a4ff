"""Loading a seq2seq checkpoint: where it is, whether it can be had, and what it states."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from digest.engines.settings import looks_like_path
from digest.errors import ModelUnavailable

log = logging.getLogger(__name__)

#: When neither the tokenizer nor the config states an input limit.
FALLBACK_INPUT_TOKENS = 512
#: Settings taken over from a checkpoint's generation config / summarization parameters.
_DECODING_KEYS = (
    "num_beams",
    "no_repeat_ngram_size",
    "length_penalty",
    "early_stopping",
    "repetition_penalty",
    "encoder_no_repeat_ngram_size",
)


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


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    # Containers often see every host core but are throttled to a quota; threads beyond
    # the quota only add contention.
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # cgroup v2
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        v1 = root / "cpu"
        quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
        period_us = int((v1 / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


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


def can_download() -> bool:
    """Whether a model could be downloaded now: not told to stay offline, and the hub answers."""
    return not _offline() and _hub_reachable()


def _cause_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen: BaseException | None = exc
    while seen is not None and len(names) < 20:
        names.update(cls.__name__ for cls in type(seen).__mro__)
        seen = seen.__cause__ or seen.__context__
    return names


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Loader:
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
        elif looks_like_path(model):
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
                        f"model folder {self.model} could not be loaded: {first_line(exc)}"
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
                f"model {self.model} could not be downloaded ({first_line(exc)}); connect and "
                "retry, or pass --model with a local folder"
            ) from None


def hub_revision(model: str, revision: str = "main", *, holding: str | None = None) -> str | None:
    """The commit of the snapshot from_pretrained loads for hub id `model`: the hub cache's
    refs/<revision> file (what try_to_load_from_cache follows). None when not downloaded, or,
    with `holding`, when that snapshot lacks the file `holding` (as try_to_load_from_cache).

    Read directly: importing huggingface_hub's download code costs a cached run about 0.2 s.
    """
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    folder = Path(constants.HF_HUB_CACHE) / f"models--{model.replace('/', '--')}"
    try:
        commit = (folder / "refs" / revision).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None
    if commit and holding and not (folder / "snapshots" / commit / holding).is_file():
        return None
    return commit


class Ahead:
    """A value made on a second thread while this one goes on; result() waits for it and
    raises what making it raised. (A model opens while its tokenizer is read: on 2 cores that
    takes about 0.03 s off every run's start.)"""

    def __init__(self, make: Callable[[], Any], key: Hashable) -> None:
        #: What the value was made from: a user checks it is what they would have made.
        self.key = key
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(make,), daemon=True)
        self._thread.start()

    def _run(self, make: Callable[[], Any]) -> None:
        try:
            self._value = make()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits in result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass
class Checkpoint:
    """What every backend needs from a checkpoint before (or instead of) its torch weights."""

    model: str  # as the user named it
    source: str  # what from_pretrained takes: the folder, or the hub id
    local: bool
    config: Any
    tokenizer: Any
    generation_config: Any
    loader: Loader
    #: Read from a CTranslate2 conversion's JSON files (digest.engines.light), not by
    #: transformers: the tokenizer is an adapter over the `tokenizers` library.
    light: bool = False
    #: The backend's model, already being opened on another thread (CTranslate2's), if any.
    ahead: Ahead | None = None

    def with_transformers(self) -> Checkpoint:
        """This checkpoint as transformers reads it (what converting and torch runs need)."""
        return read_checkpoint(self.model) if self.light else self


def read_checkpoint(model: str) -> Checkpoint:
    """Config, tokenizer and generation config of `model`; ModelUnavailable if it can't be had."""
    loader = Loader(model)
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
        raise ModelUnavailable(f"model {model} has an unusable config: {first_line(exc)}") from None
    model_type = getattr(config, "model_type", "?")
    if not getattr(config, "is_encoder_decoder", False) or model_type not in SEQ2SEQ_TYPES:
        raise ModelUnavailable(
            f"model {model} is a {model_type} model, not a seq2seq (encoder-decoder) summariser; "
            "pass --model with one such as t5-small or sshleifer/distilbart-cnn-12-6"
        )
    try:
        tokenizer = loader.load(AutoTokenizer)
    except ValueError as exc:
        raise ModelUnavailable(f"model {model} could not be loaded: {first_line(exc)}") from None
    try:
        generation = GenerationConfig.from_pretrained(
            loader.source, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError):
        # What from_pretrained falls back to for checkpoints saved without one.
        generation = GenerationConfig.from_model_config(config)
    return Checkpoint(model, loader.source, loader.local, config, tokenizer, generation, loader)


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
