"""One run per output folder: a second real process waits, then gives up with exit code 4."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_engine import RUNNER, runner_env, write_articles

from digest.errors import LockTimeout
from digest.locking import LOCK_FILENAME, output_lock


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, RUNNER, "make", "in", "-o", "out", "--no-cache", "-q", *args],
        cwd=cwd,
        env=runner_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.fixture
def hold(tmp_path: Path) -> Path:
    """While this file exists, the fake engine does not return: a run holds its lock until
    the test removes it, however slowly a loaded machine starts the other process."""
    path = tmp_path / "hold"
    path.touch()
    return path


@pytest.fixture
def slow_run(tmp_path: Path, hold: Path) -> subprocess.Popen[str]:
    """A run that holds tmp_path/out's lock (it is inside the engine) until `hold` goes."""
    write_articles(tmp_path / "in", 4)
    calls = tmp_path / "calls.txt"
    proc = start(tmp_path, FAKE_ENGINE_CALLS=str(calls), FAKE_ENGINE_HOLD=str(hold))
    wait_for(lambda: calls.exists() or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    return proc


def test_second_run_gives_up_after_wait_with_exit_4(
    tmp_path: Path, hold: Path, slow_run: subprocess.Popen[str]
) -> None:
    second = start(tmp_path, "--wait", "1")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 4
    # It gave up because the first run still held the folder, not for any other reason.
    assert slow_run.poll() is None, "the first run had finished: nothing to wait for"
    hold.unlink()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "out" in lines[0] and "1 s" in lines[0] and lines[0].startswith("digest: error:")
    _, first_err = slow_run.communicate(timeout=60)
    assert slow_run.returncode == 0, first_err


def test_second_run_waits_its_turn_and_succeeds(
    tmp_path: Path, hold: Path, slow_run: subprocess.Popen[str]
) -> None:
    second = start(tmp_path, "--wait", "60", "--date", "2026-11-02")
    time.sleep(1)  # the second run starts and finds the folder taken (or soon will)
    assert second.poll() is None, second.communicate()
    hold.unlink()
    out, err = second.communicate(timeout=90)
    first_out, _ = slow_run.communicate(timeout=60)
    assert (slow_run.returncode, second.returncode) == (0, 0), err
    assert out.strip().endswith("digest-2026-11-02.md") and first_out.strip()


def test_a_killed_holder_releases_the_lock(tmp_path: Path, slow_run: subprocess.Popen[str]) -> None:
    slow_run.kill()
    slow_run.wait(timeout=30)
    # --wait 0: the lock must be free at once, or this run exits 4.
    second = start(tmp_path, "--wait", "0")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err


def test_lock_in_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock;"
            f" lock = FileLock({str(tmp_path / LOCK_FILENAME)!r}); lock.acquire();"
            " print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout, match=r"after waiting 0\.2 s"):
            with output_lock(tmp_path, wait=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()
    with output_lock(tmp_path, wait=5) as path:
        assert path.name == LOCK_FILENAME
