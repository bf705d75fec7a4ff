"""The seq2seq engine on tiny random checkpoints: loading, errors, lengths, batching, long texts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tiny_models import make_text

from digest.defaults import DEFAULT_MODEL
from digest.engines import get_engine
from digest.engines.loading import input_limit, usable_cores
from digest.engines.planning import first_sentence, target_lengths
from digest.engines.seq2seq import Seq2SeqSummariser
from digest.engines.settings import PRESETS, parse_generate, resolve_model
from digest.errors import ModelUnavailable, UsageError
from digest.pipeline import Options, make_digest

OFFLINE_FIX = (
    "set HF_HUB_OFFLINE=0 / connect once to download it, or pass --model with a local folder"
)


def engine(model: Path | str, **options: Any) -> Seq2SeqSummariser:
    # One thread: tiny models gain nothing from more, and the test machine is shared.
    options.setdefault("threads", 1)
    # These tests look inside the transformers backend; tests/test_ctranslate2.py the other.
    options.setdefault("backend", "transformers")
    generate = options.pop("generate", {})
    return Seq2SeqSummariser(str(model), generate, **options)


@pytest.fixture
def load_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts AutoModelForSeq2SeqLM.from_pretrained calls (the expensive load)."""
    from transformers import AutoModelForSeq2SeqLM

    calls: list[str] = []
    original = AutoModelForSeq2SeqLM.from_pretrained.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, source: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(source)
        return original(cls, source, *args, **kwargs)

    monkeypatch.setattr(AutoModelForSeq2SeqLM, "from_pretrained", classmethod(counting))
    return calls


# -- imports and presets


def test_importing_the_cli_does_not_import_torch() -> None:
    code = (
        "import sys, digest, digest.cli, digest.engines, digest.pipeline, digest.prompts, "
        "digest.chunking, digest.engines.settings; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_presets_resolve_and_default_matches_pipeline() -> None:
    assert PRESETS["balanced"] == DEFAULT_MODEL
    assert resolve_model("fast") == "t5-small"
    assert resolve_model("best") == "facebook/bart-large-cnn"
    assert resolve_model("google/flan-t5-base") == "google/flan-t5-base"
    assert Seq2SeqSummariser("fast", {}).model == "t5-small"
    assert Seq2SeqSummariser(None, {}).model == DEFAULT_MODEL


def test_engine_attributes_via_registry(tiny_bart: Path) -> None:
    summariser = get_engine(
        "seq2seq", model=str(tiny_bart), generate={"num_beams": 1}, backend="transformers"
    )
    assert (summariser.name, summariser.model, summariser.backend) == (
        "seq2seq",
        str(tiny_bart),
        "transformers",
    )


# -- --generate parsing


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["num_beams=4"], {"num_beams": 4}),
        (
            ["length_penalty=1.5", "max_new_tokens=60"],
            {"length_penalty": 1.5, "max_new_tokens": 60},
        ),
        (["early_stopping=true", "do_sample=No"], {"early_stopping": True, "do_sample": False}),
        (["no-repeat-ngram-size = 3"], {"no_repeat_ngram_size": 3}),
        (["num_beams=2", "num_beams=5"], {"num_beams": 5}),
        ([], {}),
    ],
)
def test_parse_generate(pairs: list[str], expected: dict[str, Any]) -> None:
    assert parse_generate(pairs) == expected


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["num_beams=four"], "--generate num_beams: expected a whole number, got 'four'"),
        (["num_beams=2.5"], "--generate num_beams: expected a whole number"),
        (["length_penalty=big"], "--generate length_penalty: expected a number"),
        (["early_stopping=maybe"], "--generate early_stopping: expected true or false"),
        (["num_beam=4"], "--generate num_beam: unknown setting; choose from:"),
        (["num_beams"], "--generate expects KEY=VALUE, got 'num_beams'"),
        (["=4"], "--generate expects KEY=VALUE"),
        (["max_new_tokens=-1"], "--generate max_new_tokens: must not be negative"),
        (["num_beams=0"], "--generate num_beams: must be at least 1"),
        (["min_new_tokens=9", "max_new_tokens=5"], "--generate min_new_tokens: 9 is more than"),
    ],
)
def test_parse_generate_rejects_bad_input(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_generate(pairs)
    assert str(caught.value).startswith(message)


# -- loading and its errors


def test_prepare_loads_once_per_run(tiny_bart: Path, load_counter: list[str]) -> None:
    summariser = engine(tiny_bart, generate={"num_beams": 1})
    summariser.prepare()
    summariser.prepare()
    summariser.summarise([make_text(70, 1)], kind="section")
    summariser.summarise([make_text(50, 2), make_text(30, 3)], kind="article")
    summariser.summarise(["One. Two."], kind="tldr")
    assert load_counter == [str(tiny_bart)]


def test_make_digest_loads_the_model_once(
    tiny_bart: Path, tmp_path: Path, load_counter: list[str]
) -> None:
    for n in range(3):
        (tmp_path / f"{n}.txt").write_text(f"Title {n}\n\n{make_text(90, n)}\n", encoding="utf-8")
    options = Options(
        engine="seq2seq",
        model=str(tiny_bart),
        generate={"num_beams": 1},
        backend="transformers",
        engine_options={"threads": 1},
    )
    digest = make_digest([tmp_path], options)
    assert load_counter == [str(tiny_bart)]
    assert (digest.engine, digest.model, digest.backend) == (
        "seq2seq",
        str(tiny_bart),
        "transformers",
    )
    assert len(digest.articles) == 3


def test_tldr_needs_no_model(load_counter: list[str]) -> None:
    summariser = Seq2SeqSummariser("no-such/model", {})
    assert summariser.summarise(["First one. Second one.", ""], kind="tldr") == ["First one.", ""]
    assert load_counter == []
    assert first_sentence("No full stop here") == "No full stop here"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every attempt to open a connection or resolve a name, refused and recorded."""
    import socket

    attempts: list[object] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "no-such-org/no-such-model",
            f"model no-such-org/no-such-model is not in the local cache and downloads are off "
            f"(HF_HUB_OFFLINE=1); {OFFLINE_FIX}",
        ),
        (
            "/no/such/folder",
            "model folder /no/such/folder does not exist; check the path, or pass a hub id "
            "such as t5-small",
        ),
    ],
)
def test_unavailable_models_say_why_in_one_line(
    model: str, message: str, no_network: list[object]
) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        engine(model).prepare()
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert no_network == []  # offline: the hub is not even tried, so nothing waits on it


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"has no config\.json"):
        engine(tmp_path).prepare()


def test_not_a_seq2seq_model(tmp_path: Path) -> None:
    from tiny_models import build_bert

    folder = build_bert(tmp_path / "bert")
    with pytest.raises(ModelUnavailable) as caught:
        engine(folder).prepare()
    assert str(caught.value) == (
        f"model {folder} is a bert model, not a seq2seq (encoder-decoder) summariser; "
        "pass --model with one such as t5-small or sshleifer/distilbart-cnn-12-6"
    )


def test_online_but_unreachable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.engines.loading as loading

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    monkeypatch.setattr(loading, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ModelUnavailable, match="the Hugging Face hub cannot be reached"):
        engine("no-such-org/no-such-model").prepare()


def test_auto_falls_back_to_extractive_with_a_notice(
    tmp_path: Path, no_network: list[object]
) -> None:
    (tmp_path / "a.txt").write_text(f"A title\n\n{make_text(120)}\n", encoding="utf-8")
    digest = make_digest([tmp_path], Options(engine="auto", model="no-such-org/no-such-model"))
    assert no_network == []
    assert digest.engine == "extractive"
    # The why and the fix are for the operator; the readers get one neutral line.
    assert digest.diagnostics == (
        "Summaries are extractive because the seq2seq model no-such-org/no-such-model is not "
        f"in the local cache and downloads are off (HF_HUB_OFFLINE=1); {OFFLINE_FIX}.",
    )
    assert digest.notices == ("Summaries are extractive: sentences chosen from each article.",)


def test_unavailable_model_is_found_out_before_torch_is_imported(tmp_path: Path) -> None:
    # A nightly run whose model is not cached must not pay ~1.5 s of torch to learn that.
    (tmp_path / "a.txt").write_text(f"A title\n\n{make_text(120)}\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from digest.pipeline import Options, make_digest\n"
        "options = Options(engine='auto', model='no-such-org/no-such-model')\n"
        f"digest = make_digest([{str(tmp_path)!r}], options)\n"
        "print(digest.engine, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["extractive", "False", "False"]


def test_seq2seq_engine_raises_instead_of_falling_back(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"A title\n\n{make_text(120)}\n", encoding="utf-8")
    with pytest.raises(ModelUnavailable) as caught:
        make_digest([tmp_path], Options(engine="seq2seq", model="no-such-org/no-such-model"))
    assert str(caught.value) == (
        "model no-such-org/no-such-model is not in the local cache and downloads are off "
        f"(HF_HUB_OFFLINE=1); {OFFLINE_FIX}"
    )


# -- input limits and prompts


def test_input_limit_is_the_smallest_sane_one() -> None:
    huge = SimpleNamespace(model_max_length=int(1e30))
    assert input_limit(huge, SimpleNamespace(max_position_embeddings=1024)) == 1024
    assert (
        input_limit(SimpleNamespace(model_max_length=512), SimpleNamespace(n_positions=512)) == 512
    )
    assert (
        input_limit(
            SimpleNamespace(model_max_length=512), SimpleNamespace(max_position_embeddings=1024)
        )
        == 512
    )
    assert input_limit(huge, SimpleNamespace()) == 512


def test_real_windows(tiny_t5: Path, tiny_bart: Path) -> None:
    assert engine(tiny_t5).input_tokens == 512
    assert engine(tiny_bart).input_tokens == 128


def test_prompt_family_follows_the_config(tiny_t5: Path, tiny_bart: Path, tmp_path: Path) -> None:
    flan = shutil.copytree(tiny_t5, tmp_path / "flan-t5-tiny")
    t5, bart, flan_t5 = engine(tiny_t5), engine(tiny_bart), engine(flan)
    for summariser in (t5, bart, flan_t5):
        summariser.prepare()
    assert t5._prompt is not None and bart._prompt is not None and flan_t5._prompt is not None
    assert t5._prompt("Text {{ 7*7 }}.") == "summarize: Text {{ 7*7 }}."
    assert bart._prompt("Text {{ 7*7 }}.") == "Text {{ 7*7 }}."
    assert flan_t5._prompt("Text.", kind="section").startswith("Summarize this section")


# -- lengths


def test_target_lengths_scale_with_the_input() -> None:
    # A 60-word section (~80 tokens) is not padded to BART-CNN's 56-token minimum.
    least, most = target_lengths(80, "section", ceiling=142, checkpoint_min=56)
    assert least < 20 and most <= 40
    # A 700-word story gets a digest's paragraph (about 60 words), not the checkpoint's 142
    # tokens; a very long document a little more, never beyond the checkpoint's ceiling.
    least, most = target_lengths(900, "article", ceiling=142, checkpoint_min=56)
    assert 40 <= least <= 56 and 90 <= most <= 110
    assert target_lengths(30_000, "article", ceiling=142, checkpoint_min=56)[1] == 142
    assert target_lengths(30_000, "article", ceiling=400)[1] <= 1.25 * 120 * 1.3 + 8
    small, large = target_lengths(200, "article"), target_lengths(400, "article")
    assert small[0] < large[0] and small[1] < large[1]
    for tokens in (1, 5, 50, 500, 5000):
        least, most = target_lengths(tokens, "section", ceiling=30)
        assert 0 <= least <= most <= 30


def test_output_length_follows_the_input(eager_bart: Path) -> None:
    # The eager model stops as soon as it may, so its output is exactly min_new_tokens long.
    summariser = engine(eager_bart)
    summariser.prepare()
    assert summariser._loaded is not None
    network, tokenizer = summariser._loaded.network, summariser._loaded.tokenizer
    produced: list[int] = []
    original = network.generate

    def recording(*args: Any, **kwargs: Any) -> Any:
        output = original(*args, **kwargs)
        produced.append(output.shape[1] - 1)  # less the decoder start token
        return output

    network.generate = recording
    short, longer = make_text(30, 1), make_text(65, 2)  # both fit the 128-token window
    for text in (short, longer):
        summariser.summarise([text], kind="section")
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        settings = summariser.generation_settings(tokens, "section")
        assert settings["min_new_tokens"] < 56  # the checkpoint's own min_length is not used
        assert "min_length" not in settings
        assert settings["min_new_tokens"] <= produced[-1] <= settings["min_new_tokens"] + 1
    assert produced[0] < produced[1]


def test_explicit_settings_win(eager_bart: Path) -> None:
    summariser = engine(
        eager_bart, generate={"min_new_tokens": 6, "max_new_tokens": 6, "num_beams": 1}
    )
    settings = summariser.generation_settings(100, "section")
    assert settings["min_new_tokens"] == settings["max_new_tokens"] == 6
    assert settings["num_beams"] == 1
    assert "early_stopping" not in settings and "length_penalty" not in settings
    assert summariser.generation_settings(100, "article")["no_repeat_ngram_size"] == 3  # checkpoint
    # Past the decoder's position table (128 here) generate() would fail: held to it.
    too_long = engine(eager_bart, generate={"max_new_tokens": 500})
    assert too_long.generation_settings(100, "article")["max_new_tokens"] == 126


# -- batching, order, long inputs


def test_batched_results_match_one_by_one_in_input_order(tiny_t5: Path) -> None:
    fixed = {"num_beams": 1, "min_new_tokens": 8, "max_new_tokens": 8}
    texts = [make_text(n, seed) for seed, n in enumerate((70, 15, 200, 40, 120, 15, 90))]
    batched = engine(tiny_t5, generate=fixed, batch_size=3)
    done: list[int] = []
    together = batched.summarise(texts, kind="section", progress=done.append)
    alone = [batched.summarise([t], kind="section")[0] for t in texts]
    assert together == alone
    assert sum(done) == len(texts)
    assert len(set(together)) > 1  # different inputs, different outputs: order is testable


@pytest.mark.parametrize("model", ["tiny_t5", "tiny_bart"])
def test_beam_search_leaves_cross_attention_in_place_with_the_same_outputs(
    model: str, request: pytest.FixtureRequest
) -> None:
    """Beam search's cache keeps each text's cross-attention keys and values where they are
    (every beam of a text has the same ones): the outputs are those of transformers' own
    cache, which reorders them at every step."""
    from digest.engines import transformers_backend

    beams = {"num_beams": 4, "min_new_tokens": 10, "max_new_tokens": 10}
    beams |= {"no_repeat_ngram_size": 3, "length_penalty": 2.0, "early_stopping": True}
    texts = [make_text(n, seed) for seed, n in enumerate((70, 15, 40, 90, 25))]
    summariser = engine(request.getfixturevalue(model), generate=beams)
    ours = summariser.summarise(texts, kind="section")
    assert summariser._loaded is not None
    backend = summariser._loaded.backend
    assert isinstance(backend, transformers_backend.TransformersBackend)
    assert len(backend._beam_cache(beams)) == 1  # the cache, under generate()'s name for it
    assert backend._beam_cache({**beams, "num_beams": 1}) == {}
    plain = engine(request.getfixturevalue(model), generate=beams)
    plain.prepare()
    assert plain._loaded is not None
    plain._loaded.backend._beam_cache = lambda settings: {}  # type: ignore[union-attr]
    assert plain.summarise(texts, kind="section") == ours
    if model == "tiny_t5":  # (the tiny BART writes the same whatever it reads)
        assert len(set(ours)) > 1


def test_each_whole_text_is_tokenised_once(tiny_t5: Path) -> None:
    fixed = {"num_beams": 1, "min_new_tokens": 8, "max_new_tokens": 8}
    texts = [make_text(n, seed) for seed, n in enumerate((70, 200, 40, 120))]
    summariser = engine(tiny_t5, generate=fixed)
    reference = [summariser.summarise([t], kind="article")[0] for t in texts]
    assert summariser._loaded is not None
    real = summariser._loaded.tokenizer
    seen: list[str] = []

    class Counting:
        def __call__(self, text: Any, **kwargs: Any) -> Any:
            seen.extend([text] if isinstance(text, str) else text)
            return real(text, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    summariser._loaded.tokenizer = Counting()
    assert summariser.summarise(texts, kind="article") == reference
    prompts = [p for p in seen if any(p.endswith(t) for t in texts)]
    assert sorted(prompts) == sorted(f"summarize: {t}" for t in texts)  # once each, not twice


def test_empty_inputs(tiny_bart: Path, load_counter: list[str]) -> None:
    summariser = engine(tiny_bart)
    assert summariser.summarise([], kind="section") == []
    assert summariser.summarise(["", "  "], kind="article") == ["", ""]
    assert load_counter == []


def test_map_reduce_on_a_document_twenty_windows_long(tiny_bart: Path) -> None:
    summariser = engine(tiny_bart, generate={"num_beams": 1})
    summariser.prepare()
    assert summariser._loaded is not None
    network = summariser._loaded.network
    window = summariser.input_tokens
    seen: list[int] = []
    original = network.generate

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["attention_mask"].shape[1])
        return original(*args, **kwargs)

    network.generate = recording
    tokenizer = summariser._loaded.tokenizer
    text = make_text(2000, 7)
    assert len(tokenizer(text)["input_ids"]) > 20 * window
    done: list[int] = []
    [summary] = summariser.summarise([text], kind="article", progress=done.append)
    assert summary
    assert max(seen) <= window
    assert len(seen) > 2  # chunks, then at least one reduce
    assert done == [1]


def test_one_sentence_longer_than_the_window(tiny_t5: Path) -> None:
    summariser = engine(tiny_t5, max_input_tokens=48, generate={"num_beams": 1})
    summariser.prepare()
    assert summariser._loaded is not None
    network = summariser._loaded.network
    seen: list[int] = []
    original = network.generate

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["attention_mask"].shape[1])
        return original(*args, **kwargs)

    network.generate = recording
    text = " ".join(["word"] * 400)  # no sentence break at all
    done: list[int] = []
    [summary] = summariser.summarise([text], kind="section", progress=done.append)
    # Cut on token boundaries instead: every call fits the window, and the pieces are
    # summarised and then reduced (more than one call), not truncated to the first window.
    assert seen and max(seen) <= summariser.input_tokens <= 48
    assert len(seen) > 1
    assert done == [1]


@pytest.mark.parametrize(
    ("affinity", "quota", "expected"),
    [
        (8, None, 8),  # no quota: every core the process may run on
        (8, 2.5, 3),  # a quota of 2.5 cores: 3 threads, not 8
        (8, 0.2, 1),  # never below one
        (2, 6.0, 2),  # a quota above the affinity mask does not add cores
    ],
)
def test_usable_cores(
    monkeypatch: pytest.MonkeyPatch, affinity: int, quota: float | None, expected: int
) -> None:
    import digest.engines.loading as loading

    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: set(range(affinity)))
    monkeypatch.setattr(loading, "_cgroup_cpu_quota", lambda: quota)
    assert usable_cores() == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "250000 100000\n"}, 2.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_quota_v2_then_v1(
    tmp_path: Path, files: dict[str, str], expected: float | None
) -> None:
    from digest.engines.loading import _cgroup_cpu_quota

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _cgroup_cpu_quota(tmp_path) == expected
