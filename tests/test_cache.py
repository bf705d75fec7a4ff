"""The summary cache: keys, re-runs that load no engine, corrupt files, concurrent writers."""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_path
from fake_engine import RUNNER, FakeSummariser, runner_env, write_articles

import digest.cache
import digest.cache_keys
import digest.executing
from digest.cache import CACHE_FILENAME, Cached, SummaryCache
from digest.cache_keys import engine_fingerprint, summary_key
from digest.engines.spec import EngineSpec
from digest.pipeline import Options, make_digest


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`digest ARGS` in a fresh interpreter, with the fake engine unless FAKE_ENGINE=real."""
    return subprocess.run(
        [sys.executable, RUNNER, *args],
        cwd=cwd,
        env=runner_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[FakeSummariser]:
    """Every engine the pipeline builds, in order; all of them fakes."""
    built: list[FakeSummariser] = []

    def get_engine(name: str, *, model: str | None = None, **_: object) -> FakeSummariser:
        engine = FakeSummariser(name, model)
        built.append(engine)
        return engine

    monkeypatch.setattr(digest.executing, "get_engine", get_engine)
    return built


def test_rows_round_trip_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c" / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many([("k1", Cached("one", "seq2seq", "t5-small", "transformers"))])
        assert cache.get_many(["k1", "absent"]) == {
            "k1": Cached("one", "seq2seq", "t5-small", "transformers")
        }
    with SummaryCache(path) as cache:
        assert cache.get_many(["k1"])["k1"].summary == "one"
        assert len(cache) == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"engine": "extractive"},
        {"model": "t5-small"},
        {"generate": {"num_beams": 2}},
        {"options": {"backend": "ctranslate2"}},
    ],
)
def test_fingerprint_changes_with_every_setting(changed: dict[str, object]) -> None:
    base: dict[str, object] = {
        "engine": "seq2seq",
        "model": "facebook/bart-large-cnn",
        "generate": {"num_beams": 4},
        "options": {},
    }
    engine = str(base.pop("engine"))
    before = engine_fingerprint(engine, **base)  # type: ignore[arg-type]
    merged = {**base, **changed}
    after = engine_fingerprint(str(merged.pop("engine", engine)), **merged)  # type: ignore[arg-type]
    assert before != after
    assert before == engine_fingerprint(engine, **base)  # type: ignore[arg-type]


def test_fingerprint_follows_prompt_template_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "plain.j2").write_text("{{ text }}", encoding="utf-8")
    monkeypatch.setenv("DIGEST_PROMPTS", str(prompts))
    before = engine_fingerprint("seq2seq", model="m")
    extractive_before = engine_fingerprint("extractive")
    (prompts / "plain.j2").write_text("Summarise: {{ text }}", encoding="utf-8")
    assert engine_fingerprint("seq2seq", model="m") != before
    # The extractive engine reads no prompts, so its summaries stay valid.
    assert engine_fingerprint("extractive") == extractive_before


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the digest package that the fingerprint reads its code from, free to edit."""
    copy = tmp_path / "digest"
    shutil.copytree(
        Path(digest.cache.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(digest.cache_keys, "_PACKAGE", copy)
    return copy


# Every module whose code decides what the engine writes (by reading each engine's imports,
# including those inside functions). light.py is the torch-free decoding path of cached
# CTranslate2 runs; ctranslate2_backend.py runs the model whatever --backend says (auto).
SEQ2SEQ_CODE = [
    "engines/seq2seq.py",
    "engines/loading.py",
    "engines/planning.py",
    "engines/transformers_backend.py",
    "engines/light.py",
    "engines/ctranslate2_backend.py",
    "engines/settings.py",
    "chunking.py",
    "prompts.py",
    "text.py",
]


@pytest.mark.parametrize("module", SEQ2SEQ_CODE)
def test_seq2seq_fingerprint_follows_every_module_that_shapes_its_summaries(
    package_copy: Path, module: str
) -> None:
    before = engine_fingerprint("seq2seq", model="m")
    with (package_copy / module).open("a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    assert engine_fingerprint("seq2seq", model="m") != before, module


def test_extractive_fingerprint_follows_its_code_and_no_other_engines(
    package_copy: Path,
) -> None:
    before = engine_fingerprint("extractive")
    for other in ("engines/seq2seq.py", "engines/light.py", "prompts.py", "chunking.py"):
        (package_copy / other).write_text("# another engine's code\n", encoding="utf-8")
    assert engine_fingerprint("extractive") == before
    for module in ("engines/extractive.py", "text.py"):
        with (package_copy / module).open("a", encoding="utf-8") as handle:
            handle.write("\n# edited\n")
        assert engine_fingerprint("extractive") != before, module
        before = engine_fingerprint("extractive")


def fake_hub_snapshot(hub: Path, model: str, commit: str) -> None:
    """What a download leaves in the hub cache: snapshots/<commit>/ and refs/main naming it."""
    repo = hub / f"models--{model.replace('/', '--')}"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}", encoding="utf-8")
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")


def test_a_new_hub_revision_gets_new_summaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants, try_to_load_from_cache

    hub = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    model = "someone/summariser"
    fake_hub_snapshot(hub, model, "a" * 40)
    first = engine_fingerprint("seq2seq", model=model)
    # The revision the fingerprint sees is the snapshot from_pretrained would load.
    found = try_to_load_from_cache(model, "config.json", cache_dir=hub)
    assert isinstance(found, str) and Path(found).parent.name == "a" * 40
    assert digest.cache_keys.hub_revision(model) == "a" * 40
    assert engine_fingerprint("seq2seq", model=model) == first

    fake_hub_snapshot(hub, model, "b" * 40)  # the hub moved on, and it was downloaded
    assert engine_fingerprint("seq2seq", model=model) != first
    assert engine_fingerprint("seq2seq", model="someone/other") != first


#: (engine, options): the libraries whose version its fingerprint follows, and some it does not.
LIBRARY_CASES = [
    ("extractive", {}, ["pysbd", "numpy"], ["torch", "transformers", "ctranslate2"]),
    (
        "seq2seq",
        {"backend": "transformers"},
        ["transformers", "torch", "tokenizers", "sentencepiece", "pysbd"],
        ["ctranslate2"],
    ),
    (
        "seq2seq",
        {"backend": "ctranslate2"},
        ["ctranslate2", "transformers", "tokenizers", "sentencepiece", "pysbd"],
        ["torch"],
    ),
    ("seq2seq", {"backend": None}, ["torch", "ctranslate2", "transformers"], ["jinja2"]),
]


@pytest.mark.parametrize(
    ("engine", "options", "follows", "ignores"),
    LIBRARY_CASES,
    ids=["extractive", "transformers", "ctranslate2", "either-backend"],
)
def test_fingerprint_follows_the_libraries_that_write_the_summaries(
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
    options: dict[str, object],
    follows: list[str],
    ignores: list[str],
) -> None:
    """Upgrading a library that splits sentences, tokenises or runs the model starts fresh
    summaries; upgrading one the engine does not use keeps them."""
    installed: dict[str, str | None] = {}
    monkeypatch.setattr(
        digest.cache_keys, "library_version", lambda name: installed.get(name, "1.0")
    )

    def fingerprint() -> str:
        model = None if engine == "extractive" else "m"
        return engine_fingerprint(engine, model=model, options=options)

    before = fingerprint()
    for library in follows:
        installed[library] = "2.0"
        assert fingerprint() != before, f"{library} was upgraded, the summaries kept"
        installed[library] = None  # uninstalled is a version too
        assert fingerprint() != before, f"{library} was removed, the summaries kept"
        del installed[library]
    for library in ignores:
        installed[library] = "2.0"
    assert fingerprint() == before, "an unrelated library's upgrade dropped the summaries"


def test_library_versions_are_read_without_importing_the_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    for name in ("numpy", "pysbd", "transformers", "tokenizers", "sentencepiece"):
        assert digest.cache_keys.library_version(name) == version(name), name
    assert digest.cache_keys.library_version("surely_not_installed_here") is None
    # A library never imported here, upgraded in place by pip (a new dist-info folder).
    site = tmp_path / "site"
    (site / "sumlib").mkdir(parents=True)
    (site / "sumlib" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (site / "sumlib-1.2.3.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert digest.cache_keys.library_version("sumlib") == "1.2.3"
    (site / "sumlib-1.2.3.dist-info").rename(site / "sumlib-1.3.0.dist-info")
    assert digest.cache_keys.library_version("sumlib") == "1.3.0"
    assert "sumlib" not in sys.modules

    # And a fresh process fingerprints both engines without importing any of them.
    code = (
        "import sys\n"
        "from digest.cache_keys import engine_fingerprint, library_versions\n"
        "engine_fingerprint('extractive')\n"
        "engine_fingerprint('seq2seq', model='m', options={'backend': None})\n"
        "assert library_versions('seq2seq')['torch'], 'torch is not in the fingerprint'\n"
        "heavy = ('torch', 'transformers', 'ctranslate2', 'tokenizers', 'sentencepiece',"
        " 'importlib.metadata')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_key_separates_kind_and_text() -> None:
    keys = {summary_key("f", k, t) for k in ("section", "article") for t in ("a", "b")}
    assert len(keys) == 4


def test_second_run_builds_no_engine(tmp_path: Path, engines: list[FakeSummariser]) -> None:
    write_articles(tmp_path / "in", 4)
    options = Options(engine="seq2seq", model="m", cache=tmp_path / CACHE_FILENAME)
    first = make_digest([tmp_path / "in"], options)
    assert len(engines) == 1 and engines[0].calls

    second = make_digest([tmp_path / "in"], options)
    assert len(engines) == 1, "a fully cached run built an engine"
    assert second.articles == first.articles
    assert (second.engine, second.model) == ("seq2seq", "m")


def test_a_cached_header_comes_from_the_runs_own_options(
    tmp_path: Path, engines: list[FakeSummariser]
) -> None:
    write_articles(tmp_path / "in", 3)
    cache = tmp_path / CACHE_FILENAME
    options = Options(
        engine="seq2seq",
        model="m",
        backend="transformers",
        cache=cache,
    )
    make_digest([tmp_path / "in"], options)
    # Rows under this run's keys that name something else (another spelling of the model,
    # another backend): the header must not take its words from whichever comes first.
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE summaries SET engine = 'other', model = 'x/y', backend = 'z'")
    second = make_digest([tmp_path / "in"], options)
    assert len(engines) == 1, "the second run was not fully cached"
    assert (second.engine, second.model, second.backend) == ("seq2seq", "m", "transformers")


def test_the_cached_path_batches_as_the_plan_says(tmp_path: Path) -> None:
    """Misses go to the engine in the run plan's batches (64 where CTranslate2 runs), with or
    without a cache: the cache never makes the engine decode in smaller batches."""
    from digest.executing import Identity, LocalExecutor
    from digest.summarising import Executed

    texts = [f"text number {n}" for n in range(100)]
    for cache in (SummaryCache(tmp_path / CACHE_FILENAME), None):
        engine = FakeSummariser("seq2seq", "m")
        executor = LocalExecutor(EngineSpec("seq2seq"))
        executor.engine, executor.identity = engine, Identity("seq2seq", "m", "ctranslate2")
        Executed(executor, executor.identity, 64, cache, "fp").summarise(texts, kind="article")
        assert engine.calls == [("article", 64), ("article", 36)]
        if cache is not None:
            cache.close()


def test_only_changed_documents_reach_the_engine(
    tmp_path: Path, engines: list[FakeSummariser]
) -> None:
    paths = write_articles(tmp_path / "in", 4)
    options = Options(engine="extractive", cache=tmp_path / CACHE_FILENAME)
    make_digest([tmp_path / "in"], options)
    paths[2].write_text(paths[2].read_text().replace("The ", "A late ", 1))

    digest_ = make_digest([tmp_path / "in"], options)
    assert [kind_count for e in engines[1:] for kind_count in e.calls] == [
        ("article", 1),
        ("tldr", 1),
    ]
    assert digest_.articles[2].summary.startswith("article: A late")


def test_auto_uses_cached_seq2seq_and_falls_back_on_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[FakeSummariser] = []
    offline = {"now": False}

    def get_engine(name: str, *, model: str | None = None, **_: object) -> FakeSummariser:
        engine = FakeSummariser(name, model, unavailable=name == "seq2seq" and offline["now"])
        built.append(engine)
        return engine

    monkeypatch.setattr(digest.executing, "get_engine", get_engine)
    write_articles(tmp_path / "in", 2)
    options = Options(engine="auto", cache=tmp_path / CACHE_FILENAME)
    assert make_digest([tmp_path / "in"], options).engine == "seq2seq"

    # The model has gone, but every summary it wrote is cached: no engine, no notice.
    offline["now"] = True
    built.clear()
    again = make_digest([tmp_path / "in"], options)
    assert (again.engine, again.notices, again.diagnostics, built) == ("seq2seq", (), (), [])

    # A new document is a miss: seq2seq is tried, fails, and extractive takes over visibly.
    write_articles(tmp_path / "in", 1, start=5)
    fallback = make_digest([tmp_path / "in"], options)
    assert fallback.engine == "extractive"
    assert fallback.diagnostics and "Summaries are extractive because" in fallback.diagnostics[0]
    assert fallback.notices == ("Summaries are extractive: sentences chosen from each article.",)
    assert [e.name for e in built] == ["seq2seq", "extractive"]


def test_garbage_cache_file_is_moved_aside_with_a_warning(
    tmp_path: Path, engines: list[FakeSummariser], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / CACHE_FILENAME
    path.write_bytes(b"\x00\xffnot a database at all\x13" * 200)
    write_articles(tmp_path / "in", 2)
    with caplog.at_level(logging.WARNING, logger="digest"):
        result = make_digest([tmp_path / "in"], Options(engine="extractive", cache=path))
    assert len(result.articles) == 2
    assert "was unreadable" in caplog.text and "started a new one" in caplog.text
    aside = list(tmp_path.glob(f"{CACHE_FILENAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"\x00\xffnot a database")
    with SummaryCache(path) as cache:
        assert len(cache) > 0, "the rebuilt cache was not filled"


def test_damaged_pages_are_detected_too(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    with SummaryCache(path) as cache:
        cache.put_many((f"k{i}", Cached("x" * 2000, "extractive", None, None)) for i in range(50))
    # Keep SQLite's 100-byte header (so it still looks like a database), wreck the pages.
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 6] = b"\xa5" * (4096 * 5)
    path.write_bytes(bytes(data))
    with SummaryCache(path) as cache:
        assert cache.enabled
        assert cache.get_many(["k1"]) == {}
    assert list(tmp_path.glob(f"{CACHE_FILENAME}.corrupt-*"))


def newer_cache(path: Path, version: int = 99) -> bytes:
    """A cache file as a newer digest leaves it: rows this version could read, a table it
    does not know, and a schema number past its own. Its bytes, to compare."""
    with SummaryCache(path) as cache:
        cache.put_many(
            [("kept", Cached("a summary of the newer version's", "extractive", None, None))]
        )
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE feeds (url TEXT PRIMARY KEY)")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()  # the last connection: its journal is written into the file
    return path.read_bytes()


def test_a_cache_from_a_newer_version_is_left_alone(
    tmp_path: Path, engines: list[FakeSummariser], caplog: pytest.LogCaptureFixture
) -> None:
    """Two installations sharing one cache folder (cron's and an interactive one): the older
    runs without the cache, with one warning, and never moves it aside or rewrites it."""
    path = tmp_path / CACHE_FILENAME
    before = newer_cache(path)
    write_articles(tmp_path / "in", 2)
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="digest"):
            result = make_digest([tmp_path / "in"], Options(engine="extractive", cache=path))
        assert len(result.articles) == 2
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warning == (
            f"summary cache {path} was written by a newer version of digest (cache schema 99; "
            "this version reads up to 2); left as it is, and this run goes without it"
        )
        caplog.clear()
    assert len(engines) == 2, "the second run was answered from a cache it should not use"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", CACHE_FILENAME]
    assert path.read_bytes() == before


def test_migrating_never_writes_an_older_schema_over_a_newer_one(tmp_path: Path) -> None:
    """A newer digest may create or upgrade the file between this one's first look and its
    migration (which looks again, under the write lock)."""
    path = tmp_path / CACHE_FILENAME
    newer_cache(path, version=3)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(digest.cache.NewerCache, match="cache schema 3"):
            digest.cache._migrate(db)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        assert not db.in_transaction
    finally:
        db.close()


def test_unwritable_cache_folder_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="digest"):
        cache = SummaryCache(blocker / "sub" / CACHE_FILENAME)
    assert not cache.enabled and "running without it" in caplog.text
    cache.put_many([("k", Cached("s", "extractive", None, None))])
    assert cache.get_many(["k"]) == {}


# --- real processes ------------------------------------------------------------------------------


def test_fully_cached_run_imports_no_torch_and_builds_no_engine(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 3)
    args = ("make", "in", "-o", "out", "-e", "seq2seq", "--cache-dir", "cache", "-q")
    first = run(tmp_path, *args)
    assert first.returncode == 0, first.stderr

    report = tmp_path / "report.json"
    second = run(tmp_path, *args, FAKE_ENGINE_FORBID="1", FAKE_ENGINE_REPORT=str(report))
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert json.loads(report.read_text()) == {
        "torch": False,
        "transformers": False,
        "engines_built": 0,
    }


def test_cache_dir_from_environment_and_no_cache(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    calls = tmp_path / "calls.txt"
    env = {"DIGEST_CACHE_DIR": str(tmp_path / "envcache"), "FAKE_ENGINE_CALLS": str(calls)}
    assert run(tmp_path, "make", "in", "-e", "extractive", **env).returncode == 0
    assert (tmp_path / "envcache" / CACHE_FILENAME).is_file()
    assert run(tmp_path, "make", "in", "-e", "extractive", **env).returncode == 0

    def engine_calls() -> list[str]:
        return [line for line in calls.read_text().splitlines() if not line.endswith(" 0")]

    assert engine_calls() == ["article 2", "tldr 2"]  # the first run only
    assert run(tmp_path, "make", "in", "-e", "extractive", "--no-cache", **env).returncode == 0
    assert engine_calls() == ["article 2", "tldr 2"] * 2


def test_corrupt_cache_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 2)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILENAME).write_bytes(b"garbage" * 1000)
    result = run(tmp_path, "make", "in", "-e", "extractive", "--cache-dir", "cache", "-q")
    assert result.returncode == 0, result.stderr
    assert "WARNING summary cache" in result.stderr and "was unreadable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 20)
    cache = str(tmp_path / "cache")
    procs = [
        subprocess.Popen(
            [sys.executable, RUNNER, "make", "in", "-o", f"out{n}", "--cache-dir", cache, "-q"],
            cwd=tmp_path,
            env=runner_env(FAKE_ENGINE_DELAY="0.01"),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
    with sqlite3.connect(tmp_path / "cache" / CACHE_FILENAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM summaries").fetchone()[0] >= 40


def test_second_run_over_100_bbc_articles_is_fully_cached(tmp_path: Path) -> None:
    """The issue's benchmark as a behaviour: the real extractive engine, 100 real articles.
    (Its speed, under 2 s, is measured by hand; here: no engine is built the second time.)"""
    pairs = shared_path("data", "bbc-news-summary", "pairs.jsonl")
    folder = tmp_path / "bbc"
    folder.mkdir()
    with pairs.open(encoding="utf-8") as lines:
        for n, line in zip(range(100), lines, strict=False):
            (folder / f"{n:03d}.txt").write_text(json.loads(line)["article"], encoding="utf-8")
    args = ("make", "bbc", "-e", "extractive", "--cache-dir", "cache", "-q")
    first = run(tmp_path, *args, FAKE_ENGINE="real")
    assert first.returncode == 0, first.stderr
    digest_file = Path(tmp_path, first.stdout.strip())
    before = digest_file.read_bytes()

    report = tmp_path / "report.json"
    second = run(
        tmp_path, *args, FAKE_ENGINE="real", FAKE_ENGINE_FORBID="1", FAKE_ENGINE_REPORT=str(report)
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(report.read_text())["engines_built"] == 0
    assert digest_file.read_bytes() == before


# --- failures, precisely ---------------------------------------------------------------------


def test_a_rebuilt_cache_says_where_the_old_file_went(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / CACHE_FILENAME
    path.write_bytes(b"not a database " * 100)
    # A stale journal of the damaged file must not be replayed into the new one.
    Path(f"{path}-wal").write_bytes(b"stale wal " * 100)
    Path(f"{path}-shm").write_bytes(b"stale shm " * 100)
    with caplog.at_level(logging.WARNING, logger="digest"), SummaryCache(path) as cache:
        assert cache.enabled and len(cache) == 0
        cache.put_many([("k", Cached("s", "extractive", None, None))])
        assert len(cache) == 1
    (aside,) = tmp_path.glob(f"{CACHE_FILENAME}.corrupt-*")
    assert re.fullmatch(rf"{re.escape(CACHE_FILENAME)}\.corrupt-\d{{8}}T\d{{6}}", aside.name)
    for suffix in ("-wal", "-shm"):
        journal = Path(f"{path}{suffix}")
        assert not journal.exists() or not journal.read_bytes().startswith(b"stale")
    (record,) = [r for r in caplog.records if "was unreadable" in r.getMessage()]
    assert record.getMessage() == (
        f"summary cache {path} was unreadable (file is not a database); moved it to "
        f"{aside.name} and started a new one"
    )


def test_a_cache_that_cannot_be_moved_aside_runs_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / CACHE_FILENAME
    path.write_bytes(b"not a database " * 100)

    def refuse(*args: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(digest.cache.os, "replace", refuse)
    with caplog.at_level(logging.WARNING, logger="digest"):
        cache = SummaryCache(path)
    assert not cache.enabled and len(cache) == 0
    assert cache.get_many(["k"]) == {}
    assert caplog.records[-1].getMessage() == (
        f"summary cache {path} is unreadable (file is not a database) and could not be "
        "replaced (read-only file system); running without it"
    )


@pytest.mark.parametrize(
    ("error", "corrupt"),
    [
        (sqlite3.OperationalError("database disk image is malformed"), True),
        (sqlite3.OperationalError("database is locked"), False),
        (sqlite3.OperationalError("disk I/O error"), False),
        (sqlite3.DatabaseError("file is not a database"), True),
    ],
)
def test_which_errors_mean_a_damaged_file(error: sqlite3.DatabaseError, corrupt: bool) -> None:
    assert digest.cache._is_corruption(error) is corrupt


class FailingConnection:
    """Stands in for the open SQLite connection once the file goes bad under a running cache."""

    def __init__(self, error: sqlite3.Error) -> None:
        self.error = error

    def execute(self, *args: object) -> None:
        raise self.error

    def close(self) -> None:
        pass


def test_a_locked_cache_skips_one_read_or_write_and_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / CACHE_FILENAME
    cache = SummaryCache(path)
    real = cache._db
    cache._db = FailingConnection(sqlite3.OperationalError("database is locked"))  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="digest"):
        assert cache.get_many(["k"]) == {}
        cache.put_many([("k", Cached("s", "extractive", None, None))])
    assert [r.getMessage() for r in caplog.records] == [
        f"summary cache {path}: could not read (database is locked)",
        f"summary cache {path}: could not write (database is locked)",
    ]
    assert cache.enabled and not list(tmp_path.glob("*.corrupt-*"))
    assert real is not None
    real.close()


def test_a_cache_damaged_while_open_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILENAME
    cache = SummaryCache(path)
    assert cache._db is not None
    cache._db.close()
    cache._db = FailingConnection(sqlite3.DatabaseError("database disk image is malformed"))  # type: ignore[assignment]
    assert cache.get_many(["k"]) == {}
    assert cache.enabled and len(list(tmp_path.glob("*.corrupt-*"))) == 1
    cache.put_many([("k", Cached("s", "extractive", None, None))])
    assert cache.get_many(["k"])["k"].summary == "s"
    cache.close()
    assert not cache.enabled and len(cache) == 0
