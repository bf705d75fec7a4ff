"""The package's shape: no import circles among its modules, engine modules a reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "digest"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports, wherever the import stands (top level,
    inside a function, under TYPE_CHECKING): a deferred import still closes a circle."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # `from digest.engines import light` imports the module digest.engines.light.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_among_the_package_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_deferred_and_from_package_imports() -> None:
    graph = import_graph()
    # Deferred (inside a function) and `from package import module` both count.
    assert "digest.engines.seq2seq" in graph["digest.engines"]
    assert "digest.engines.light" in graph["digest.engines.ctranslate2_backend"]
    assert "digest.engines.base" in graph["digest.cache"]


def test_no_engine_module_is_over_about_400_lines() -> None:
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.glob("engines/*.py")
    }
    assert max(sizes.values()) <= 420, sizes


def test_a_folder_run_never_imports_the_http_stack(tmp_path: Path) -> None:
    """httpx, and the ssl, rich and click it pulls in, cost about 0.07 s of start-up (#14's
    bare-CTranslate2 ratio): a run over files alone must not pay it."""
    import subprocess
    import sys

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(
        "Rivers rise in spring. The town moved its market uphill. Nobody regrets it now.\n",
        encoding="utf-8",
    )
    code = (
        "import sys\n"
        "from digest.cli import main\n"
        f"sys.argv = ['digest', 'make', {str(tmp_path / 'in')!r}, '-q', '--no-cache',\n"
        f"            '-o', {str(tmp_path / 'out')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'ssl')))\n"
    )
    env = {**__import__("os").environ, "DIGEST_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").is_dir()
    assert result.stdout.strip().splitlines()[-1] == "[]"


def counted_lines(path: Path) -> int:
    """A module's lines, less the CLI's typer option declarations (a command's signature and
    the module-level `X = Annotated[...]` option types): declarations, not logic."""
    source = path.read_text(encoding="utf-8")
    lines = len(source.splitlines())
    if path.name != "cli.py":
        return lines
    declared = 0
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            declared += node.body[0].lineno - node.lineno  # the signature
        elif isinstance(node, ast.Assign) and "Annotated" in ast.unparse(node.value)[:12]:
            declared += (node.end_lineno or node.lineno) - node.lineno + 1
    return lines - declared


def test_no_module_is_over_about_500_lines() -> None:
    sizes = {module_name(p): counted_lines(p) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 520, sorted(sizes.items(), key=lambda item: -item[1])[:3]


def test_the_pipeline_is_a_short_orchestrator_of_stage_modules() -> None:
    assert counted_lines(PACKAGE / "pipeline.py") <= 300
    stages = ["reading", "run_plan", "summarising", "executing", "summary_tree"]
    graph = import_graph()
    assert {f"digest.{s}" for s in stages} - {"digest.summary_tree", "digest.executing"} <= graph[
        "digest.pipeline"
    ]
    # Data flows one way: no stage imports the orchestrator.
    assert not any("digest.pipeline" in graph[f"digest.{s}"] for s in stages)
