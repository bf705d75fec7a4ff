"""Model presets and `--generate KEY=VALUE` parsing for the seq2seq engine (no torch here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from digest.errors import UsageError

#: Named models for --model; anything else is a Hugging Face hub id or a local folder.
PRESETS: dict[str, str] = {
    "fast": "t5-small",
    "balanced": "sshleifer/distilbart-cnn-12-6",
    "best": "facebook/bart-large-cnn",
}

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}

#: The decoding settings users may set, with their types. A closed list, so that a typo
#: ("num_beam=4") fails at the command line instead of deep inside generate().
GENERATE_KEYS: dict[str, type] = {
    "num_beams": int,
    "min_new_tokens": int,
    "max_new_tokens": int,
    "no_repeat_ngram_size": int,
    "length_penalty": float,
    "repetition_penalty": float,
    "early_stopping": bool,
    "do_sample": bool,
    "temperature": float,
    "top_k": int,
    "top_p": float,
    "num_beam_groups": int,
    "diversity_penalty": float,
    "encoder_no_repeat_ngram_size": int,
}


def resolve_model(name: str) -> str:
    """A preset name ("fast", "balanced", "best") becomes its model id; others pass through."""
    return PRESETS.get(name.strip().lower(), name)


def looks_like_path(model: str) -> bool:
    """Whether `model` names a folder rather than a hub id ("name" or "owner/name")."""
    return (
        model.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or "\\" in model
        or model.count("/") > 1
        or (len(model) > 1 and model[1] == ":")
    )


def check_model_path(model: str | None) -> None:
    """A --model that names a folder must exist, whatever the engine: under auto a mistyped
    path would otherwise fall back to the extractive engine night after night, unnoticed."""
    if model and looks_like_path(model) and not Path(model).expanduser().exists():
        raise UsageError(
            f"--model: no such model folder: {model} (check the path, or pass a hub id "
            "such as t5-small or a preset: fast, balanced, best)"
        )


def check_decoding(engine: str, generate: Mapping[str, Any]) -> None:
    """Decoding settings steer a model; the extractive engine has none to steer, and silently
    ignoring them would leave the user believing they took effect."""
    if engine == "extractive" and generate:
        keys = ", ".join(sorted(generate))
        raise UsageError(
            f"--generate ({keys}) sets how a model decodes; the extractive engine uses no "
            "model: drop --generate or choose --engine seq2seq or auto"
        )


def _convert(key: str, kind: type, raw: str) -> Any:
    value = raw.strip()
    if kind is bool:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise UsageError(f"--generate {key}: expected true or false, got {raw!r}")
    try:
        number = kind(value)
    except ValueError:
        expected = "a whole number" if kind is int else "a number"
        raise UsageError(f"--generate {key}: expected {expected}, got {raw!r}") from None
    if number < 0:
        raise UsageError(f"--generate {key}: must not be negative, got {raw!r}")
    return number


def parse_generate(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn repeated `--generate KEY=VALUE` strings into typed generate() settings.

    Later pairs win over earlier ones, so a config file's settings can be overridden on the
    command line. Raises UsageError naming the key for an unknown key or a bad value.
    """
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"--generate expects KEY=VALUE, got {pair!r}")
        kind = GENERATE_KEYS.get(key)
        if kind is None:
            known = ", ".join(sorted(GENERATE_KEYS))
            raise UsageError(f"--generate {key}: unknown setting; choose from: {known}")
        settings[key] = _convert(key, kind, raw)
    if settings.get("num_beams") == 0:
        raise UsageError("--generate num_beams: must be at least 1")
    low, high = settings.get("min_new_tokens"), settings.get("max_new_tokens")
    if low is not None and high is not None and low > high:
        raise UsageError(f"--generate min_new_tokens: {low} is more than max_new_tokens ({high})")
    return settings
