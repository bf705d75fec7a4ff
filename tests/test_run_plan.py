"""The run plan: every decision made once per run, paths expanded once, nothing steered by the
environment but the CLI's own option defaults."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fake_engine import FakeSummariser, write_articles
from typer.testing import CliRunner

from digest import cli
from digest.pipeline import Options, make_digest
from digest.run_plan import LARGE_BATCH, RunPlan, plan_run

PACKAGE = Path(__file__).resolve().parent.parent / "digest"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often a run resolves the backend, fingerprints an engine and plans itself."""
    import digest.pipeline
    import digest.run_plan

    calls = {"backend": 0, "fingerprint": 0, "plan": 0}

    def counting(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    ct2 = digest.engines.ctranslate2_backend
    monkeypatch.setattr(ct2, "expected_backend", counting("backend", ct2.expected_backend))
    keys = digest.cache_keys
    monkeypatch.setattr(
        keys, "engine_fingerprint", counting("fingerprint", keys.engine_fingerprint)
    )
    monkeypatch.setattr(digest.pipeline, "plan_run", counting("plan", digest.run_plan.plan_run))
    monkeypatch.setattr(
        digest.executing, "get_engine", lambda name, **kw: FakeSummariser("seq2seq", "m")
    )
    return calls


def test_a_run_plans_resolves_and_fingerprints_once(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    write_articles(tmp_path / "in", 6)
    options = Options(engine="seq2seq", model="m", backend="transformers", cache=tmp_path / "c")
    first = make_digest([tmp_path / "in"], options)
    assert len(first.articles) == 6
    assert counted == {"backend": 1, "fingerprint": 1, "plan": 1}
    # A second, fully cached run: the same one of each.
    assert make_digest([tmp_path / "in"], options).articles == first.articles
    assert counted == {"backend": 2, "fingerprint": 2, "plan": 2}


def test_a_plan_names_the_model_backend_and_batches() -> None:
    plan = plan_run(Options(model="fast", backend="ctranslate2"))
    assert (plan.engine, plan.model, plan.backend, plan.lookup) == (
        "auto",
        "t5-small",
        "ctranslate2",
        ("ctranslate2",),
    )
    assert plan.batch_size == LARGE_BATCH
    assert plan_run(Options(backend="transformers")).batch_size == 32
    assert plan_run(Options(engine_options={"batch_size": 8})).batch_size == 8
    assert plan_run(Options(engine="extractive")).model is None


def test_a_plan_refuses_an_unknown_order_and_a_negative_budget() -> None:
    from digest.errors import UsageError

    with pytest.raises(UsageError, match="alphabetical"):
        plan_run(Options(engine="extractive", order="alphabetical"))
    with pytest.raises(UsageError, match="max_words"):
        plan_run(Options(engine="extractive", max_words=-1))
    assert plan_run(Options(engine="extractive", order="date", max_words=0)).engine == "extractive"


def test_the_backend_has_one_spelling() -> None:
    with pytest.raises(TypeError, match="backend"):
        Options(engine_options={"backend": "transformers"})


def test_a_plan_expands_its_paths_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    plan: RunPlan = plan_run(Options(cache=Path("~/c/summaries.sqlite3")))
    assert plan.cache == tmp_path / "c" / "summaries.sqlite3"
    assert plan.conversions == tmp_path / "c" / "ct2"
    assert plan_run(Options(cache=Path("rel/s.sqlite3"))).cache == tmp_path / "rel" / "s.sqlite3"


def test_an_unexpanded_cache_dir_from_cron_lands_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """crontab passes DIGEST_CACHE_DIR='~/c' as written: the cache goes to $HOME/c, never to a
    folder named '~' in the working folder."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    write_articles(work / "in", 1)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DIGEST_CACHE_DIR", "~/c")
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli.app, ["make", "in", "-e", "extractive", "-o", "out", "-q"])
    assert result.exit_code == 0, result.output
    assert (home / "c" / "summaries.sqlite3").is_file()
    assert not (work / "~").exists()


def conversions_in(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "ct2").iterdir()) if (folder / "ct2").is_dir() else []


def test_eval_cache_dir_keeps_the_converted_models(
    tiny_t5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ctranslate2")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("DIGEST_CACHE_DIR", str(elsewhere))  # --cache-dir wins over it
    pairs = tmp_path / "pairs.jsonl"
    from tiny_models import make_text

    rows = [{"article": make_text(120, seed=n), "reference": make_text(20, seed=n)} for n in (1, 2)]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    chosen = tmp_path / "chosen"
    args = ["eval", str(pairs), "-e", "seq2seq", "-m", str(tiny_t5), "--backend", "ctranslate2"]
    args += ["-g", "max_new_tokens=8", "--cache-dir", str(chosen), "-q"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert len(conversions_in(chosen)) == 1
    assert conversions_in(elsewhere) == []


def test_cache_prune_prunes_the_conversions_runs_use(tiny_t5: Path, tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    cache = tmp_path / "cache"
    write_articles(tmp_path / "in", 2)
    make = ["make", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-e", "seq2seq"]
    make += ["-m", str(tiny_t5), "--backend", "ctranslate2", "-g", "max_new_tokens=8"]
    result = CliRunner().invoke(cli.app, [*make, "--cache-dir", str(cache), "-q"])
    assert result.exit_code == 0, result.output
    (converted,) = conversions_in(cache)
    long_ago = 1_000_000_000
    os.utime(cache / "ct2" / converted, (long_ago, long_ago))
    pruned = CliRunner().invoke(
        cli.app, ["cache", "prune", "--older-than", "30d", "--cache-dir", str(cache)]
    )
    assert pruned.exit_code == 0, pruned.output
    assert conversions_in(cache) == []


def test_the_library_honours_its_fetch_policy_as_given(tmp_path: Path) -> None:
    """Options.max_bytes bounds files; a caller's own WebOptions bound what feeds may be."""
    from feed_fixtures import Item, full_article, rss

    from digest.http import FetchPolicy
    from digest.sources.web import WebOptions

    feed = tmp_path / "news.rss"
    items = [Item(f"Story {n}", content=full_article(300)) for n in range(3)]
    feed.write_bytes(rss("News", items))
    assert feed.stat().st_size > 2_000
    strict = WebOptions(http=FetchPolicy(max_bytes=2_000), fetch_articles=False)
    options = Options(engine="extractive", max_bytes=10_000_000, web=strict)
    digest_ = make_digest([feed], options)
    assert not digest_.articles and len(digest_.skipped) == 1
    loose = make_digest([feed], Options(engine="extractive", max_bytes=10_000_000))
    assert len(loose.articles) == 3


def test_the_cache_folder_is_read_from_the_environment_only_by_the_cli_options() -> None:
    """DIGEST_CACHE_DIR names the default of the CLI's --cache-dir (typer's envvar=): no other
    code reads it, so a library caller, `digest eval` and pruning see the folder they are
    given, never one the environment carries."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "envvar":
                allowed.add(id(node.value))
            # `name not in (...)`: the schedule leaves the variable out of the cron line it
            # writes (it names the folder itself); that compares names and reads no value.
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.NotIn):
                for side in node.comparators:
                    allowed.update(id(e) for e in getattr(side, "elts", []))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "DIGEST_CACHE_DIR" in node.value
                and not node.value.strip().count("\n")  # docstrings may name it
                and id(node) not in allowed
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == [], found
