"""Benchmark: `digest make --backend ctranslate2` against bare CTranslate2 on the same inputs.

The bare side is the limit a digest worker can reach: a script that loads the same converted
model and sends the identical tokenised inputs, in the same batches and with the same decoding
settings, through `ctranslate2.Translator.translate_batch`, and nothing else (no reading, no
tokenising, no rendering). Both are timed as whole processes, from spawn to exit, alternately
(`--repeat` times each); the minima are compared, since on a shared machine the fastest run is
the one least disturbed by others.

    python scripts/bench_bare.py                      # writes docs/benchmarks/bare.md
    python scripts/bench_bare.py --repeat 3 --no-write
    python scripts/bench_bare.py --ray                # adds `--executor ray` rows (needs ray)

The model is the real-size t5-small with random weights (../shared/models/t5-small-architecture),
output lengths forced (min = max new tokens) so random weights cost what trained ones do; the
articles are the BBC News ones under --max-words words (../shared), copied to a scratch folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import (  # noqa: E402
    ARCHITECTURE,
    DATA,
    ROOT,
    build_model,
    decoding,
    machine,
    process_usage,
)

#: What the bare process runs: the recorded batches, through translate_batch, nothing else.
BARE = """
import json, sys
import ctranslate2
plan = json.load(open(sys.argv[1]))
translator = ctranslate2.Translator(
    plan["folder"], device="cpu", compute_type=plan["compute_type"],
    intra_threads=plan["threads"], inter_threads=1,
)
for batch in plan["batches"]:
    translator.translate_batch(batch["source"], **batch["options"])
"""

#: Runs digest's pipeline in-process once, recording what reaches translate_batch.
RECORD = """
import json, os, sys
from pathlib import Path
from digest.engines import ctranslate2_backend
from digest.engines.loading import usable_cores
from digest.pipeline import Options, make_digest

batches = []
real = ctranslate2_backend.CTranslate2Backend.generate

def generate(self, inputs, settings):
    options = ctranslate2_backend.decoding_options(settings, forced_eos=self.forced_eos)
    batches.append({
        "source": [self.tokenizer.convert_ids_to_tokens(list(ids)) for ids in inputs],
        "options": {
            **options,
            "max_batch_size": max(1, self.batch_tokens // options["beam_size"]),
            "batch_type": "tokens",
            "max_input_length": 0,
        },
    })
    return real(self, inputs, settings)

ctranslate2_backend.CTranslate2Backend.generate = generate
settings = json.loads(sys.argv[3])
# The library takes its folders as arguments: this script's parent names the cache folder.
conversions = Path(os.environ["DIGEST_CACHE_DIR"]) / "ct2"
options = Options(engine="seq2seq", model=sys.argv[2], generate=settings,
                  backend="ctranslate2", conversions=conversions)
digest = make_digest([sys.argv[1]], options)
import ctranslate2
from digest.engines.loading import Loader
folder = ctranslate2_backend.converted_folder(
    Loader(sys.argv[2]), "int8", ctranslate2.__version__, conversions
)
json.dump({"folder": str(folder), "compute_type": "int8", "threads": usable_cores(),
           "batches": batches, "documents": len(digest.articles)}, open(sys.argv[4], "w"))
"""


def select_short(pairs: Path, limit: int, max_words: int) -> list[dict[str, str]]:
    """`limit` articles of at most `max_words` words, spread evenly over every category."""
    rows = [json.loads(line) for line in pairs.read_text(encoding="utf-8").splitlines() if line]
    short = [r for r in rows if len(r["article"].split()) <= max_words]
    step = max(1, len(short) // limit)
    return short[::step][:limit]


def ray_rows(folder: Path, model: Path, settings: dict[str, Any], env: dict[str, str]) -> str:
    """`--executor ray` in local mode, in one process: Ray's start, then per run the fixed
    cost (one article: planning, actors starting, engines loading) and the full run."""
    code = f"""
import json, os, sys, time
from pathlib import Path
t = time.perf_counter()
import ray
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
out = {{"init_s": time.perf_counter() - t}}
from digest.cluster import RaySettings
from digest.pipeline import Options, make_digest
settings = json.loads({json.dumps(json.dumps(settings))})
base = Options(engine="seq2seq", model={str(model)!r}, generate=settings,
               backend="ctranslate2", executor="ray",
               conversions=Path(os.environ["DIGEST_CACHE_DIR"]) / "ct2")
from dataclasses import replace
for workers in (1, 2):
    for label, source in (("one", {str(folder / "one")!r}), ("all", {str(folder / "articles")!r})):
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            make_digest([source], replace(base, ray=RaySettings(workers=workers)))
            runs.append(time.perf_counter() - t)
        out[f"{{workers}}-{{label}}"] = min(runs)
# One core, no Ray: the per-core rate a cluster estimate starts from.
runs, cpu = [], []
local = replace(base, executor="local", backend="ctranslate2", engine_options={{"threads": 1}})
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    make_digest([{str(folder / "articles")!r}], local)
    runs.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
out["local-1-thread"] = min(runs)
out["local-1-thread-cpu"] = min(cpu)
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        sys.exit(f"ray rows failed:\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--limit", type=int, default=24, help="articles to summarise")
    parser.add_argument("--max-words", type=int, default=250, help="longest article taken")
    parser.add_argument("--beams", type=int, default=4, help="num_beams")
    parser.add_argument("--tokens", type=int, default=40, help="output tokens, forced")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side, alternating")
    parser.add_argument("--ray", action="store_true", help="add the --executor ray rows")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks" / "bare.md")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    args = parser.parse_args()
    missing = [p for p in (args.shared / DATA, args.shared / ARCHITECTURE) if not p.exists()]
    if missing:
        print(f"benchmark skipped: {missing[0]} is absent", file=sys.stderr)
        sys.exit(0)
    settings = decoding(args.beams, args.tokens)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="digest-bare-") as tmp:
        folder = Path(tmp)
        model = folder / "t5-small-random"
        print("building a random-weight t5-small...", file=sys.stderr)
        build_model(args.shared / ARCHITECTURE, model)
        (folder / "articles").mkdir()
        (folder / "one").mkdir()
        chosen = select_short(args.shared / DATA, args.limit, args.max_words)
        for n, row in enumerate(chosen):
            name = f"{row['id'].replace('/', '-')}.txt"
            (folder / "articles" / name).write_text(row["article"], encoding="utf-8")
            if n == 0:
                (folder / "one" / name).write_text(row["article"], encoding="utf-8")
        env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env["DIGEST_CACHE_DIR"] = str(folder / "cache")
        plan = folder / "plan.json"
        # An installed package's modules are compiled once, at install; an editable checkout
        # under PYTHONDONTWRITEBYTECODE (set on these machines) would compile digest's modules
        # again in every timed run, about 0.1 s the bare side never pays.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "digest")], check=True)
        print("recording digest's model inputs (and converting once)...", file=sys.stderr)
        recorded = subprocess.run(
            [sys.executable, "-c", RECORD, str(folder / "articles"), str(model)]
            + [json.dumps(settings), str(plan)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if recorded.returncode != 0:
            sys.exit(f"recording failed:\n{recorded.stderr[-4000:]}")
        planned = json.loads(plan.read_text())
        inputs = sum(len(b["source"]) for b in planned["batches"])
        digest = str(Path(sys.executable).with_name("digest"))
        make = [digest, "make", str(folder / "articles"), "-e", "seq2seq", "-m", str(model)]
        for key in ("num_beams", "min_new_tokens", "max_new_tokens"):
            make += ["--generate", f"{key}={settings[key]}"]
        make += ["--backend", "ctranslate2", "--no-cache", "-f", "md,json", "-q"]
        make += ["-o", str(folder / "out")]
        bare = [sys.executable, "-c", BARE, str(plan)]
        times: dict[str, list[float]] = {"digest": [], "bare": []}
        cpu: dict[str, list[float]] = {"digest": [], "bare": []}
        load_before = os.getloadavg()[0]
        for n in range(args.repeat):
            for side, command in (("digest", make), ("bare", bare)):
                # Wall and CPU time (user + system, every thread), spawn to exit. CPU time is
                # the steadier measure on a shared machine: waiting for a core costs wall time.
                seconds, used, _ = process_usage(command, env)
                times[side].append(seconds)
                cpu[side].append(used)
                print(f"run {n + 1}: {side} {seconds:.2f} s, CPU {used:.2f} s", file=sys.stderr)
        load_after = os.getloadavg()[0]
        ray_result = json.loads(ray_rows(folder, model, settings, env)) if args.ray else None
    fastest = {side: min(values) for side, values in times.items()}
    ratio = fastest["bare"] / fastest["digest"]
    median_ratio = statistics.median(times["bare"]) / statistics.median(times["digest"])
    lines = [
        "# digest make vs bare CTranslate2 (generated by scripts/bench_bare.py)",
        "",
        f"- Machine: {machine()}; load average {load_before:.1f} before, {load_after:.1f} after"
        " (a shared virtual machine: other work may run beside it)",
        f"- Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, whole run "
        f"{(time.perf_counter() - began) / 60:.1f} minutes",
        f"- {len(chosen)} BBC News articles of at most {args.max_words} words; random-weight "
        f"t5-small, beam {args.beams}, {args.tokens} new tokens (forced), int8 on CPU, "
        f"{planned['threads']} threads; {inputs} model inputs in {len(planned['batches'])} "
        "batches, identical on both sides",
        f"- Each side run {args.repeat} times, alternating; whole processes (spawn to exit)",
        "",
        "| | fastest (s) | median (s) | all runs, wall (s) | least CPU (s) | all runs, CPU (s) |",
        "|---|---:|---:|---|---:|---|",
    ]
    for side, label in (
        ("digest", "`digest make --backend ctranslate2` (conversion cached)"),
        ("bare", "bare script: `Translator.translate_batch` on the same tokens"),
    ):
        values = times[side]
        lines.append(
            f"| {label} | {min(values):.2f} | {statistics.median(values):.2f} | "
            + ", ".join(f"{v:.2f}" for v in values)
            + f" | {min(cpu[side]):.2f} | "
            + ", ".join(f"{v:.2f}" for v in cpu[side])
            + " |"
        )
    lines += [
        "",
        f"**digest's rate / the bare rate (fastest runs): {ratio:.3f}** "
        f"(median runs: {median_ratio:.3f}; by CPU time, least of each: "
        f"{min(cpu['bare']) / min(cpu['digest']):.3f})",
        "",
    ]
    if ray_result is not None:
        docs = len(chosen)
        lines += [
            "## `--executor ray`, local mode (2 CPUs), in one process",
            "",
            f"- Ray start (`ray.init`): {ray_result['init_s']:.1f} s, once per run",
            "",
            "| workers (1 CPU each) | one article (s) | 24 articles (s) | steady (s/article) |",
            "|---|---:|---:|---:|",
        ]
        for workers in (1, 2):
            one, full = ray_result[f"{workers}-one"], ray_result[f"{workers}-all"]
            steady = (full - one) / max(1, docs - 1)
            lines.append(f"| {workers} | {one:.2f} | {full:.2f} | {steady:.3f} |")
        per_core = ray_result["local-1-thread"] / docs
        per_core_cpu = ray_result["local-1-thread-cpu"] / docs
        lines += [
            "",
            "- One core, local, no Ray (threads=1), fastest of 3: "
            f"{ray_result['local-1-thread']:.2f} s wall, "
            f"{ray_result['local-1-thread-cpu']:.2f} s CPU for {docs} articles: "
            f"{per_core:.3f} s/article wall, {per_core_cpu:.3f} s/article CPU "
            "(model load included)",
            "",
        ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
