"""The command's errors as one line each on stderr, with the documented exit codes."""

from __future__ import annotations

import functools
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
import typer.core

from digest.errors import DigestError

EXIT_FATAL = 1


def _base_of(cls: type, name: str) -> type[Exception]:
    for base in cls.__mro__:
        if base.__name__ == name:
            return base
    raise TypeError(f"{cls!r} does not derive from {name}")  # pragma: no cover


#: click's base exception for usage and parameter errors, found through typer's public
#: BadParameter: older typers re-export click's own, newer ones ship a copy of click under a
#: private module name, so neither `import click` nor that module would hold for every typer.
ClickException = _base_of(typer.BadParameter, "ClickException")


def _line(text: object) -> str:
    """Any message as one line: cron mails stderr, and a line is what a log search finds."""
    return " ".join(str(text).split())


def _debug() -> bool:
    return os.environ.get("DIGEST_DEBUG") == "1"


#: The root command's options that take a value (what may follow them is not a command).
_ROOT_VALUE_OPTIONS = ("--config",)


def config_first(args: Sequence[str]) -> list[str]:
    """`digest make --config f.toml …` as `digest --config f.toml make …`.

    The settings file must be read before the command's own options are parsed (its values are
    their defaults), so it is a root option; users put it after the command too, as with
    every other option. Nothing after `--` moves: that is data.
    """
    args = list(args)
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        index += 2 if args[index] in _ROOT_VALUE_OPTIONS else 1
    head, tail = args[:index], args[index:]
    moved: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(tail):
        token = tail[position]
        if token == "--":
            rest += tail[position:]
            break
        if token == "--config" and position + 1 < len(tail):
            moved += tail[position : position + 2]
            position += 2
            continue
        if token.startswith("--config="):
            moved.append(token)
        else:
            rest.append(token)
        position += 1
    return head + moved + rest


class OneLineErrors(typer.core.TyperGroup):
    """click's own errors (a bad option value, a missing argument, a wrongly typed digest.toml
    value) as `digest: error: …` lines with exit 2, like the command's own usage errors."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the root command: `--config` may follow the subcommand
            args = config_first(args)
        return super().parse_args(ctx, args)

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
        except ClickException as caught:
            exc: Any = caught  # click's exception, whichever click: used by duck type
            if type(exc).__name__ == "NoArgsIsHelpError":  # click >= 8.2 (and typer's copy)
                exc.show()  # `digest` alone: the help is what was asked for
                sys.exit(exc.exit_code)
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


def _click_message(exc: Any) -> str:
    """click's message, saying where a bad value came from when it was digest.toml."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    param = getattr(exc, "param", None)
    if ctx is not None and param is not None and param.name:
        source = ctx.get_parameter_source(param.name)
        config = ctx.find_root().meta.get("digest.config")
        if source is not None and source.name == "DEFAULT_MAP" and config is not None:
            # The file and the key as written there: not the flag, nor its environment variable.
            key = ctx.find_root().meta.get("digest.config_keys", {}).get(param.name, param.name)
            detail = getattr(exc, "message", None) or message
            value = (ctx.default_map or {}).get(param.name)
            shown = f" = {value!r}" if isinstance(value, (str, int, float)) else ""
            return f"{config}: {key}{shown}: {detail}"
    if ctx is not None:
        # Named `digest` however the program was started (python -m digest, a test runner).
        path = " ".join(["digest", *ctx.command_path.split()[1:]])
        return f"{message} (see {path} --help)"
    return message


def checked(check: str) -> Any:
    """An option callback that runs the library's own check (`module:function`) on a value
    the user gave (on the command line, in the environment or in digest.toml), so a bad one
    is click's error and names where it came from: the file and key, the variable, the flag.
    The built-in default is not checked, and nothing is imported for it."""

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        source = ctx.get_parameter_source(param.name or "")
        if value is None or source is None or source.name == "DEFAULT":
            return value
        module, name = check.split(":")
        try:
            getattr(importlib.import_module(module), name)(value)
        except DigestError as exc:
            raise typer.BadParameter(str(exc)) from None
        return value

    return callback


def fail(exc: DigestError) -> typer.Exit:
    """One line on stderr and the error's documented exit code; DIGEST_DEBUG=1 prints the
    traceback before that line, and changes nothing else."""
    if _debug():
        traceback.print_exception(exc)
    typer.echo(f"digest: error: {_line(exc)}", err=True)
    return typer.Exit(exc.exit_code)
