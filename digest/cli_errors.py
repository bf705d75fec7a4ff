"""The command's errors as one line each on stderr, with the documented exit codes."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
import typer.core
from typer import _click as click

from digest.errors import DigestError

EXIT_FATAL = 1


def _line(text: object) -> str:
    """Any message as one line: cron mails stderr, and a line is what a log search finds."""
    return " ".join(str(text).split())


def _debug() -> bool:
    return os.environ.get("DIGEST_DEBUG") == "1"


class OneLineErrors(typer.core.TyperGroup):
    """click's own errors (a bad option value, a missing argument, a wrongly typed digest.toml
    value) as `digest: error: …` lines with exit 2, like the command's own usage errors."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        run = functools.partial(
            super().main, args, prog_name, complete_var, windows_expand_args=windows_expand_args
        )
        if not standalone_mode:
            return run(standalone_mode=False, **extra)
        try:
            code = run(standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # `digest` alone: the help is what was asked for
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            if _debug():
                traceback.print_exc()
            typer.echo(f"digest: error: {_line(_click_message(exc))}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("digest: error: interrupted", err=True)
            sys.exit(EXIT_FATAL)
        if code == _INTERRUPTED:
            # typer turns Ctrl-C into exit 130; the documented code for an interrupted run is 1.
            typer.echo("digest: error: interrupted", err=True)
            sys.exit(EXIT_FATAL)
        sys.exit(code if isinstance(code, int) else 0)


#: What typer exits with on Ctrl-C (128 + SIGINT).
_INTERRUPTED = 130


def _click_message(exc: click.exceptions.ClickException) -> str:
    """click's message, saying where a bad value came from when it was digest.toml."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    param = getattr(exc, "param", None)
    if ctx is not None and param is not None and param.name:
        source = ctx.get_parameter_source(param.name)
        config = ctx.find_root().meta.get("digest.config")
        if source is not None and source.name == "DEFAULT_MAP" and config is not None:
            return f"{config}: {message}"
    if ctx is not None:
        return f"{message} (see {ctx.command_path} --help)"
    return message


def fail(exc: DigestError) -> typer.Exit:
    """One line on stderr and the error's documented exit code; DIGEST_DEBUG=1 prints the
    traceback before that line, and changes nothing else."""
    if _debug():
        traceback.print_exception(exc)
    typer.echo(f"digest: error: {_line(exc)}", err=True)
    return typer.Exit(exc.exit_code)
