"""The CTranslate2 backend: conversion and its cache, outputs equal to transformers, no extra."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tiny_models import make_text
from typer.testing import CliRunner

from digest import cli
from digest.engines import ctranslate2_backend, light
from digest.engines.ctranslate2_backend import INSTALL, decoding_options, expected_backend
from digest.engines.light import FastTokenizer
from digest.engines.seq2seq import Seq2SeqSummariser
from digest.errors import UsageError
from digest.pipeline import Options
from digest.run_plan import plan_run

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
runner = CliRunner()


def engine(model: Path, backend: str, **options: Any) -> Seq2SeqSummariser:
    options.setdefault("threads", 1)
    if backend == "ctranslate2":
        # float32: the converted weights are transformers' own, so outputs must match exactly.
        options.setdefault("compute_type", "float32")
    generate = options.pop("generate", {})
    return Seq2SeqSummariser(str(model), generate, backend=backend, **options)


@pytest.fixture
def ct2_cache(tmp_path: Path) -> Path:
    """A conversions folder of this test's own (given to each engine), so conversions can be
    counted."""
    pytest.importorskip("ctranslate2")
    return tmp_path / "cache" / "ct2"


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    original = ctranslate2_backend.convert

    def counting(checkpoint: Any, folder: Path, *args: Any, **kwargs: Any) -> None:
        calls.append(folder)
        original(checkpoint, folder, *args, **kwargs)

    monkeypatch.setattr(ctranslate2_backend, "convert", counting)
    return calls


@pytest.fixture
def without_ctranslate2(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import ctranslate2` raise ImportError: a machine without it.
    monkeypatch.setitem(sys.modules, "ctranslate2", None)


@pytest.fixture(scope="session")
def forced_bos_bart(tiny_bart: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_bart whose generation config forces <s> first, as BART-CNN's does."""
    import shutil

    from transformers import GenerationConfig

    folder = tmp_path_factory.mktemp("forced-bos-bart")
    shutil.copytree(tiny_bart, folder, dirs_exist_ok=True)
    generation = GenerationConfig.from_pretrained(folder)
    generation.forced_bos_token_id = 0
    generation.save_pretrained(folder)
    return folder


# -- settings mapping (no CTranslate2 needed)


def test_decoding_options_map_generate_settings() -> None:
    settings = {
        "num_beams": 4,
        "min_new_tokens": 40,
        "max_new_tokens": 40,
        "no_repeat_ngram_size": 3,
        "length_penalty": 2.0,
        "repetition_penalty": 1.2,
        "early_stopping": True,
    }
    assert decoding_options(settings) == {
        "beam_size": 4,
        "min_decoding_length": 40,
        "max_decoding_length": 40,
        "no_repeat_ngram_size": 3,
        "length_penalty": 2.0,
        "repetition_penalty": 1.2,
    }
    # A forced end token takes transformers' last place, and is dropped on decoding.
    forced = decoding_options(settings, forced_eos=True)
    assert (forced["min_decoding_length"], forced["max_decoding_length"]) == (39, 39)
    greedy = decoding_options({"num_beams": 1, "max_new_tokens": 8, "length_penalty": 2.0})
    assert greedy["beam_size"] == 1 and "length_penalty" not in greedy
    sampled = decoding_options({"do_sample": True, "top_k": 10, "temperature": 0.7})
    assert (sampled["sampling_topk"], sampled["sampling_temperature"]) == (10, 0.7)


def test_backend_names() -> None:
    assert ctranslate2_backend.check_backend_name("CTranslate2") == "ctranslate2"
    with pytest.raises(UsageError, match="unknown backend 'onnx'"):
        ctranslate2_backend.check_backend_name("onnx")
    assert expected_backend("transformers") == "transformers"


def test_fingerprint_separates_backends() -> None:
    prints = {
        plan_run(Options(model="m", backend=b)).fingerprint("seq2seq")
        for b in ("transformers", "ctranslate2")
    }
    assert len(prints) == 2


# -- without the extra


def test_missing_extra_is_a_one_line_error(
    tiny_bart: Path, tmp_path: Path, without_ctranslate2: None
) -> None:
    args = ["make", str(SEEDS), "-o", str(tmp_path), "-e", "seq2seq", "-m", str(tiny_bart)]
    result = runner.invoke(cli.app, [*args, "--backend", "ctranslate2", "--no-cache"])
    assert result.exit_code == 2, result.output
    # Refused before any file is read or model loaded: the error is all there is.
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("digest: error: ")
    assert INSTALL in result.stderr


def test_auto_falls_back_to_transformers_without_the_extra(
    tiny_bart: Path, without_ctranslate2: None
) -> None:
    assert expected_backend("auto") == "transformers"
    summariser = engine(tiny_bart, "auto", generate={"num_beams": 1, "max_new_tokens": 6})
    assert summariser.summarise([make_text(40, 1)], kind="section")[0]
    assert summariser.backend == "transformers"


def test_backend_comes_from_the_environment(
    tiny_bart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, without_ctranslate2: None
) -> None:
    monkeypatch.setenv("DIGEST_BACKEND", "ctranslate2")
    args = ["make", str(SEEDS), "-o", str(tmp_path), "-e", "seq2seq", "-m", str(tiny_bart)]
    result = runner.invoke(cli.app, [*args, "--no-cache"])
    assert result.exit_code == 2 and INSTALL in result.stderr, result.output


# -- with CTranslate2


@pytest.mark.parametrize("name", ["tiny_t5", "tiny_bart", "forced_bos_bart", "eager_bart"])
def test_greedy_output_matches_transformers(
    name: str, request: pytest.FixtureRequest, ct2_cache: Path
) -> None:
    model = request.getfixturevalue(name)
    # no_repeat_ngram_size keeps random weights from repeating one token: a stronger check.
    generate = {"num_beams": 1, "no_repeat_ngram_size": 2}
    texts = [make_text(n, seed) for seed, n in enumerate((70, 15, 200, 40))]  # 200: map-reduce
    reference = engine(model, "transformers", generate=generate)
    fast = engine(model, "ctranslate2", conversions=ct2_cache, generate=generate)
    expected = reference.summarise(texts, kind="section")
    assert fast.summarise(texts, kind="section") == expected
    assert fast.backend == "ctranslate2" and reference.backend == "transformers"
    assert fast.stats == reference.stats  # the same jobs and batches: only generate() differs


@pytest.mark.parametrize("name", ["tiny_t5", "forced_bos_bart"])
def test_token_ids_match_and_lengths_are_new_tokens(
    name: str, request: pytest.FixtureRequest, ct2_cache: Path
) -> None:
    model = request.getfixturevalue(name)
    reference, fast = (
        engine(model, "transformers"),
        engine(model, "ctranslate2", conversions=ct2_cache),
    )
    reference.prepare()
    fast.prepare()
    assert reference._loaded is not None and fast._loaded is not None
    tokenizer = reference._loaded.tokenizer
    inputs = [tokenizer(make_text(n, n))["input_ids"] for n in (30, 12)]
    for least, most in ((0, 10), (7, 7), (10, 10)):
        settings = {"num_beams": 1, "no_repeat_ngram_size": 2}
        settings.update(min_new_tokens=least, max_new_tokens=most)
        slow = reference._loaded.backend.generate(inputs, settings)
        quick = fast._loaded.backend.generate(inputs, settings)
        special = set(tokenizer.all_special_ids)
        # transformers returns the decoder start token (and any end token and padding) too.
        assert [[t for t in row if t not in special] for row in slow] == [
            [t for t in row if t not in special] for row in quick
        ]
        assert all(len(row) <= most for row in quick)


def test_beam_search_runs_and_follows_forced_lengths(eager_bart: Path, ct2_cache: Path) -> None:
    fixed = {"num_beams": 4, "min_new_tokens": 9, "max_new_tokens": 9}
    summariser = engine(
        eager_bart, "ctranslate2", conversions=ct2_cache, generate=fixed, compute_type="int8"
    )
    [summary] = summariser.summarise([make_text(40, 3)], kind="section")
    assert summary
    assert summariser._loaded is not None
    tokenizer, backend = summariser._loaded.tokenizer, summariser._loaded.backend
    inputs = [tokenizer(make_text(n, n))["input_ids"] for n in (40, 20)]
    # The eager model ends as soon as allowed; BART's forced end token takes the 9th place.
    assert [len(row) for row in backend.generate(inputs, fixed)] == [8, 8]


def test_conversion_is_cached_and_reused(
    tiny_t5: Path, ct2_cache: Path, conversions: list[Path]
) -> None:
    first = engine(
        tiny_t5,
        "ctranslate2",
        conversions=ct2_cache,
        generate={"num_beams": 1, "max_new_tokens": 6},
    )
    first.prepare()
    assert len(conversions) == 1 and conversions[0].parent == ct2_cache
    assert conversions[0].name.endswith("-float32") and (conversions[0] / "model.bin").is_file()
    second = engine(
        tiny_t5,
        "ctranslate2",
        conversions=ct2_cache,
        generate={"num_beams": 1, "max_new_tokens": 6},
    )
    second.prepare()
    assert len(conversions) == 1, "the second run converted again"
    # No half-written temporaries are left beside the converted folder.
    assert [p.name for p in ct2_cache.iterdir()] == [conversions[0].name]
    # Another quantization is another folder.
    engine(tiny_t5, "ctranslate2", conversions=ct2_cache, compute_type="int8").prepare()
    assert len(conversions) == 2 and conversions[1].name.endswith("-int8")


def test_what_killed_conversions_and_removals_left_is_removed_by_the_next_conversion(
    tiny_t5: Path, ct2_cache: Path, conversions: list[Path]
) -> None:
    hours_ago = time.time() - 2 * 3600
    stale = ct2_cache / ".t5-0123456789abcdef-float32.k2j_4x9q"  # a killed conversion's
    (stale / "light").mkdir(parents=True)
    (stale / "model.bin").write_bytes(b"half a model")
    trash = ct2_cache / ".trash-t5-0123456789abcdef-int8.q1w2e3r4"  # an interrupted removal's
    (trash / "t5-0123456789abcdef-int8").mkdir(parents=True)
    (trash / "t5-0123456789abcdef-int8" / "model.bin").write_bytes(b"an old model")
    for leftover in (stale, trash):
        for path in [*leftover.rglob("*"), leftover]:
            os.utime(path, (hours_ago, hours_ago))
    live = ct2_cache / ".t5-0123456789abcdef-int8.a8b7c6d5"  # another run converting now
    live.mkdir()
    (live / "model.bin").write_bytes(b"being written")
    os.utime(live, (hours_ago, hours_ago))
    unrelated = ct2_cache / ".keep-me"
    unrelated.mkdir()
    os.utime(unrelated, (hours_ago, hours_ago))

    generate = {"num_beams": 1, "max_new_tokens": 6}
    engine(tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate).prepare()
    assert len(conversions) == 1
    names = sorted(p.name for p in ct2_cache.iterdir())
    assert names == sorted([conversions[0].name, live.name, unrelated.name])


def test_conversions_go_where_the_engine_is_told_whatever_the_environment_says(
    tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conversions: list[Path]
) -> None:
    from digest.engines.conversions import conversions_folder

    pytest.importorskip("ctranslate2")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("DIGEST_CACHE_DIR", str(elsewhere))
    told = tmp_path / "told"
    user = conversions_folder(None)  # the default: the user cache's (a test folder here)
    already = set(user.iterdir()) if user.is_dir() else set()
    generate = {"num_beams": 1, "max_new_tokens": 6}
    first = engine(tiny_t5, "ctranslate2", conversions=told, generate=generate)
    first.prepare()
    assert first.backend == "ctranslate2"
    assert [folder.parent for folder in conversions] == [told]
    assert (conversions[0] / "model.bin").is_file()
    assert not elsewhere.exists()
    assert (set(user.iterdir()) if user.is_dir() else set()) == already
    # A later engine told the same folder finds that conversion (the torch-free path).
    again = engine(tiny_t5, "ctranslate2", conversions=told, generate=generate)
    again.prepare()
    assert len(conversions) == 1 and again._loaded is not None
    assert isinstance(again._loaded.tokenizer, FastTokenizer)


def test_a_cached_conversion_opens_once_on_a_second_thread_while_the_tokenizer_loads(
    tiny_t5: Path, ct2_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import ctranslate2

    generate = {"num_beams": 1, "max_new_tokens": 6}
    expected = engine(tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate).summarise(
        [make_text(30, 4)], kind="section"
    )  # converts, and saves the tokenizer beside the weights
    opened: list[tuple[str, Any]] = []
    real = ctranslate2.Translator

    def translator(*args: Any, **kwargs: Any) -> Any:
        made = real(*args, **kwargs)
        opened.append((threading.current_thread().name, made))
        return made

    monkeypatch.setattr(ctranslate2, "Translator", translator)
    cached = engine(tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate)
    assert cached.summarise([make_text(30, 4)], kind="section") == expected
    assert len(opened) == 1, "the converted model was opened more than once"
    ((thread, made),) = opened
    assert thread != threading.main_thread().name
    assert cached._loaded is not None and cached._loaded.backend.translator is made


def test_the_value_made_ahead_is_waited_for_and_its_error_raised() -> None:
    import time as clock

    from digest.engines.loading import Ahead

    slow = Ahead(lambda: clock.sleep(0.05) or "ready", key="k")
    assert (slow.key, slow.result(), slow.result()) == ("k", "ready", "ready")

    def broken() -> None:
        raise OSError("damaged model.bin")

    with pytest.raises(OSError, match="damaged model.bin"):
        Ahead(broken, key=None).result()


def test_corrupt_conversion_is_rebuilt(
    tiny_t5: Path,
    ct2_cache: Path,
    conversions: list[Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    generate = {"num_beams": 1, "max_new_tokens": 6}
    expected = engine(tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate).summarise(
        [make_text(30, 4)], kind="section"
    )
    (conversions[0] / "model.bin").write_bytes(b"\x00 not a model \xff" * 64)
    again = engine(tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate)
    assert again.summarise([make_text(30, 4)], kind="section") == expected
    assert len(conversions) == 2 and conversions[1] == conversions[0]
    assert "unreadable" in caplog.text


def test_unsupported_settings(tiny_bart: Path, ct2_cache: Path) -> None:
    settings = {"num_beams": 2, "num_beam_groups": 2, "diversity_penalty": 0.5}
    with pytest.raises(UsageError, match="does not support num_beam_groups"):
        engine(tiny_bart, "ctranslate2", conversions=ct2_cache, generate=settings).prepare()
    auto = engine(tiny_bart, "auto", conversions=ct2_cache, generate=settings)
    auto.prepare()
    assert auto.backend == "transformers"


def test_cli_records_the_backend(tiny_bart: Path, tmp_path: Path, ct2_cache: Path) -> None:
    args = ["make", str(SEEDS), "-o", str(tmp_path), "-e", "seq2seq", "-m", str(tiny_bart)]
    args += ["-g", "num_beams=1", "-g", "max_new_tokens=12", "-f", "md,json", "--no-cache"]
    result = runner.invoke(cli.app, [*args, "--backend", "ctranslate2"])
    assert result.exit_code == 0, result.output
    data = json.loads(next(tmp_path.glob("digest-*.json")).read_text(encoding="utf-8"))
    assert data["backend"] == "ctranslate2"
    md = next(tmp_path.glob("digest-*.md")).read_text(encoding="utf-8")
    assert f"({tiny_bart}, ctranslate2)" in md


# -- the torch-free path: a cached conversion carries its configs and tokenizer


def without_light_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # What runs did before the torch-free path: configs and tokenizer through transformers.
    monkeypatch.setattr(ctranslate2_backend, "cached_checkpoint", lambda *a, **k: None)


def test_torch_free_files_are_written_only_when_faithful(
    tiny_bart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    config = AutoConfig.from_pretrained(tiny_bart)
    generation = GenerationConfig.from_pretrained(tiny_bart)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bart)
    assert light.save(config, generation, tokenizer, tmp_path / "ok")
    files = light.read(tmp_path / "ok", "the/source")
    assert files is not None
    stated, decoding, adapter = files
    assert (stated.model_type, stated._name_or_path) == ("bart", "the/source")
    assert decoding.num_beams == 2
    assert adapter.model_max_length == 128
    # A guess at space clean-up that the reference contradicts is corrected.
    monkeypatch.setattr(light, "_spaces_cleaned", lambda tokenizer: True)
    assert light.save(config, generation, tokenizer, tmp_path / "corrected")
    files = light.read(tmp_path / "corrected", "the/source")
    assert files is not None and files[2].clean_up_spaces is False
    # An adapter that would tokenise differently is not saved: runs keep transformers' path.
    monkeypatch.setattr(light, "_mismatch", lambda reference, adapter: "decoding")
    assert not light.save(config, generation, tokenizer, tmp_path / "differs")
    assert not (tmp_path / "differs").exists()
    # Nor is anything for a tokenizer without a Rust backend (no tokenizer.json to save).
    assert not light.save(config, generation, SimpleNamespace(), tmp_path / "python-only")
    assert light.read(tmp_path / "python-only", "the/source") is None


@pytest.mark.parametrize("name", ["tiny_t5", "tiny_bart", "forced_bos_bart"])
def test_torch_free_path_gives_the_same_summaries(
    name: str, request: pytest.FixtureRequest, ct2_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = request.getfixturevalue(name)
    texts = [make_text(n, seed) for seed, n in enumerate((70, 15, 200, 40))]  # 200: map-reduce
    with monkeypatch.context() as patched:
        without_light_path(patched)
        reference = engine(
            model, "ctranslate2", conversions=ct2_cache
        )  # converts, saving the torch-free files
        expected = reference.summarise(texts, kind="section")
        expected += reference.summarise(texts[:2], kind="article")
    fast = engine(model, "ctranslate2", conversions=ct2_cache)
    summaries = fast.summarise(texts, kind="section") + fast.summarise(texts[:2], kind="article")
    assert fast._loaded is not None and reference._loaded is not None
    assert isinstance(fast._loaded.tokenizer, FastTokenizer), "the cached run used transformers"
    assert not isinstance(reference._loaded.tokenizer, FastTokenizer)
    assert summaries == expected
    # Everything the engine took from the checkpoint agrees, not only these outputs.
    for attribute in ("_limit", "_output_limit", "_defaults", "_checkpoint_min", "_base_tokens"):
        assert getattr(fast, attribute) == getattr(reference, attribute), attribute
    assert fast._checkpoint_max == reference._checkpoint_max
    assert fast._prompt is not None and reference._prompt is not None
    assert fast._prompt.filename == reference._prompt.filename
    assert fast.stats == reference.stats
    slow_backend, quick_backend = reference._loaded.backend, fast._loaded.backend
    assert isinstance(quick_backend, ctranslate2_backend.CTranslate2Backend)
    assert isinstance(slow_backend, ctranslate2_backend.CTranslate2Backend)
    assert (quick_backend.prefix, quick_backend.forced_eos) == (
        slow_backend.prefix,
        slow_backend.forced_eos,
    )
    tokenizer = reference._loaded.tokenizer
    assert fast._loaded.tokenizer.all_special_ids == list(tokenizer.all_special_ids)


def test_conversion_without_torch_free_files_still_runs(
    tiny_bart: Path, ct2_cache: Path, conversions: list[Path]
) -> None:
    generate = {"num_beams": 1, "max_new_tokens": 6}
    expected = engine(tiny_bart, "ctranslate2", conversions=ct2_cache, generate=generate).summarise(
        [make_text(30, 4)], kind="section"
    )
    # As a conversion made before these files existed (or of a sentencepiece-only tokenizer).
    shutil.rmtree(conversions[0] / light.FOLDER)
    again = engine(tiny_bart, "ctranslate2", conversions=ct2_cache, generate=generate)
    assert again.summarise([make_text(30, 4)], kind="section") == expected
    assert again._loaded is not None and not isinstance(again._loaded.tokenizer, FastTokenizer)
    assert len(conversions) == 1  # the weights are still reused


def test_cached_run_imports_neither_torch_nor_transformers(
    tiny_t5: Path, tmp_path: Path, ct2_cache: Path
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for seed in range(2):
        (articles / f"a{seed}.txt").write_text(make_text(90, seed), encoding="utf-8")
    options = {"compute_type": "float32", "threads": 1}
    generate = {"num_beams": 2, "max_new_tokens": 8}
    engine(
        tiny_t5, "ctranslate2", conversions=ct2_cache, generate=generate
    ).prepare()  # converts: the cache is filled
    code = (
        "import json, sys\n"
        "from digest import make_digest\n"
        "from digest.pipeline import Options\n"
        f"options = Options(engine='seq2seq', model={str(tiny_t5)!r}, generate={generate!r}, "
        f"backend='ctranslate2', engine_options={options!r}, conversions={str(ct2_cache)!r})\n"
        f"digest = make_digest([{str(articles)!r}], options)\n"
        "print(json.dumps({'backend': digest.backend, 'summaries': len(digest.articles), "
        "'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "backend": "ctranslate2",
        "summaries": 2,
        "torch": False,
        "transformers": False,
    }


def test_hub_ids_take_the_torch_free_path_too(
    tiny_t5: Path, tmp_path: Path, ct2_cache: Path
) -> None:
    # The tiny T5 laid out as the hub cache keeps a download: snapshots/<commit>/ and refs/main.
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-t5"
    shutil.copytree(tiny_t5, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    code = (
        "import json\n"
        "from digest.engines.seq2seq import Seq2SeqSummariser\n"
        "def run():\n"
        "    engine = Seq2SeqSummariser('tiny-org/tiny-t5', {'num_beams': 2, 'max_new_tokens': 8},"
        " backend='ctranslate2', compute_type='float32', threads=1,"
        f" conversions={str(ct2_cache)!r})\n"
        f"    summary = engine.summarise([{make_text(60, 7)!r}], kind='section')\n"
        "    return summary, type(engine._loaded.tokenizer).__name__\n"
        "print(json.dumps([run(), run()]))\n"  # the first converts, the second reuses it
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    (converting, tokenizer), (cached, light_tokenizer) = json.loads(result.stdout)
    assert cached == converting
    assert tokenizer != "FastTokenizer" and light_tokenizer == "FastTokenizer"
    [folder] = ct2_cache.iterdir()
    assert folder.name.startswith("tiny-org-tiny-t5-")
    # A later run on the cached conversion finds the revision without huggingface_hub's
    # download code (about 0.2 s of every such run's start).
    cached_only = code.replace(
        "[run(), run()]", "[run(), 'huggingface_hub.file_download' in sys.modules]"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + cached_only],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (summary, name), hub_download_imported = json.loads(result.stdout)
    assert (summary, name) == (cached, "FastTokenizer")
    assert not hub_download_imported


def test_a_relative_model_path_names_one_conversion_whatever_the_working_folder(
    tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.engines.loading import Loader

    folders = []
    for cwd in (tiny_t5.parent, tiny_t5.parent.parent):
        monkeypatch.chdir(cwd)
        relative = os.path.relpath(tiny_t5, cwd)
        folders.append(
            ctranslate2_backend.converted_folder(Loader(relative), "int8", "4", tmp_path / "ct2")
        )
    assert folders[0] == folders[1] and folders[0].parent == tmp_path / "ct2"


def test_cache_dir_option_moves_the_conversions_too(
    tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ctranslate2")
    monkeypatch.delenv("DIGEST_CACHE_DIR")  # restored after the test, like the CLI's change
    cache = tmp_path / "elsewhere"
    result = CliRunner().invoke(
        cli.app,
        [
            "make",
            str(Path(__file__).parent.parent / "seeds"),
            "-o",
            str(tmp_path / "out"),
            "-e",
            "seq2seq",
            "-m",
            str(tiny_t5),
            "--backend",
            "ctranslate2",
            "-g",
            "max_new_tokens=8",
            "--cache-dir",
            str(cache),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (cache / "summaries.sqlite3").exists()
    assert len(list((cache / "ct2").iterdir())) == 1


def test_auto_fallback_summaries_are_keyed_by_the_backend_that_ran(
    tiny_bart: Path, tmp_path: Path, ct2_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under --backend auto a model that fails to convert runs on transformers: its summaries
    must be found by a transformers run, and never served to a CTranslate2 one."""
    from dataclasses import replace

    import digest.executing
    from digest.errors import ModelUnavailable
    from digest.pipeline import make_digest

    inputs = Path(__file__).resolve().parent / "fixtures" / "every-format"
    generate = {"num_beams": 1, "max_new_tokens": 8}
    auto = Options(
        engine="seq2seq", model=str(tiny_bart), generate=generate, cache=tmp_path / "s.sqlite3"
    )
    resolved: list[str] = []
    real_build = digest.executing.build_engine

    def build(spec: Any) -> Any:
        resolved.append(str(dict(spec.options).get("backend", "auto")))
        return real_build(spec)

    def refuse(checkpoint: Any, **_: Any) -> Any:
        raise ModelUnavailable(f"model {checkpoint.model} could not be converted for CTranslate2")

    monkeypatch.setattr(digest.executing, "build_engine", build)
    with monkeypatch.context() as failing:
        failing.setattr(ctranslate2_backend, "load", refuse)
        first = make_digest([inputs], auto)
        assert (first.backend, resolved) == ("transformers", ["auto"])
        # The same auto run again is answered from the cache: no model is loaded.
        assert make_digest([inputs], auto).articles == first.articles
        assert resolved == ["auto"]

    as_transformers = replace(auto, backend="transformers")
    again = make_digest([inputs], as_transformers)
    assert resolved == ["auto"], "transformers' own run did not find the fallback's summaries"
    assert (again.backend, again.articles) == ("transformers", first.articles)

    as_ct2 = replace(auto, backend="ctranslate2")
    converted = make_digest([inputs], as_ct2)
    assert resolved == ["auto", "ctranslate2"], "transformers summaries passed for CTranslate2's"
    assert converted.backend == "ctranslate2"
