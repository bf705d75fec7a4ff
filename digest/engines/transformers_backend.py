"""The transformers backend of the seq2seq engine, and the contract every backend meets."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from digest.engines.loading import Checkpoint, first_line, read_checkpoint
from digest.errors import ModelUnavailable
from digest.prompts import prompt_family


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
class Loaded:
    tokenizer: Any
    network: Any  # the transformers model; None when another backend runs it
    config: Any
    device: str
    backend: Backend
    generation_config: Any = None


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


def load_checkpoint(
    model: str, *, device: str | None = None, checkpoint: Checkpoint | None = None
) -> Loaded:
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
        raise ModelUnavailable(f"model {model} could not be loaded: {first_line(exc)}") from None
    network.to(chosen)
    network.eval()
    backend = TransformersBackend(network, checkpoint.tokenizer, chosen)
    return Loaded(checkpoint.tokenizer, network, config, chosen, backend, network.generation_config)


@functools.cache
def _beam_cache_type() -> tuple[Any, str] | None:
    """transformers' encoder-decoder cache, but reordering only the self-attention half (see
    TransformersBackend._beam_cache), and the name generate() takes a cache by ("cache" from
    transformers 5.24, "past_key_values" before); None where transformers has no such cache."""
    try:
        from transformers.cache_utils import EncoderDecoderCache
        from transformers.generation import utils as generation
    except ImportError:
        return None
    if not hasattr(EncoderDecoderCache, "reorder_cache"):
        return None
    name = "cache" if "cache" in getattr(generation, "ALL_CACHE_NAMES", ()) else "past_key_values"

    class BeamCache(EncoderDecoderCache):
        def reorder_cache(self, beam_idx: Any) -> None:
            self.self_attention_cache.reorder_cache(beam_idx)

    return BeamCache, name


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
                **self._beam_cache(settings),
                **settings,
            )
        return [list(row) for row in generated.tolist()]

    def _beam_cache(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """A decoder cache for beam search that leaves the cross-attention keys and values
        where they are ({} where it does not apply: greedy, or a cache API it does not know).

        After every step beam search reorders the cache to follow the surviving beams. Every
        beam picks from its own text's beams, whose cross-attention keys and values are the
        same (one encoder output, repeated per beam), so reordering them changes nothing; yet
        it copies all of them (layers × beams × input tokens) at every step, which measured
        30–45% of a batch's time at beam 4 on 500-token inputs (2 CPU cores). The outputs
        are identical (tests/test_seq2seq.py checks)."""
        if int(settings.get("num_beams", 1)) <= 1 or settings.get("use_cache") is False:
            return {}
        config = self.network.config
        found = _beam_cache_type() if getattr(config, "is_encoder_decoder", False) else None
        if found is None:
            return {}
        made, name = found
        from transformers.cache_utils import DynamicCache

        try:
            cache = made(DynamicCache(config=config), DynamicCache(config=config))
        except TypeError:  # a transformers whose caches are built otherwise
            return {}
        return {name: cache}

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
