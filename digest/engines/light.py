"""A checkpoint's tokenizer and configs without torch: what a cached CTranslate2 run loads."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

log = logging.getLogger(__name__)

#: The subfolder of a converted model that holds these files (CTranslate2 writes a
#: config.json of its own at the top).
FOLDER = "hf"
#: Config attributes the engine reads: family, prompt, input and output limits, task defaults.
CONFIG_KEYS = (
    "model_type",
    "is_encoder_decoder",
    "max_position_embeddings",
    "n_positions",
    "max_encoder_position_embeddings",
    "max_decoder_position_embeddings",
    "task_specific_params",
)
#: Texts every saved tokenizer must encode and decode exactly as transformers does, or the
#: files are not written (and runs keep the transformers path): the check that this small
#: adapter is a faithful stand-in for the tokenizer class that saved them.
PROBES = (
    "summarize: The council said it's \"doubled\" (3.5%), didn't it? Yes - café, naïve; €10!",
    "Line one.\n\nLine two ends here , with odd  spacing and {{ 7*7 }} <s> </s> <pad> tokens",
)


class JsonConfig(SimpleNamespace):
    """A config read back from JSON: attributes as transformers' config objects offer them."""

    def to_diff_dict(self) -> dict[str, Any]:
        # Saved from GenerationConfig.to_diff_dict(), so this is what that returned.
        return dict(vars(self))


class FastTokenizer:
    """The part of a transformers tokenizer the engine uses, over a `tokenizers.Tokenizer`.

    transformers' tokenizers with a Rust backend encode with it as it is (no truncation or
    padding unless asked) and decode with it, then optionally clean up spaces; that is all
    the engine asks of them.
    """

    padding_side = "right"

    def __init__(
        self,
        backend: Any,
        *,
        model_max_length: int,
        unk_token_id: int | None,
        all_special_ids: Sequence[int],
        clean_up_spaces: bool = False,
        split_special_tokens: bool = False,
    ) -> None:
        backend.no_truncation()
        backend.no_padding()
        backend.encode_special_tokens = split_special_tokens
        self.backend = backend
        self.model_max_length = model_max_length
        self.unk_token_id = unk_token_id
        self.all_special_ids = list(all_special_ids)
        self.clean_up_spaces = clean_up_spaces

    @classmethod
    def from_folder(cls, folder: Path) -> FastTokenizer:
        from tokenizers import Tokenizer

        settings = json.loads((folder / "tokenizer_settings.json").read_text(encoding="utf-8"))
        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")), **settings)

    def __call__(self, text: str | Sequence[str], *, verbose: bool = True) -> dict[str, Any]:
        """{"input_ids": ids} for a text, or a list of them for a list of texts; special
        tokens included, nothing truncated (`verbose` is accepted for transformers' sake)."""
        if isinstance(text, str):
            return {"input_ids": self.backend.encode(text).ids}
        return {"input_ids": [e.ids for e in self.backend.encode_batch(list(text))]}

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        text: str = self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)
        return _clean_up_spaces(text) if self.clean_up_spaces else text

    def batch_decode(
        self, rows: Sequence[Sequence[int]], *, skip_special_tokens: bool = False
    ) -> list[str]:
        return [self.decode(row, skip_special_tokens=skip_special_tokens) for row in rows]

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> Any:
        """A token for an id, a list of tokens for a list of ids (None for an unknown id)."""
        if isinstance(ids, int):
            return self.backend.id_to_token(ids)
        return [self.backend.id_to_token(int(i)) for i in ids]

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        ids = (self.backend.token_to_id(token) for token in tokens)
        return [self.unk_token_id if i is None else i for i in ids]  # type: ignore[misc]


def _clean_up_spaces(text: str) -> str:
    # transformers' PreTrainedTokenizerBase.clean_up_tokenization, which T5's tokenizer applies.
    for spaced, joined in (
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ):
        text = text.replace(spaced, joined)
    return text


def _spaces_cleaned(tokenizer: Any) -> bool:
    """Whether transformers cleans up spaces when `tokenizer` decodes (it skips BPE models)."""
    if not getattr(tokenizer, "clean_up_tokenization_spaces", False):
        return False
    flag = "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"
    is_bpe = type(tokenizer.backend_tokenizer.model).__name__ == "BPE"
    return not is_bpe or bool(getattr(tokenizer, flag, False))


def save(config: Any, generation_config: Any, tokenizer: Any, folder: Path) -> bool:
    """Write what read() needs into `folder`; False (and nothing written) where the tokenizer
    has no Rust backend (a Python-only tokenizer class; transformers 5 gives sentencepiece
    checkpoints one), or the adapter does not encode and decode exactly as it does."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        log.info(
            "tokenizer %s has no tokenizer.json; runs will load it with transformers",
            type(tokenizer).__name__,
        )
        return False
    folder.mkdir(parents=True, exist_ok=True)
    stated = {key: getattr(config, key) for key in CONFIG_KEYS if hasattr(config, key)}
    generation = generation_config.to_diff_dict() if generation_config is not None else {}
    settings = {
        "model_max_length": tokenizer.model_max_length,
        "unk_token_id": tokenizer.unk_token_id,
        "all_special_ids": list(tokenizer.all_special_ids),
        "clean_up_spaces": _spaces_cleaned(tokenizer),
        "split_special_tokens": bool(getattr(tokenizer, "split_special_tokens", False)),
    }
    try:
        _write(folder / "config.json", stated)
        _write(folder / "generation_config.json", generation)
        _write(folder / "tokenizer_settings.json", settings)
        backend.save(str(folder / "tokenizer.json"))
        mismatch = _mismatch(tokenizer, FastTokenizer.from_folder(folder))
        if mismatch and mismatch.startswith("decoding"):
            # Which tokenizers clean up spaces has changed between transformers versions:
            # the other choice may be the one this version makes.
            settings["clean_up_spaces"] = not settings["clean_up_spaces"]
            _write(folder / "tokenizer_settings.json", settings)
            mismatch = _mismatch(tokenizer, FastTokenizer.from_folder(folder)) and mismatch
    except Exception as exc:  # noqa: BLE001 - e.g. a value JSON cannot hold; these files are
        # only a shortcut, and must never fail the conversion they belong to
        mismatch = f"{type(exc).__name__}: {exc}"
    if mismatch:
        log.warning("torch-free tokenizer differs from transformers' (%s); not used", mismatch)
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


def _write(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _mismatch(reference: Any, light: FastTokenizer) -> str | None:
    """What the adapter does differently from `reference` on PROBES, or None."""
    expected = reference(list(PROBES))["input_ids"]
    if light(list(PROBES))["input_ids"] != expected:
        return "encoding"
    if [light(p)["input_ids"] for p in PROBES] != expected:
        return "encoding one text"
    for skip in (True, False):
        want = reference.batch_decode(expected, skip_special_tokens=skip)
        if light.batch_decode(expected, skip_special_tokens=skip) != want:
            return f"decoding (skip_special_tokens={skip})"
    if [light.convert_ids_to_tokens(row) for row in expected] != [
        reference.convert_ids_to_tokens(row) for row in expected
    ]:
        return "tokens"
    return None


def read(folder: Path, source: str) -> tuple[JsonConfig, JsonConfig, FastTokenizer] | None:
    """(config, generation config, tokenizer) as save() wrote them; None where it did not."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
        tokenizer = FastTokenizer.from_folder(folder)
    except Exception as exc:  # noqa: BLE001 - absent (older conversions) or damaged; tokenizers
        # raises a plain Exception for a file it cannot parse
        log.debug("no torch-free files in %s (%s)", folder, exc)
        return None
    # What from_pretrained records: the prompt family looks for "flan" in it.
    config["_name_or_path"] = source
    return JsonConfig(**config), JsonConfig(**generation), tokenizer
