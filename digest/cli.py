"""The `digest` command: parse options, call the library, write files, map errors to exit codes."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
from pathlib import Path
from typing import Annotated

import typer

from digest import __version__
from digest.errors import DigestError, UsageError

log = logging.getLogger("digest.cli")

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3
FORMATS = ("md", "json")

app = typer.Typer(
    help="Turn a folder of articles into a digest people actually read.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"digest {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Summarise every article in a folder into one Markdown digest (and JSON, email)."""


def parse_formats(value: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"unknown format {', '.join(unknown) or repr(value)}; choose from {', '.join(FORMATS)}"
        )
    return formats


def parse_date(value: str | None) -> _dt.date:
    if not value:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date must look like 2026-11-24, not {value!r}") from None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(value: str) -> int:
    """'5MB', '500k', '1048576' → bytes."""
    match = _SIZE.match(value)
    unit = (match.group(2) or "").lower() if match else None
    if not match or unit not in _UNITS:
        raise UsageError(f"--max-size must be a size such as 5MB or 500KB, not {value!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def _fail(exc: DigestError) -> typer.Exit:
    """One line on stderr and the error's exit code; DIGEST_DEBUG=1 keeps the traceback."""
    if os.environ.get("DIGEST_DEBUG") == "1":
        raise exc
    typer.echo(f"digest: error: {exc}", err=True)
    return typer.Exit(exc.exit_code)


@app.command("make")
def make_command(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders (searched recursively) and files to summarise."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder the digest is written to.")
    ] = Path("outputs"),
    engine: Annotated[
        str,
        typer.Option("--engine", "-e", envvar="DIGEST_ENGINE", help="auto, extractive or seq2seq."),
    ] = "auto",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            envvar="DIGEST_MODEL",
            help="Hugging Face model id, local folder or preset (fast, balanced, best).",
        ),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated: md, json.")
    ] = "md",
    date: Annotated[
        str | None, typer.Option("--date", help="Digest date, YYYY-MM-DD (default: today).")
    ] = None,
    max_size: Annotated[
        str, typer.Option("--max-size", help="Skip input files larger than this.")
    ] = "5MB",
    templates: Annotated[
        Path | None,
        typer.Option(
            "--templates",
            envvar="DIGEST_TEMPLATES",
            help="Folder of your own output templates, searched before the built-in ones.",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
) -> None:
    """Summarise SOURCES into DIR/digest-YYYY-MM-DD.md; print the paths written."""
    from digest.console import ProgressReporter, configure_logging

    configure_logging(-1 if quiet else verbose)
    try:
        if not sources:
            raise UsageError(
                "give at least one folder or file to summarise, e.g. digest make seeds/"
            )
        written, skipped = _make(
            sources,
            out=out,
            engine=engine,
            model=model,
            formats=parse_formats(formats),
            date=parse_date(date),
            max_bytes=parse_size(max_size),
            templates=templates,
            progress=ProgressReporter(enabled=not quiet),
        )
    except DigestError as exc:
        raise _fail(exc) from None
    for path in written:
        typer.echo(str(path))
    if skipped:
        raise typer.Exit(EXIT_SKIPPED)


def _make(
    sources: list[Path],
    *,
    out: Path,
    engine: str,
    model: str | None,
    formats: tuple[str, ...],
    date: _dt.date,
    max_bytes: int,
    templates: Path | None,
    progress: object,
) -> tuple[list[Path], int]:
    from digest.console import ProgressReporter
    from digest.engines import ENGINE_NAMES
    from digest.files import write_atomic
    from digest.pipeline import Options, make_digest
    from digest.render import render_json, render_markdown

    if engine not in ENGINE_NAMES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_NAMES)}")
    if templates is not None and not templates.is_dir():
        raise UsageError(f"--templates: no such folder: {templates}")
    options = Options(engine=engine, model=model, date=date, max_bytes=max_bytes)
    assert isinstance(progress, ProgressReporter)
    with progress:
        digest = make_digest(sources, options, progress=progress)
    stem = out / f"digest-{digest.date.isoformat()}"
    rendered = {
        "md": lambda: render_markdown(digest, templates),
        "json": lambda: render_json(digest),
    }
    written = [write_atomic(stem.with_suffix(f".{fmt}"), rendered[fmt]()) for fmt in formats]
    log.info(
        "digest of %d article(s) written with the %s engine; %d skipped",
        len(digest.articles),
        digest.engine,
        len(digest.skipped),
    )
    return written, len(digest.skipped)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="digest")


if __name__ == "__main__":  # pragma: no cover
    main()
