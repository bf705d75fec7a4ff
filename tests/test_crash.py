"""Crash safety: SIGKILL at any moment leaves earlier outputs whole and the next run finishes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fake_engine import RUNNER, runner_env, write_articles

from digest.files import remove_stale_temporaries, write_atomic
from digest.state import STATE_FILENAME

WRITER = """
import sys
from pathlib import Path
from digest.files import write_atomic
target, payloads = Path(sys.argv[1]), [b"A" * 3_000_000, b"B" * 2_000_000]
print("ready", flush=True)
n = 0
while True:
    write_atomic(target, payloads[n % 2])
    n += 1
"""


def test_write_atomic_killed_at_random_moments_never_leaves_a_partial_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "digest-2026-11-24.md"
    write_atomic(target, b"A" * 3_000_000)
    rng = random.Random(5)
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        data = target.read_bytes()
        assert data in (b"A" * 3_000_000, b"B" * 2_000_000), f"partial file: {len(data)} bytes"
    # Leftover temporaries have the hidden .NAME.*.tmp shape, never a final name.
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == {target.name}
    remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_cleanup_leaves_other_hidden_files_alone(tmp_path: Path) -> None:
    (tmp_path / ".digest-2026-11-24.md.k2j4_x9a.tmp").write_text("left by a killed run")
    (tmp_path / ".notes.tmp").write_text("the user's")
    (tmp_path / STATE_FILENAME).write_text("{}")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".digest-2026-11-24.md.k2j4_x9a.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILENAME, ".notes.tmp"]


def run(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, RUNNER, "make", "in", "-o", "out", "--cache-dir", "cache", "-q", *args],
        cwd=cwd,
        env=runner_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def engine_calls(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(k, int(n)) for k, n in (line.split() for line in path.read_text().splitlines())]


def test_run_killed_mid_way_keeps_earlier_outputs_and_the_next_run_reuses_the_cache(
    tmp_path: Path,
) -> None:
    write_articles(tmp_path / "in", 3)
    first = run(tmp_path, "--date", "2026-11-01", "--since", "last", "-f", "md,json")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    out = tmp_path / "out"
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}

    # 70 new articles, 32 per engine call: once two calls have ended, at least the first
    # chunk's summaries are committed to the cache.
    write_articles(tmp_path / "in", 70, start=100)
    calls = tmp_path / "calls.txt"
    killed = run(
        tmp_path,
        "--date",
        "2026-11-02",
        "--since",
        "last",
        "-f",
        "md,json",
        FAKE_ENGINE_DELAY="0.05",
        FAKE_ENGINE_CALLS=str(calls),
    )
    deadline = time.monotonic() + 60
    while len(engine_calls(calls)) < 2 and killed.poll() is None:
        assert time.monotonic() < deadline, "the slow run never reached its second engine call"
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL

    # Everything the first run wrote is byte-identical, including the state; nothing new has
    # appeared under a final name.
    for name, data in earlier.items():
        assert (out / name).read_bytes() == data, name
    finals = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert finals == {"digest-2026-11-01.md", "digest-2026-11-01.json"}
    # A stray temporary, as a kill during write_atomic would leave, is cleared next time.
    (out / ".digest-2026-11-02.md.abcd1234.tmp").write_text("half a dig")

    done_before = sum(n for kind, n in engine_calls(calls) if kind == "article")
    calls.unlink()
    again = run(
        tmp_path,
        "--date",
        "2026-11-02",
        "--since",
        "last",
        "-f",
        "md,json",
        FAKE_ENGINE_CALLS=str(calls),
    )
    stdout, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert stdout.split() == [str(Path("out/digest-2026-11-02.md")), "out/digest-2026-11-02.json"]
    articles_now = sum(n for kind, n in engine_calls(calls) if kind == "article")
    assert done_before >= 32
    assert articles_now in (70 - done_before, 70 - done_before + 32), "cache not reused"
    assert not list(out.glob(".*.tmp"))
    text = (out / "digest-2026-11-02.md").read_text(encoding="utf-8")
    assert "70 articles" in text
