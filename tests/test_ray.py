"""--executor ray: the same digest as a local run, from a Ray session in local mode (2 CPUs)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_engine import write_articles
from ray_hooks import hook_model
from tiny_models import make_text

from digest.pipeline import Options, make_digest
from digest.render import render_json
from digest.sources import display_path

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """One local Ray instance for the module (starting one costs seconds): 2 CPUs, and the
    test hooks (tests/ray_hooks.py) in every worker."""
    ray = pytest.importorskip(
        "ray", reason="the ray extra is not installed (pip install 'article-digest[ray]')"
    )
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={
            "env_vars": {"PYTHONPATH": path},
            "worker_process_setup_hook": "ray_hooks.install",
        },
    )
    yield ray
    ray.shutdown()


def corpus(folder: Path) -> Path:
    """Documents of every shape: multi-section, single-section, short (quoted), unreadable."""
    folder.mkdir()
    for n in range(6):
        sections = "\n\n".join(
            f"## Part {s}\n\n{make_text(90 + 20 * s, seed=n * 10 + s)}" for s in range(3)
        )
        (folder / f"long-{n}.md").write_text(f"# Story {n}\n\n{sections}\n", encoding="utf-8")
    write_articles(folder, 4)
    (folder / "brief.txt").write_text("A brief\n\nThe council met. It agreed.\n", encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\x00\x01\x02binary\xff" * 50)
    return folder


def as_json(options: Options, folder: Path, executor: str, **ray: Any) -> dict[str, Any]:
    from digest.cluster import RaySettings

    chosen = replace(options, executor=executor, ray=RaySettings(**ray) if ray else None)
    data = json.loads(render_json(make_digest([folder], chosen)))
    assert data.pop("executor") == executor
    return data


def same_digest(options: Options, folder: Path) -> dict[str, Any]:
    local = as_json(options, folder, "local")
    on_ray = as_json(options, folder, "ray", workers=2)
    assert on_ray == local
    return local


def test_extractive_on_ray_writes_the_local_digest(ray_session: Any, tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in")
    local = same_digest(Options(engine="extractive", cache=None), folder)
    assert len(local["documents"]) == 11
    assert local["skipped"][0]["path"] == display_path(folder / "broken.txt")


def test_auto_falls_back_on_the_workers_with_the_local_notice(
    ray_session: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = Options(engine="auto", model="no-such-org/no-such-model", cache=None)
    local = same_digest(options, corpus(tmp_path / "in"))
    assert local["engine"] == "extractive"
    # The why and the fix reach the driver's log once per run, wherever the engine was built.
    advice = [r for r in caplog.records if "seq2seq model no-such-org" in r.getMessage()]
    assert [r.levelname for r in advice] == ["WARNING", "WARNING"]  # the local run, the Ray run
    assert local["notices"] == ["Summaries are extractive: sentences chosen from each article."]


def test_an_unloadable_seq2seq_model_fails_the_ray_run_with_the_local_line(
    ray_session: Any, tmp_path: Path
) -> None:
    from digest.errors import ModelUnavailable

    options = Options(engine="seq2seq", model="no-such-org/no-such-model", cache=None)
    folder = corpus(tmp_path / "in")
    with pytest.raises(ModelUnavailable) as local:
        as_json(options, folder, "local")
    with pytest.raises(ModelUnavailable) as on_ray:
        as_json(options, folder, "ray", workers=1)
    assert str(on_ray.value) == str(local.value)


def test_tiny_t5_with_transformers_on_ray(ray_session: Any, tiny_t5: Path, tmp_path: Path) -> None:
    options = Options(
        engine="seq2seq",
        model=str(tiny_t5),
        backend="transformers",
        generate={"num_beams": 2, "max_new_tokens": 24},
        cache=None,
    )
    local = same_digest(options, corpus(tmp_path / "in"))
    assert (local["engine"], local["backend"]) == ("seq2seq", "transformers")


def test_tiny_t5_with_ctranslate2_on_ray(ray_session: Any, tiny_t5: Path, tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    options = Options(
        engine="seq2seq",
        model=str(tiny_t5),
        backend="ctranslate2",
        generate={"num_beams": 2, "max_new_tokens": 24},
        cache=None,
    )
    local = same_digest(options, corpus(tmp_path / "in"))
    assert (local["engine"], local["backend"]) == ("seq2seq", "ctranslate2")


def sent_to_ray(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Texts handed to Ray workers, by kind, from here on (counted on the driver)."""
    from digest.cluster import RayExecutor

    sent: dict[str, int] = {}
    real = RayExecutor.run

    def counting(self: Any, kind: str, batches: Any, progress: Any) -> Any:
        sent[kind] = sent.get(kind, 0) + sum(len(b) for b in batches)
        return real(self, kind, batches, progress)

    monkeypatch.setattr(RayExecutor, "run", counting)
    return sent


def test_only_cache_misses_go_to_ray_and_answers_are_stored(
    ray_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = corpus(tmp_path / "in")
    options = Options(engine="extractive", cache=tmp_path / "cache.sqlite3")
    first = as_json(options, folder, "ray", workers=2)
    # Every summary is now cached: the local run loads no engine, and agrees.
    assert as_json(options, folder, "local") == first
    write_articles(folder, 1, start=50)
    sent = sent_to_ray(monkeypatch)
    again = as_json(options, folder, "ray", workers=2)
    assert sent == {"article": 1, "tldr": 1}  # the new article (one section: no bullets)
    assert as_json(replace(options, cache=None), folder, "local") == again


def test_the_summaries_are_made_in_ray_worker_processes(ray_session: Any, tmp_path: Path) -> None:
    """The engine records the process of every batch it summarises (tests/ray_hooks.py):
    all of them are Ray workers, none is this process."""
    folder = corpus(tmp_path / "in")
    log = tmp_path / "pids"
    log.mkdir()
    options = Options(engine="seq2seq", model=hook_model("pids", log), cache=None)
    as_json(options, folder, "ray", workers=2)
    batches = [line.split() for line in (log / "batches").read_text().splitlines()]
    assert {kind for _, kind in batches} == {"article", "tldr", "section"}
    pids = {int(pid) for pid, _ in batches}
    assert os.getpid() not in pids
    assert len(pids) <= 2  # two workers at most, each with its engine loaded once


def test_a_second_ray_run_answers_a_transformers_fallback_from_the_cache(
    ray_session: Any, tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under auto, a model that does not convert runs on transformers (in the workers) and
    its summaries are stored under that name; a second Ray run must find them there."""
    pytest.importorskip("ctranslate2")
    import shutil

    from digest.cache import SummaryCache

    model = tmp_path / "unconvertible-t5"  # tests/ray_hooks.py refuses to convert it
    shutil.copytree(tiny_t5, model)
    folder = corpus(tmp_path / "in")
    cache = tmp_path / "cache.sqlite3"
    options = Options(
        engine="seq2seq",
        model=str(model),
        generate={"num_beams": 1, "max_new_tokens": 8},
        engine_options={"threads": 1},
        cache=cache,
    )
    first = as_json(options, folder, "ray", workers=2)
    assert first["backend"] == "transformers"
    with SummaryCache(cache) as stored:
        rows = len(stored)
    sent = sent_to_ray(monkeypatch)
    assert as_json(options, folder, "ray", workers=2) == first
    assert sent == {}  # no worker was asked for anything
    with SummaryCache(cache) as stored:
        assert len(stored) == rows  # 0 newly written


def real_size_options(model: Path, backend: str) -> Options:
    return Options(
        engine="seq2seq",
        model=str(model),
        backend=backend,
        generate={"max_new_tokens": 12},
        cache=None,
    )


def bbc_corpus(folder: Path, count: int) -> Path:
    """`count` BBC articles from ../shared (read there, copied to a temporary folder only)."""
    from conftest import shared_path

    folder.mkdir()
    pairs = shared_path("data", "bbc-news-summary", "pairs.jsonl")
    with pairs.open(encoding="utf-8") as lines:
        for n, line in zip(range(count), lines, strict=False):
            pair = json.loads(line)
            (folder / f"bbc-{n:03d}.txt").write_text(
                f"{pair['title']}\n\n{pair['article']}\n", encoding="utf-8"
            )
    return folder


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_a_real_size_t5_on_ray_writes_the_local_digest_byte_for_byte(
    ray_session: Any, t5_small_random: Path, tmp_path: Path, backend: str
) -> None:
    """Real-size t5-small (random weights): batch composition moves its int8 and padded
    outputs, which a tiny model's do not; the same planned batches keep them equal."""
    if backend == "ctranslate2":
        pytest.importorskip("ctranslate2")
    folder = bbc_corpus(tmp_path / "in", 24)
    shutil_copy_seed(folder)
    options = real_size_options(t5_small_random, backend)
    chosen = replace(options, executor="ray", ray=None)
    from digest.cluster import RaySettings

    local = render_json(make_digest([folder], options))
    on_ray = render_json(make_digest([folder], replace(chosen, ray=RaySettings(workers=2))))
    assert json.loads(local)["backend"] == backend
    assert on_ray.replace('"executor": "ray"', '"executor": "local"') == local


def shutil_copy_seed(folder: Path) -> None:
    seed = TESTS.parent / "seeds"
    for path in seed.iterdir():
        if path.is_file() and not path.name.startswith("."):
            (folder / path.name).write_bytes(path.read_bytes())


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(
    ray_session: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write_articles(folder, 24)
    gate = tmp_path / "gate"
    gate.mkdir()
    options = Options(engine="seq2seq", model=hook_model("gated", gate), cache=None)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["json"] = as_json(options, folder, "ray", workers=2)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 180
    while not (gate / "pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = int((gate / "pids").read_text().split()[0])
    os.kill(victim, signal.SIGKILL)  # a worker dies holding a block of articles
    (gate / "open").touch()
    thread.join(timeout=300)
    assert not thread.is_alive()
    if "error" in result:
        raise result["error"]
    local = as_json(Options(engine="extractive", cache=None), folder, "local")
    paths = [d["path"] for d in result["json"]["documents"]]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == 24
    assert result["json"] == local
    # The block it held ran again in a fresh worker process.
    pids = (gate / "pids").read_text().split()
    assert len(pids) >= 2 and victim in map(int, pids)


def test_cli_ray_run_records_the_executor(ray_session: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from digest import cli

    folder = corpus(tmp_path / "in")
    outputs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        result = CliRunner().invoke(
            cli.app,
            [
                "make",
                str(folder),
                "-o",
                str(out),
                "-e",
                "extractive",
                "-f",
                "md,json",
                "--no-cache",
                "--date",
                "2026-11-30",
                "--executor",
                executor,
                "--workers",
                "2",
                "-q",
            ],
        )
        assert result.exit_code == 3, result.output  # broken.txt is skipped
        outputs[executor] = out
    local_md = (outputs["local"] / "digest-2026-11-30.md").read_text(encoding="utf-8")
    ray_md = (outputs["ray"] / "digest-2026-11-30.md").read_text(encoding="utf-8")
    assert ray_md == local_md
    data = json.loads((outputs["ray"] / "digest-2026-11-30.json").read_text(encoding="utf-8"))
    assert data["executor"] == "ray"


def test_without_the_extra_ray_is_one_line_naming_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from digest import cli

    monkeypatch.setitem(sys.modules, "ray", None)  # as on a machine without it
    (tmp_path / "a.txt").write_text(f"A\n\n{make_text(100)}\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "out"), "--executor", "ray"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "digest: error: --executor ray needs the ray extra: pip install 'article-digest[ray]'"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "dask"], "unknown executor 'dask'; choose one of: local, ray"),
        (["--executor", "ray", "--workers", "0"], "--workers must be at least 1, not 0"),
    ],
)
def test_bad_executor_options_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from typer.testing import CliRunner

    from digest import cli

    pytest.importorskip("ray") if "ray" in args else None
    result = CliRunner().invoke(cli.app, ["make", str(tmp_path), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_local_run_never_imports_ray(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "a.txt").write_text(f"A\n\n{make_text(100)}\n", encoding="utf-8")
    code = (
        "import sys\nfrom digest.pipeline import Options, make_digest\n"
        f"make_digest([{str(tmp_path)!r}], Options(engine='extractive'))\n"
        "print('ray' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("where", ["env", "config"])
def test_the_executor_comes_from_the_environment_or_digest_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from typer.testing import CliRunner

    from digest import cli

    (tmp_path / "a.txt").write_text(f"A\n\n{make_text(100)}\n", encoding="utf-8")
    args = ["make", str(tmp_path / "a.txt"), "-o", str(tmp_path / "out")]
    if where == "env":
        monkeypatch.setenv("DIGEST_EXECUTOR", "dask")
    else:
        config = tmp_path / "digest.toml"
        config.write_text('executor = "dask"\n', encoding="utf-8")
        args = ["--config", str(config), *args]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2
    assert "unknown executor 'dask'; choose one of: local, ray" in result.output


def test_a_cluster_that_cannot_be_joined_is_one_line(
    ray_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.cluster import RaySession, RaySettings
    from digest.errors import DigestError

    def refuse(**kwargs: Any) -> None:
        raise ConnectionError(f"Could not find any running Ray instance at {kwargs['address']}.")

    monkeypatch.setattr(ray_session, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_session, "init", refuse)
    with pytest.raises(DigestError) as caught, RaySession(RaySettings(address="head:6379")):
        pass
    assert str(caught.value) == (
        "could not start or join Ray (head:6379): Could not find any running Ray instance "
        "at head:6379."
    )


def test_a_feed_on_ray_gives_the_local_digest(
    ray_session: Any, tmp_path: Path, httpserver: Any
) -> None:
    from feed_fixtures import Item, full_article, rss

    items = [
        Item(f"Story {n}", link=f"https://news.example/{n}", content=full_article(400 + n))
        for n in range(3)
    ]
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss("News", items), content_type="application/rss+xml"
    )
    folder = corpus(tmp_path / "in")
    options = Options(engine="extractive", cache=None)
    sources = [str(folder), httpserver.url_for("/feed.xml")]
    local = json.loads(render_json(make_digest(sources, options)))
    from digest.cluster import RaySettings

    ray_options = replace(options, executor="ray", ray=RaySettings(workers=2))
    on_ray = json.loads(render_json(make_digest(sources, ray_options)))
    assert (local.pop("executor"), on_ray.pop("executor")) == ("local", "ray")
    assert on_ray == local
    assert [d.get("feed") for d in local["documents"]][-3:] == ["News"] * 3
