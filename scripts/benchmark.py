"""Benchmark: the digest pipeline's seq2seq engine against a plain one-generate()-per-text loop.

Both sides run a real-size t5-small with random weights (built from ../shared's config and
tokenizer; no hub needed) at identical decoding settings, with output lengths forced equal
(min_new_tokens = max_new_tokens) so that random weights cost what trained ones do. Each side
runs in its own process so that its peak memory (ru_maxrss) is its own.

    python scripts/benchmark.py   # default run, writes docs/benchmarks/batching.md
    python scripts/benchmark.py --limit 20 --no-write
    python scripts/benchmark.py --limit 24 --beams 4 --tokens 40 --repeat 1 --whole-process \
        --output docs/benchmarks/ctranslate2.md

docs/benchmarks.md is the hand-written summary of those two reports (`make bench` runs both).

With ctranslate2 installed (it comes with digest on x86_64 and ARM64) the pipeline also runs
on that backend, and --whole-process adds `digest make` timed as a whole process (startup,
conversion or its cache, rendering) against the baseline's whole process.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("data", "bbc-news-summary", "pairs.jsonl")
ARCHITECTURE = Path("models", "t5-small-architecture")
PREFIX = "summarize: "  # t5-small's task prefix, as a user would write it (and prompts/t5.j2)


def decoding(beams: int, tokens: int) -> dict[str, Any]:
    """t5-small's own summarization settings, with the output length fixed."""
    settings: dict[str, Any] = {
        "num_beams": beams,
        "no_repeat_ngram_size": 3,
        "min_new_tokens": tokens,
        "max_new_tokens": tokens,
    }
    if beams > 1:
        settings.update(length_penalty=2.0, early_stopping=True)
    return settings


def select_articles(pairs: Path, limit: int) -> list[dict[str, str]]:
    """`limit` articles spread evenly over the file (which is sorted by category)."""
    rows = [json.loads(line) for line in pairs.read_text(encoding="utf-8").splitlines() if line]
    step = max(1, len(rows) // limit)
    return rows[::step][:limit]


def build_model(architecture: Path, folder: Path) -> None:
    """A random-weight t5-small saved like any checkpoint (safetensors + tokenizer)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, T5ForConditionalGeneration

    torch.manual_seed(0)
    T5ForConditionalGeneration(AutoConfig.from_pretrained(architecture)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(architecture).save_pretrained(folder)


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux and bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


# -- the two workers, each run in a fresh process


def run_baseline(
    model: Path, files: list[Path], settings: dict[str, Any], engine_options: dict[str, Any]
) -> dict[str, Any]:
    """What a user would write: load the model, then one generate() call per text."""
    started = time.perf_counter()
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    network = AutoModelForSeq2SeqLM.from_pretrained(model)
    loaded = time.perf_counter()
    summaries = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        # truncation: the usual way a script copes with texts over the 512-token limit.
        inputs = tokenizer(PREFIX + text, return_tensors="pt", truncation=True, max_length=512)
        output = network.generate(**inputs, **settings)
        summaries.append(tokenizer.decode(output[0], skip_special_tokens=True))
    done = time.perf_counter()
    return {
        "load_s": loaded - started,
        "run_s": done - loaded,
        "documents": len(summaries),
        "threads": torch.get_num_threads(),
        "model_inputs": len(files),
    }


def run_pipeline(
    model: Path, files: list[Path], settings: dict[str, Any], engine_options: dict[str, Any]
) -> dict[str, Any]:
    """The library's own path: read the files, resolve the engine, summarise every document."""
    from digest.executing import build_engine
    from digest.options import Options
    from digest.reading import read_sources
    from digest.run_plan import plan_run
    from digest.summary_tree import summarise_documents

    started = time.perf_counter()
    extra = dict(engine_options)
    # The library takes the conversions folder as an argument; this script's parent process
    # names a scratch cache folder in DIGEST_CACHE_DIR, as it does for `digest make`.
    cache_dir = os.environ.get("DIGEST_CACHE_DIR")
    options = Options(
        engine="seq2seq",
        model=str(model),
        backend=extra.pop("backend", "auto"),
        generate=settings,
        engine_options=extra,
        conversions=Path(cache_dir) / "ct2" if cache_dir else None,
    )
    engine, _ = build_engine(plan_run(options).spec)  # loads the model
    loaded = time.perf_counter()
    documents, skipped, _ = read_sources(files)
    articles = summarise_documents(documents, engine)
    done = time.perf_counter()
    import datetime

    from digest.model import Digest
    from digest.render import render_markdown

    today = datetime.date.today()
    render_markdown(Digest(date=today, engine="seq2seq", model=None, articles=tuple(articles)))
    rendered = time.perf_counter()
    import torch

    stats = getattr(engine, "stats", {})
    timings = getattr(engine, "timings", {})
    return {
        "backend": engine.backend,
        "tokenise_s": timings.get("tokenise"),
        "generate_s": timings.get("generate"),
        "render_s": rendered - done,
        "load_s": loaded - started,
        "run_s": done - loaded,
        "documents": len(articles),
        "skipped": len(skipped),
        "threads": torch.get_num_threads(),
        "model_inputs": stats.get("inputs"),
        "batches": stats.get("batches"),
        "map_reduced": stats.get("map_reduced"),
        "sections": sum(len(a.sections) for a in articles),
    }


def worker(args: argparse.Namespace) -> None:
    files = [Path(f) for f in json.loads(Path(args.files).read_text())]
    settings = json.loads(args.settings)
    run = run_baseline if args.worker == "baseline" else run_pipeline
    result = run(Path(args.model), files, settings, json.loads(args.engine_options))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


# -- the driver


def spawn(
    kind: str, model: Path, files: Path, settings: dict[str, Any], engine_options: str
) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # The engine makes idle OpenMP threads sleep (see seq2seq.prepare); the baseline gets the
    # same, so the comparison measures batching, not thread contention on a shared machine.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if kind != "baseline":
        backend = "ctranslate2" if kind == "pipeline-ct2" else "transformers"
        engine_options = json.dumps({**json.loads(engine_options), "backend": backend})
    command = [
        sys.executable,
        __file__,
        "--worker",
        "baseline" if kind == "baseline" else "pipeline",
        "--model",
        str(model),
        "--files",
        str(files),
        "--settings",
        json.dumps(settings),
        "--engine-options",
        engine_options,
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"{kind} run failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def machine() -> str:
    from digest.engines.loading import usable_cores

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {usable_cores()} usable cores{memory}, {platform.system()} {platform.release()}"


def versions() -> str:
    import tokenizers
    import torch
    import transformers

    return (
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"
    )


def report(
    args: argparse.Namespace,
    results: dict[str, list[dict[str, Any]]],
    load: str,
    minutes: float,
    whole: list[str],
) -> str:
    def best(kind: str) -> dict[str, Any]:
        return min(results[kind], key=lambda r: float(r["run_s"]))

    def per_minute(r: dict[str, Any]) -> float:
        return 60 * r["documents"] / r["run_s"]

    base, pipe = best("baseline"), best("pipeline")
    speedup = per_minute(pipe) / per_minute(base)
    fast = best("pipeline-ct2") if results.get("pipeline-ct2") else None
    settings = ", ".join(f"{k}={v}" for k, v in decoding(args.beams, args.tokens).items())
    command = (
        f"python scripts/benchmark.py --limit {args.limit} --beams {args.beams} "
        f"--tokens {args.tokens} --repeat {args.repeat}"
        + (" --whole-process" if args.whole_process else "")
    )
    rows = [
        "| | documents/minute | vs baseline | run (s), each repeat | model load (s) "
        "| peak RSS (MiB) | model inputs | threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sides = [
        ("baseline", base, "baseline: one `generate()` per text"),
        ("pipeline", pipe, "digest pipeline, transformers backend"),
    ]
    if fast is not None:
        sides.append(("pipeline-ct2", fast, "digest pipeline, ctranslate2 backend (int8)"))
    for kind, r, label in sides:
        runs = ", ".join(f"{x['run_s']:.1f}" for x in results[kind])
        peak = max(x["peak_rss_mb"] for x in results[kind])
        ratio = per_minute(r) / per_minute(base)
        rows.append(
            f"| {label} | {per_minute(r):.1f} | {ratio:.2f}x | {runs} | {r['load_s']:.1f} "
            f"| {peak:.0f} | {r['model_inputs']} | {r['threads']} |"
        )
    breakdown = []
    for _kind, r, label in sides[1:]:
        other = r["run_s"] - r["tokenise_s"] - r["generate_s"]
        breakdown.append(
            f"- {label}: tokenising {r['tokenise_s']:.1f} s, model (encoder + decoder)"
            f" {r['generate_s']:.1f} s, reading and the rest {other:.1f} s, rendering"
            f" Markdown {r['render_s']:.2f} s."
        )
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `scripts/benchmark.py` (`make bench`); rerun it to update this page.",
            "",
            f"## Seq2seq engine vs a plain generate() loop ({_dt.date.today().isoformat()})",
            "",
            *rows,
            "",
            f"**Speed-up: {speedup:.2f}x** in documents per minute (best repeat of each side,"
            " all from one run; the sides alternate so both see the same background load).",
            "",
            f"- Command: `{command}` (the whole run took {minutes:.1f} minutes)",
            f"- Machine: {machine()}; load average {load}",
            f"- Software: {versions()}",
            f"- Input: {pipe['documents']} BBC News articles from `../shared/{DATA}`,"
            " spread evenly over the file (all five categories).",
            "- Model: the t5-small architecture and tokenizer from"
            " `../shared/models/t5-small-architecture` with random weights, saved with"
            " `save_pretrained` and loaded from that folder.",
            f"- Decoding, identical on both sides: {settings}. Output lengths are forced"
            " equal so that random weights cost what trained ones do.",
            "- Each side runs in its own process; peak RSS is that process's `ru_maxrss`"
            " (model included). Both run with `OMP_WAIT_POLICY=PASSIVE`, which the engine sets"
            " for itself, so the difference is the engine's work, not thread contention.",
            "",
            "What differs:",
            "",
            "- The baseline truncates each text at 512 tokens, as a short script does. The"
            f" pipeline reads every token: {pipe['map_reduced']} of the {pipe['documents']}"
            " articles are longer than t5-small's window and are summarised map-reduce (chunk"
            " summaries, then a summary of those), so it feeds the model"
            f" {pipe['model_inputs']} inputs to the baseline's {base['model_inputs']}.",
            f"- The engine sorts all inputs by length and runs {pipe['batches']} batched"
            " `generate()` calls under `torch.inference_mode()`, with threads set to the cores"
            " the process may use.",
            "- Timings exclude model loading; the pipeline's include reading and sectioning"
            f" the files ({pipe['sections']} sections in all).",
            "- The pipeline's extra memory is its batches (up to 32 texts of up to 512 tokens"
            " here); the engine option `batch_tokens` trades it for speed.",
            "",
            "Where the pipeline's run time goes:",
            "",
            *breakdown,
            "",
            *whole,
        ]
    )


def process_usage(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads) and peak RSS (MiB) of `command`
    as a whole process, startup included."""
    # A wrapper process per command, so RUSAGE_CHILDREN counts that command alone.
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command], capture_output=True, text=True, env=env
    )
    wall, cpu, peak, code = result.stdout.split()
    if code != "0":
        sys.exit(f"{command[:3]} failed:\n{result.stderr[-4000:]}")
    return float(wall), float(cpu), int(peak) / (1024 * 1024 if sys.platform == "darwin" else 1024)


def whole_process(args: argparse.Namespace, folder: Path, settings: dict[str, Any]) -> list[str]:
    """`digest make` (ctranslate2 converting, then cached) vs the baseline, as whole processes."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # This checkout's digest, as the in-process rows use (spawn): the `digest` script beside
    # the interpreter would otherwise import whichever checkout the venv was installed from.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["DIGEST_CACHE_DIR"] = str(folder / "whole-cache")  # fresh: the first run converts
    model = folder / "t5-small-random"
    baseline = [sys.executable, __file__, "--worker", "baseline", "--model", str(model)]
    baseline += ["--files", str(folder / "files.json"), "--settings", json.dumps(settings)]
    baseline += ["--engine-options", "{}"]
    digest = str(Path(sys.executable).with_name("digest"))
    make = [digest, "make", str(folder / "articles"), "-e", "seq2seq", "-m", str(model), "-q"]
    for key in ("num_beams", "min_new_tokens", "max_new_tokens"):
        make += ["--generate", f"{key}={settings[key]}"]
    make += ["--no-cache", "-f", "md,json"]
    runs = [("baseline script: load, one `generate()` per text", baseline)]
    if importlib.util.find_spec("ctranslate2") is not None:
        ct2 = [*make, "--backend", "ctranslate2"]
        runs += [
            ("`digest make --backend ctranslate2`, first run (converts)", ct2),
            ("`digest make --backend ctranslate2`, conversion cached", ct2),
        ]
    runs.append(("`digest make --backend transformers`", [*make, "--backend", "transformers"]))
    rows = [
        "## Whole processes: `digest make` vs the baseline script",
        "",
        "| | wall (s) | vs baseline | peak RSS (MiB) |",
        "|---|---:|---:|---:|",
    ]
    base = None
    for n, (label, command) in enumerate(runs):
        if command[0] == digest:
            command = [*command, "-o", str(folder / f"out-{n}")]
        print(f"whole process: {label}...", file=sys.stderr)
        seconds, _, peak = process_usage(command, env)
        base = base or seconds
        rows.append(f"| {label} | {seconds:.1f} | {base / seconds:.2f}x | {peak:.0f} |")
    settings_text = " ".join(
        f"--generate {k}={settings[k]}" for k in ("num_beams", "min_new_tokens", "max_new_tokens")
    )
    return [
        *rows,
        "",
        f"- Commands: `digest make ARTICLES -e seq2seq -m MODEL {settings_text} --no-cache"
        " -f md,json -q --backend ctranslate2|transformers -o OUT` and `python"
        " scripts/benchmark.py --worker baseline ...` (the baseline above), each timed from"
        " spawn to exit: interpreter start, imports, model load (and conversion), every"
        " summary, writing the digest.",
        "- The first ctranslate2 run converts the checkpoint into an empty cache folder; the"
        " second finds it there (as every later run does).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--limit", type=int, default=100, help="articles to summarise")
    parser.add_argument("--beams", type=int, default=1, help="num_beams, both sides")
    parser.add_argument("--tokens", type=int, default=64, help="output tokens, forced")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side, alternating")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks" / "batching.md")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    parser.add_argument(
        "--engine-options", default="{}", help='engine options as JSON, e.g. {"batch_size": 32}'
    )
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="also time `digest make` and the baseline as whole processes",
    )
    parser.add_argument("--worker", choices=["baseline", "pipeline"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    missing = [p for p in (args.shared / DATA, args.shared / ARCHITECTURE) if not p.exists()]
    if missing:
        print(
            f"benchmark skipped: {missing[0]} is absent (../shared is only on the team's machines)",
            file=sys.stderr,
        )
        sys.exit(0)

    settings = decoding(args.beams, args.tokens)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        folder = Path(tmp)
        print("building a random-weight t5-small...", file=sys.stderr)
        build_model(args.shared / ARCHITECTURE, folder / "t5-small-random")
        # The articles go to a scratch folder for this run only, never into the repository.
        files = []
        (folder / "articles").mkdir()
        for row in select_articles(args.shared / DATA, args.limit):
            path = folder / "articles" / f"{row['id'].replace('/', '-')}.txt"
            path.write_text(row["article"], encoding="utf-8")
            files.append(str(path))
        listing = folder / "files.json"
        listing.write_text(json.dumps(files))
        load_before = os.getloadavg()[0]
        kinds = ["baseline", "pipeline"]
        if importlib.util.find_spec("ctranslate2") is not None:
            kinds.append("pipeline-ct2")
            # The converted copy goes to a scratch cache: the first run converts, the rest reuse.
            os.environ["DIGEST_CACHE_DIR"] = str(folder / "cache")
        results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for repeat in range(1, args.repeat + 1):
            for kind in kinds:
                print(f"{kind}, run {repeat}: {len(files)} articles...", file=sys.stderr)
                result = spawn(
                    kind, folder / "t5-small-random", listing, settings, args.engine_options
                )
                print(json.dumps(result), file=sys.stderr)
                results[kind].append(result)
        whole = whole_process(args, folder, settings) if args.whole_process else []
        load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    text = report(args, results, load, (time.perf_counter() - began) / 60, whole)
    print(text)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
