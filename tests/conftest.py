"""Shared fixtures: offline Hugging Face, the ../shared data folder, and small helpers."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile

# Before anything imports transformers: no test may touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a shared machine spinning threads fight
# other processes for cores and tiny-model tests run 30x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The summary cache of every test run (in-process and subprocesses alike) lives in a throwaway
# folder: tests must neither read nor fill the user's real ~/.cache/digest.
_CACHE = tempfile.mkdtemp(prefix="digest-test-cache-")
os.environ["DIGEST_CACHE_DIR"] = _CACHE
# An engine told no conversions folder converts into the user cache's ct2/ (platformdirs:
# $XDG_CACHE_HOME/digest on Linux), whatever DIGEST_CACHE_DIR says: that default points into
# the throwaway folder too. Hugging Face's cache, whose default also follows XDG_CACHE_HOME,
# stays where it was.
os.environ.setdefault(
    "HF_HOME",
    os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"),
)
os.environ["XDG_CACHE_HOME"] = os.path.join(_CACHE, "user-cache")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
# The fake engine writes labelled stand-ins ("article: <first words>"), unsupported by
# construction: CLI runs (in-process and subprocesses) leave them as they are, and the tests
# of the faithfulness guard (tests/test_guard*.py) ask for it by name.
os.environ["DIGEST_GUARD"] = "off"

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _restore_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's --cache-dir defaults to DIGEST_CACHE_DIR: in-process CLI runs use the
    session's scratch folder (never the user's cache) unless a test names its own."""
    monkeypatch.setenv("DIGEST_CACHE_DIR", os.environ.get("DIGEST_CACHE_DIR", _CACHE))


@pytest.fixture(autouse=True)
def _capture_digest_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """caplog sees the digest logger's records in every test, whatever ran before.

    `digest make` in-process turns the digest logger's propagation off (its lines go to its
    own stderr handler), after which the root logger, where caplog listens, hears nothing.
    So caplog's handler sits on the digest logger itself, with propagation off so no record
    arrives twice, and the logger's state is put back after each test.
    """
    logger = logging.getLogger("digest")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = [caplog.handler]
    logger.setLevel(logging.NOTSET)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder (publishers' texts we may read but not copy); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (only present on the team's machines)")
    return SHARED


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


# -- tiny seq2seq checkpoints (builders in tests/tiny_models.py), saved once per session and
# loaded through the same from_pretrained path users hit.


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer T5 with the real t5-small tokenizer; skipped without ../shared."""
    from tiny_models import build_tiny_t5

    tokenizer = shared_path("models", "t5-small-architecture")
    return build_tiny_t5(tmp_path_factory.mktemp("tiny-t5"), tokenizer)


@pytest.fixture(scope="session")
def t5_small_random(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real-size t5-small, random weights; skipped without ../shared."""
    from tiny_models import build_random_t5_small

    architecture = shared_path("models", "t5-small-architecture")
    return build_random_t5_small(tmp_path_factory.mktemp("t5-small-random"), architecture)


@pytest.fixture(scope="session")
def tiny_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BART (128-token window) with a BPE tokenizer trained offline."""
    from tiny_models import build_tiny_bart

    return build_tiny_bart(tmp_path_factory.mktemp("tiny-bart"))


@pytest.fixture(scope="session")
def eager_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like tiny_bart, but it ends its output as soon as allowed: length = min_new_tokens."""
    from tiny_models import build_tiny_bart

    return build_tiny_bart(tmp_path_factory.mktemp("eager-bart"), eos_bias=100.0)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Any, int]]]:
    """Start a real SMTP server on 127.0.0.1 and a free port; stopped after the test."""
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller
    from loopback_smtp import HOST, Recorder, free_port

    controllers: list[Controller] = []

    def start(handler: Recorder | None = None, **kwargs: Any) -> tuple[Recorder, int]:
        handler = handler or Recorder()
        port = free_port()
        controller = Controller(handler, hostname=HOST, port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


# -- a real HTTP server on loopback for feeds and pages (pytest-httpserver, threaded so a slow
# handler does not hold up the others), and a guard that keeps every other host out of reach.


@pytest.fixture
def web() -> Iterator[Any]:
    """A threaded HTTP server on 127.0.0.1 and a free port; stopped after the test."""
    pytest.importorskip("pytest_httpserver")
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.no_handler_status_code = 404
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


#: What FetchPolicy(public_networks=...) counts as public in tests: the `public_web` server.
PUBLIC = ("127.0.0.2/32",)


@pytest.fixture
def public_web() -> Iterator[Any]:
    """A second loopback server, on 127.0.0.2, that FetchPolicy(public_networks=PUBLIC)
    counts as a public host: the internet, as far as the network policy's tests go."""
    pytest.importorskip("pytest_httpserver")
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.2", port=0, threaded=True)
    server.no_handler_status_code = 404
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., Any]]:
    """Start hostile_servers.RawServer(talk) on loopback (a TCP server that speaks as `talk`
    says, for answers below HTTP); every one started is stopped after the test."""
    from hostile_servers import RawServer

    servers: list[RawServer] = []

    def start(talk: Callable[..., None], host: str = "127.0.0.1") -> RawServer:
        servers.append(RawServer(talk, host))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name lookups for anything but loopback fail, as offline: no test reaches the internet
    (a feed's entries link to the real sites)."""
    import socket

    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "127.0.0.1", "::1", "") and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: tests stay on loopback")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
