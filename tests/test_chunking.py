"""Token-aware chunking: every chunk fits the window, nothing is lost, sentences stay whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_models import WORDS, make_text

from digest.chunking import chunk_text, split_by_tokens
from digest.text import split_sentences


def word_counter(prompt_words: int = 2) -> Callable[[str], int]:
    """A stand-in tokenizer: one token per word, plus a fixed prompt and an end token."""
    return lambda text: len(text.split()) + prompt_words + 1


def squash(text: str) -> str:
    return "".join(text.split())


def test_a_text_that_fits_comes_back_whole() -> None:
    text = "First paragraph here.\n\nSecond one."
    assert chunk_text(text, limit=20, count=word_counter()) == [text]


def test_chunks_end_at_sentence_boundaries() -> None:
    text = make_text(120, seed=3, sentence_words=10)
    chunks = chunk_text(text, limit=40, count=word_counter())
    assert len(chunks) > 1
    assert all(word_counter()(c) <= 40 for c in chunks)
    sentences = split_sentences(text)
    # Every chunk is a run of whole sentences, in order.
    rebuilt = [s for chunk in chunks for s in split_sentences(chunk)]
    assert rebuilt == sentences


def test_a_sentence_longer_than_the_window_is_cut_by_tokens() -> None:
    text = "Short one. " + " ".join(["word"] * 95) + ". Another short one."
    chunks = chunk_text(text, limit=30, count=word_counter())
    assert all(word_counter()(c) <= 30 for c in chunks)
    assert squash(" ".join(chunks)) == squash(text)
    assert chunks[0].startswith("Short one.")


def test_split_by_tokens_cuts_a_word_without_spaces() -> None:
    count = len  # one token per character
    parts = split_by_tokens("x" * 100, 30, count)
    assert [len(p) for p in parts] == [30, 30, 30, 10]


def test_a_window_with_no_room_for_text_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        chunk_text(make_text(50), limit=8, count=word_counter(prompt_words=5))


# -- property tests with real tokenizers: the guarantee holds for the input the model sees


def real_counter(tokenizer: Any, prefix: str) -> Callable[[str], int]:
    return lambda text: len(tokenizer(prefix + text, verbose=False)["input_ids"])


texts = st.builds(
    lambda words, seed, sentence, glue: make_text(words, seed, sentence).replace(". ", glue),
    st.integers(1, 900),
    st.integers(0, 10_000),
    st.integers(1, 200),
    st.sampled_from([". ", ".\n\n", " ", "! ", "; "]),
)


@pytest.fixture(scope="module")
def t5_tokenizer() -> Any:
    from conftest import shared_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(shared_path("models", "t5-small-architecture")))


@pytest.fixture(scope="module")
def bart_tokenizer(tiny_bart: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_bart))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, limit=st.integers(16, 512))
def test_t5_chunks_never_exceed_the_window(t5_tokenizer: Any, text: str, limit: int) -> None:
    count = real_counter(t5_tokenizer, "summarize: ")
    chunks = chunk_text(text, limit=limit, count=count)
    assert all(count(c) <= limit for c in chunks)
    assert squash(" ".join(chunks)) == squash(text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(texts, st.text(alphabet=" .{}*7" + "".join(WORDS[:5]), max_size=600)),
    limit=st.integers(12, 128),
)
def test_bart_chunks_never_exceed_the_window(bart_tokenizer: Any, text: str, limit: int) -> None:
    count = real_counter(bart_tokenizer, "")
    chunks = chunk_text(text, limit=limit, count=count)
    assert all(count(c) <= limit for c in chunks)
    assert squash(" ".join(chunks)) == squash(text)
