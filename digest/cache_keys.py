"""The summary cache's keys: an engine's fingerprint (model, settings, prompts, its own code)
and each summary's key under it."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from digest.engines.loading import hub_revision
from digest.version import __version__

_PACKAGE = Path(__file__).resolve().parent

#: The libraries whose version can change what an engine writes (sentence splitting,
#: tokenising, the model's arithmetic, decoding), by engine and, for seq2seq, by backend.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "extractive": ("numpy", "pysbd"),
    "seq2seq": ("numpy", "pysbd", "sentencepiece", "tokenizers", "transformers"),
}
#: What each seq2seq backend adds (no backend named: both).
BACKEND_LIBRARIES: dict[str, tuple[str, ...]] = {
    "transformers": ("torch",),
    "ctranslate2": ("ctranslate2",),
}


def _file_digest(paths: Iterable[Path], base: Path) -> str:
    """A hash of the names and contents of `paths` (missing ones count as absent)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _prompts_digest() -> str:
    """A hash of every prompt template the seq2seq engine could pick, in search order.

    Which family (t5, flan-t5, plain) a model uses is only known once its config is read,
    so all of them count: editing any template starts fresh summaries, never stale ones.
    """
    try:
        from digest.prompts import search_path
    except ImportError:  # a build without the seq2seq engine's prompts
        return ""
    digest = hashlib.sha256()
    for folder in search_path():
        digest.update(str(folder).encode() + b"\0")
        digest.update(
            _file_digest((p for p in folder.rglob("*.j2") if p.is_file()), folder).encode()
        )
    return digest.hexdigest()


def _model_identity(model: str) -> Any:
    """A local model folder is identified by its files' sizes and times, a hub model by the
    commit of its downloaded snapshot: a new revision on the hub means new summaries."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return {"hub": model, "revision": hub_revision(model)}
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return {
        "path": str(folder.resolve()),
        "files": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files],
    }


def code_files(engine: str) -> list[Path]:
    """The engine's module and every digest module it imports, directly or not, anywhere in
    its code (imports inside functions too): each of them can change what it writes.

    The package's own __init__ is left out: it only re-exports, and imports everything. A
    subpackage's __init__ counts, but its imports are not followed: a registry such as
    digest.engines imports every engine, and one engine's summaries do not depend on another.
    """
    return list(_code_files(engine, _PACKAGE))


@cache
def _code_files(engine: str, package: Path) -> tuple[Path, ...]:
    # Parsing about 17 modules takes some 25 ms, and a run takes up to three fingerprints:
    # the import graph is found once per process (the files' contents are read every time).
    start = package / "engines" / f"{engine}.py"
    found: set[Path] = set()
    todo = [start] if start.is_file() else []
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        if path.name == "__init__.py":
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from digest.engines import light` names a module as well as a package.
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                module = _module_file(name, package)
                if module is not None and module not in found:
                    todo.append(module)
    return tuple(sorted(found))


def _module_file(name: str, package: Path) -> Path | None:
    parts = name.split(".")
    if parts[0] != "digest" or len(parts) < 2:
        return None
    base = package.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def library_version(name: str) -> str | None:
    """The installed version of the library `name` (None when it is not installed), without
    importing it.

    Read from the name of its `NAME-VERSION.dist-info` folder beside the package, as pip
    leaves it; importlib.metadata, which knows every other layout, is the fallback, since
    importing it costs more than a whole cached run's other work (some 30-70 ms).
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    places = list(spec.submodule_search_locations or []) or [spec.origin or ""]
    folder = os.path.dirname(places[0]) if places[0] else ""
    prefix = name.lower().replace("-", "_") + "-"
    try:
        found = [
            entry[len(prefix) : -len(".dist-info")]
            for entry in os.listdir(folder)
            if entry.lower().startswith(prefix) and entry.endswith(".dist-info")
        ]
    except OSError:
        found = []
    if len(found) == 1:
        return found[0]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def library_versions(engine: str, backend: str | None = None) -> dict[str, str | None]:
    """The versions of the libraries `engine` (on `backend`) writes its summaries with."""
    names = set(LIBRARIES.get(engine, ()))
    if engine in LIBRARIES and engine != "extractive":
        for runner, more in BACKEND_LIBRARIES.items():
            if backend in (None, runner):
                names.update(more)
    return {name: library_version(name) for name in sorted(names)}


def engine_fingerprint(
    engine: str,
    *,
    model: str | None = None,
    generate: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """Everything besides the input text that decides what `engine` writes, as one hash.

    The engine's own source and every digest module it uses are part of it, and so are the
    versions of the libraries it writes with (library_versions), so a new release, an edited
    checkout or an upgraded library never serves summaries an older engine wrote.
    """
    settings: dict[str, Any] = {"digest": __version__, "engine": engine}
    backend = (options or {}).get("backend")
    settings["libraries"] = library_versions(engine, backend if isinstance(backend, str) else None)
    if engine != "extractive":
        settings.update(
            model=_model_identity(model) if model else None,
            generate=dict(generate or {}),
            options=dict(options or {}),
            prompts=_prompts_digest(),
        )
    settings["code"] = _file_digest(code_files(engine), _PACKAGE)
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def summary_key(fingerprint: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{fingerprint}\0{kind}\0{text}".encode()).hexdigest()
