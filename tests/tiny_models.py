"""Builders for tiny random seq2seq checkpoints, saved the way users' models are saved."""

from __future__ import annotations

import random
from pathlib import Path

# Made-up words only: tests must not carry the publishers' texts from ../shared.
WORDS = (
    "the council said new rail plans would cut journey times across the region by next year "
    "while critics warned that costs had doubled and local firms wanted more say in how money "
    "was spent on roads bridges stations schools and hospitals over the coming decade"
).split()


def make_text(words: int, seed: int = 0, sentence_words: int = 12) -> str:
    """Plain prose of about `words` words, in sentences of `sentence_words` words."""
    rng = random.Random(seed)
    sentences, left = [], words
    while left > 0:
        n = min(left, sentence_words)
        body = " ".join(rng.choice(WORDS) for _ in range(n))
        sentences.append(body[0].upper() + body[1:] + ".")
        left -= n
    return " ".join(sentences)


def build_tiny_t5(folder: Path, tokenizer_source: Path) -> Path:
    """A 2-layer random T5 with a real T5 tokenizer (vocabulary 32,128)."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source))
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_random_t5_small(folder: Path, architecture: Path) -> Path:
    """The real-size t5-small (60M parameters, its own config and tokenizer) with random
    weights: outputs move with batch composition as a trained model's do."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config.from_pretrained(str(architecture)))
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(architecture)).save_pretrained(folder)
    return folder


def build_tiny_bart(folder: Path, *, eos_bias: float = 0.0, positions: int = 128) -> Path:
    """A 2-layer random BART with a small byte-level BPE tokenizer trained here.

    Its generation config mimics BART-CNN's (beams, min_length 56, max_length 142), so tests
    can see that short texts are not padded out to the checkpoint's minimum. `eos_bias` makes
    the model end its output as soon as it may, so output length = min_new_tokens.
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    torch.manual_seed(0)
    trainer = ByteLevelBPETokenizer()
    corpus = [make_text(40, seed) for seed in range(50)] + ["{{ 7*7 }} {% raw %} 0123456789"]
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer.train_from_iterator(corpus, vocab_size=400, min_frequency=1, special_tokens=specials)
    vocab = trainer.get_vocab()
    merges = _merges(trainer)
    tokenizer = BartTokenizer(vocab=vocab, merges=merges, model_max_length=positions)
    config = BartConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=positions,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=tokenizer.bos_token_id,
    )
    model = BartForConditionalGeneration(config)
    if eos_bias:
        with torch.no_grad():
            model.final_logits_bias[0, tokenizer.eos_token_id] = eos_bias
    generation = model.generation_config
    generation.update(
        num_beams=2,
        min_length=56,
        max_length=142,
        no_repeat_ngram_size=3,
        length_penalty=2.0,
        early_stopping=True,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _merges(trainer: object) -> list[tuple[str, str]]:
    import json

    # The trained merges, read from the tokenizer's own serialisation (str or pair per version).
    state = json.loads(trainer.to_str())  # type: ignore[attr-defined]
    merges = state["model"]["merges"]
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]


def build_bert(folder: Path) -> Path:
    """A tiny BERT checkpoint: a real model, but not a seq2seq one."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
    )
    BertModel(config).save_pretrained(folder)
    return folder
