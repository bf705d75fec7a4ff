"""Check: `digest make --executor ray` writes the local run's JSON, and a cached re-run is free.

For each engine (extractive; a real-size random t5-small on CTranslate2 and on transformers)
the same folder (the seed and BBC News articles from ../shared, copied to a scratch folder)
is summarised by `digest make --format json` as a user runs it, once with `--executor local`
and once with `--executor ray --workers 2`, and the two files are compared byte for byte
with the `"executor"` line taken out. Then two Ray runs share a summary cache under
`--backend auto` with decoding settings CTranslate2 does not support (so the model runs on
transformers): the second must write no new summary and start no worker.

    python scripts/check_ray_equality.py --articles 40      # prints a Markdown table

Needs the `ray` extra, CTranslate2 (installed with digest) and ../shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import ARCHITECTURE, DATA, ROOT, build_model, machine  # noqa: E402

DIGEST = [sys.executable, "-m", "digest"]


def digest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*DIGEST, *args], capture_output=True, text=True, env=env, check=False, cwd=ROOT
    )
    if result.returncode not in (0, 3):
        sys.exit(f"digest {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def without_executor(path: Path) -> str:
    return re.sub(r'\n\s*"executor": "[a-z]+",?', "", path.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--articles", type=int, default=40)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="digest-ray-check-"))
    try:
        folder = scratch / "in"
        folder.mkdir()
        for seed in (ROOT / "seeds").glob("*.txt"):
            shutil.copy(seed, folder / seed.name)
        lines = (args.shared / DATA).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines[: args.articles]):
            pair = json.loads(line)
            text = f"{pair['title']}\n\n{pair['article']}\n"
            (folder / f"bbc-{n:03d}.txt").write_text(text, encoding="utf-8")
        model = scratch / "t5-small-random"
        build_model(args.shared / ARCHITECTURE, model)
        env = dict(os.environ, HF_HUB_OFFLINE="1", DIGEST_CACHE_DIR=str(scratch / "cache"))
        rows = []
        t5 = ["-m", str(model), "-g", "max_new_tokens=12"]
        for label, engine in (
            ("extractive", ["-e", "extractive"]),
            ("t5-small, CTranslate2", ["-e", "seq2seq", *t5, "--backend", "ctranslate2"]),
            ("t5-small, transformers", ["-e", "seq2seq", *t5, "--backend", "transformers"]),
        ):
            files = {}
            for executor in ("local", "ray"):
                out = scratch / f"{label}-{executor}".replace(" ", "").replace(",", "-")
                common = ["make", str(folder), "-o", str(out), "-f", "json", "--no-cache"]
                started = time.perf_counter()
                digest(*common, *engine, "--executor", executor, "--workers", "2", "-q", env=env)
                files[executor] = (next(out.glob("*.json")), time.perf_counter() - started)
            (local, local_s), (ray, ray_s) = files["local"], files["ray"]
            same = without_executor(local) == without_executor(ray)
            documents = len(json.loads(local.read_text(encoding="utf-8"))["documents"])
            rows.append(
                f"| {label} | {documents} | {'identical' if same else 'DIFFERENT'} "
                f"| {local_s:.0f} s | {ray_s:.0f} s |"
            )
        # Settings CTranslate2 cannot decode with: auto runs the model on transformers, and
        # its summaries are stored under that backend's key.
        cache = scratch / "shared-cache"
        logs = []
        for run in (1, 2):
            out = scratch / f"cached-{run}"
            result = digest(
                "make", str(folder), "-o", str(out), "-f", "json", "-e", "seq2seq", *t5,
                "--executor", "ray", "--workers", "2", "--cache-dir", str(cache), "-v",
                "-g", "encoder_no_repeat_ngram_size=3", env=env,
            )  # fmt: skip
            backend = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))["backend"]
            said = [
                line.split("INFO ", 1)[-1]
                for line in result.stderr.splitlines()
                if "from the cache" in line or "newly written" in line
            ]
            logs.append(f"| {run} | {backend} | {'; '.join(said) or '(no cache line)'} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"Machine: {machine()}\n")
    print("| engine | documents | JSON, ray vs local | local | ray (2 workers) |")
    print("|---|---:|---|---:|---:|")
    print("\n".join(rows))
    print("\nTwo Ray runs sharing a cache, a model auto runs on transformers:\n")
    print("| run | backend | cache |\n|---|---|---|")
    print("\n".join(logs))


if __name__ == "__main__":
    main()
