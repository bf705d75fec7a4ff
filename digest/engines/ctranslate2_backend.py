"""The CTranslate2 backend of the seq2seq engine: the checkpoint converted once, then cached."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.engines.conversions import (
    checkpoint_identity,
    converted_folder,
    mark_used,
    remove_leftovers,
)
from digest.errors import ModelUnavailable, UsageError

if TYPE_CHECKING:
    from digest.engines.loading import Checkpoint

log = logging.getLogger(__name__)

BACKENDS = ("auto", "transformers", "ctranslate2")
#: CTranslate2 comes with every install where it publishes wheels (pyproject.toml); elsewhere,
#: or where it was removed, this is the command to add it.
INSTALL = "pip install ctranslate2"
#: Decoding settings CTranslate2 has no equivalent for: (key, the value that means "off").
UNSUPPORTED = (
    ("encoder_no_repeat_ngram_size", 0),
    ("num_beam_groups", 1),
    ("diversity_penalty", 0.0),
)
#: Input tokens per CTranslate2 batch when the engine sets none (the engine's default for it).
BATCH_TOKENS = 65536


def check_backend_name(name: str) -> str:
    """The backend named (auto, transformers, ctranslate2; any case), or a UsageError."""
    chosen = (name or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return chosen


def require_backend(name: str) -> str:
    """check_backend_name(), and for ctranslate2 that it is installed: fail before any work."""
    chosen = check_backend_name(name)
    if chosen == "ctranslate2" and not installed():
        _import()
    return chosen


def installed() -> bool:
    """Whether CTranslate2 is installed, without paying for importing it."""
    if "ctranslate2" in sys.modules:
        # None there means "import fails" (how tests simulate a machine without it).
        return sys.modules["ctranslate2"] is not None
    return importlib.util.find_spec("ctranslate2") is not None


def expected_backend(choice: str) -> str:
    """The backend `choice` will most likely run: auto is CTranslate2 wherever it is installed.

    (auto still falls back to transformers for a checkpoint that does not convert.)
    """
    choice = check_backend_name(choice)
    if choice == "auto":
        return "ctranslate2" if installed() else "transformers"
    return choice


def _import() -> Any:
    try:
        import ctranslate2
    except ImportError:
        raise UsageError(f"--backend ctranslate2 needs CTranslate2: {INSTALL}") from None
    return ctranslate2


def unusable_because(settings: Mapping[str, Any], *, strict: bool) -> str | None:
    """Why CTranslate2 cannot decode with `settings` (None when it can).

    `strict` (the user asked for CTranslate2 by name) turns the reason into a UsageError.
    """
    if strict:
        _import()
    asked = [key for key, off in UNSUPPORTED if settings.get(key, off) not in (off, None)]
    if not asked:
        return None
    reason = f"CTranslate2 does not support {', '.join(asked)}"
    if strict:
        raise UsageError(f"--backend ctranslate2: {reason}; use --backend transformers")
    return reason


def decoding_options(settings: Mapping[str, Any], *, forced_eos: bool = False) -> dict[str, Any]:
    """generate() settings as Translator.translate_batch() options, with the same meaning.

    Lengths: CTranslate2's decoding lengths, like transformers' *_new_tokens, exclude the
    decoder start token and include a forced first token (the target prefix). Where the
    checkpoint forces the end token (BART), transformers spends the last place on it and drops
    it on decoding; CTranslate2 does not force it, so it gets one place fewer.
    """
    beams = max(1, int(settings.get("num_beams", 1) or 1))
    most = int(settings.get("max_new_tokens", 200))
    if forced_eos:
        most -= 1
    most = max(1, most)
    options: dict[str, Any] = {
        "beam_size": beams,
        "max_decoding_length": most,
        "min_decoding_length": min(int(settings.get("min_new_tokens", 0) or 0), most),
        "no_repeat_ngram_size": int(settings.get("no_repeat_ngram_size", 0) or 0),
        "repetition_penalty": float(settings.get("repetition_penalty", 1.0) or 1.0),
    }
    if beams > 1:
        options["length_penalty"] = float(settings.get("length_penalty", 1.0))
    # early_stopping has no switch: CTranslate2's beam search stops once beam_size finished
    # hypotheses are found, which is transformers' early_stopping=True.
    if settings.get("do_sample"):
        options["sampling_topk"] = int(settings.get("top_k", 50) or 0)
        options["sampling_topp"] = float(settings.get("top_p", 1.0))
        options["sampling_temperature"] = float(settings.get("temperature", 1.0))
    return options


def convert(
    checkpoint: Checkpoint, folder: Path, quantization: str, *, root: Path, replace: bool = False
) -> None:
    """Convert into a temporary sibling, then rename it into place: never a half-written folder.

    `folder` is the conversion's place in `root`, the conversions folder (converted_folder()).
    `replace` removes a damaged copy first; otherwise a copy another run renamed into place
    meanwhile wins and ours is dropped.
    """
    if folder.parent != root:
        raise ValueError(f"{folder} is not a conversion in {root}")
    ct2 = _import()
    from ctranslate2.converters import TransformersConverter

    from digest.engines import light

    checkpoint = checkpoint.with_transformers()

    class Converter(TransformersConverter):
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            # transformers 5 dropped BartConfig.normalize_before, which CTranslate2's BART
            # loader still reads; BART as transformers runs it is post-norm.
            if model.config.model_type == "bart" and not hasattr(model.config, "normalize_before"):
                model.config.normalize_before = False
            return model

    root.mkdir(parents=True, exist_ok=True)
    remove_leftovers(root)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    started = time.perf_counter()
    log.info(
        "converting %s for CTranslate2 (%s), once; later runs reuse %s",
        checkpoint.model,
        quantization,
        folder,
    )
    try:
        converter = Converter(checkpoint.source)
        converter.convert(str(scratch), quantization=quantization, force=True)
        ct2.Translator(str(scratch), device="cpu", compute_type="auto")  # it must load
        # Configs and tokenizer beside the weights: later runs then need neither torch nor
        # transformers (cached_checkpoint()).
        light.save(
            checkpoint.config,
            checkpoint.generation_config,
            checkpoint.tokenizer,
            scratch / light.FOLDER,
        )
        if replace and folder.exists():
            # Swapped, not deleted then written: a concurrent run finds the old copy or the
            # new one (or, for a moment, none, and converts its own), never half of either.
            old = Path(tempfile.mkdtemp(prefix=f".trash-{folder.name}.", dir=root))
            os.replace(folder, old / folder.name)
            os.replace(scratch, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(scratch, folder)
    except Exception as exc:  # noqa: BLE001 - any converter failure means "not convertible"
        shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(exc, OSError) and folder.is_dir():
            return  # a concurrent run renamed its copy into place first; use that one
        raise ModelUnavailable(
            f"model {checkpoint.model} could not be converted for CTranslate2 "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}); "
            "use --backend transformers"
        ) from None
    log.info("converted %s in %.1fs", checkpoint.model, time.perf_counter() - started)


def _placement(ct2: Any, device: str | None, compute_type: str | None) -> tuple[str, str, str]:
    """(device kind, device index, quantization) for `device` ("cpu", "cuda:1", None: any GPU)."""
    kind, _, index = (device or "").partition(":")
    if not kind:
        kind = "cuda" if ct2.get_cuda_device_count() > 0 else "cpu"
    # int8 weights: about 4x less memory to read per decoding step than float32, the cost
    # that dominates on CPU; the GPU keeps float16 arithmetic.
    return kind, index, compute_type or ("int8_float16" if kind == "cuda" else "int8")


def cached_checkpoint(
    model: str,
    *,
    root: Path,
    device: str | None = None,
    compute_type: str | None = None,
    threads: int | None = None,
) -> Checkpoint | None:
    """`model` as its conversion in `root` (the conversions folder) saved it, read without
    importing torch or transformers (about 1.5 s a run); None where there is no such
    conversion yet, or it lacks those files (a tokenizer without tokenizer.json, or a
    conversion older than them). With `threads`, the converted model starts opening on
    another thread while the tokenizer is read.

    Raises ModelUnavailable for a path that is no model folder, as read_checkpoint() does.
    """
    from digest.engines import light
    from digest.engines.loading import Ahead, Checkpoint, Loader

    loader = Loader(model)
    ct2 = _import()
    kind, index, quantization = _placement(ct2, device, compute_type)
    if not loader.local and checkpoint_identity(loader).get("revision") is None:
        return None  # not in the hub cache: nothing converted can be known to match it
    folder = converted_folder(loader, quantization, ct2.__version__, root)
    if not (folder / "model.bin").is_file():
        return None
    ahead = None
    if threads:
        opening = (folder, kind, index, quantization, threads)
        ahead = Ahead(lambda: _open(ct2, *opening), key=opening)
    files = light.read(folder / light.FOLDER, loader.source)
    if files is None:
        return None
    config, generation, tokenizer = files
    log.debug("using %s's torch-free configs and tokenizer from %s", model, folder)
    return Checkpoint(
        model, loader.source, loader.local, config, tokenizer, generation, loader, True, ahead
    )


def _open(ct2: Any, folder: Path, kind: str, index: str, quantization: str, threads: int) -> Any:
    return ct2.Translator(
        str(folder),
        device=kind,
        device_index=int(index or 0),
        compute_type=quantization,
        intra_threads=threads,
        inter_threads=1,
    )


def load(
    checkpoint: Checkpoint,
    *,
    root: Path,
    device: str | None = None,
    threads: int = 1,
    compute_type: str | None = None,
    batch_tokens: int | None = None,
) -> tuple[CTranslate2Backend, str]:
    """The checkpoint converted in `root` (the conversions folder; converted there first if
    needed) as a backend, and its device."""
    ct2 = _import()
    kind, index, quantization = _placement(ct2, device, compute_type)
    folder = converted_folder(checkpoint, quantization, ct2.__version__, root)
    opening = (folder, kind, index, quantization, threads)
    ahead = checkpoint.ahead if checkpoint.ahead and checkpoint.ahead.key == opening else None
    if not folder.is_dir():
        convert(checkpoint, folder, quantization, root=root)
    try:
        translator = ahead.result() if ahead else _open(ct2, *opening)
    except Exception as exc:  # noqa: BLE001 - a damaged copy fails in many ways; rebuild it
        log.warning("converted model %s is unreadable (%s); converting again", folder, exc)
        convert(checkpoint, folder, quantization, root=root, replace=True)
        try:
            translator = _open(ct2, *opening)
        except Exception as again:  # noqa: BLE001
            raise ModelUnavailable(
                f"model {checkpoint.model} could not be loaded with CTranslate2 ({again}); "
                "use --backend transformers"
            ) from None
    mark_used(folder)
    generation = checkpoint.generation_config
    tokenizer = checkpoint.tokenizer
    forced_bos = getattr(generation, "forced_bos_token_id", None)
    forced_eos = getattr(generation, "forced_eos_token_id", None)
    backend = CTranslate2Backend(
        translator,
        tokenizer,
        prefix=[tokenizer.convert_ids_to_tokens(forced_bos)] if forced_bos is not None else None,
        forced_eos=forced_eos is not None,
        batch_tokens=batch_tokens or BATCH_TOKENS,
    )
    where = kind if not index else f"{kind}:{index}"
    return backend, where


class CTranslate2Backend:
    """Decodes with a ctranslate2.Translator; token ids in and out, like the transformers one."""

    name = "ctranslate2"

    def __init__(
        self,
        translator: Any,
        tokenizer: Any,
        *,
        prefix: Sequence[str] | None = None,
        forced_eos: bool = False,
        batch_tokens: int = BATCH_TOKENS,
    ) -> None:
        self.translator = translator
        self.tokenizer = tokenizer
        #: Forced first target tokens (BART-CNN's <s>), given to CTranslate2 as a target prefix.
        self.prefix = list(prefix) if prefix else None
        self.forced_eos = forced_eos
        self.batch_tokens = batch_tokens

    def generate(
        self, inputs: Sequence[Sequence[int]], settings: Mapping[str, Any]
    ) -> list[list[int]]:
        options = decoding_options(settings, forced_eos=self.forced_eos)
        source = [self.tokenizer.convert_ids_to_tokens(list(ids)) for ids in inputs]
        prefix = [list(self.prefix) for _ in source] if self.prefix else None
        results = self.translator.translate_batch(
            source,
            prefix,
            # Sub-batches of similar length by input tokens (beams multiply the work).
            max_batch_size=max(1, self.batch_tokens // options["beam_size"]),
            batch_type="tokens",
            max_input_length=0,  # the engine already fits every input to the model's window
            **options,
        )
        return [list(self.tokenizer.convert_tokens_to_ids(r.hypotheses[0])) for r in results]
