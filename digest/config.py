"""digest.toml: defaults for the command's options, slotted between environment and built-ins."""

from __future__ import annotations

import datetime as _dt
import difflib
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, get_args

from digest.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

CONFIG_FILENAME = "digest.toml"
ENV_VAR = "DIGEST_CONFIG"


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    """--config / $DIGEST_CONFIG when given (it must exist), else ./digest.toml if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"--config: no such file: {explicit}")
        return explicit
    candidate = (cwd or Path.cwd()) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


def read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def is_path_param(param: Any) -> bool:
    """Whether a command-line parameter takes a path.

    Duck-typed: typer ships its own copy of click, whose parameters (in typer 0.29) carry the
    Python annotation instead of a click `type`.
    """
    click_type = getattr(param, "type", None)
    if click_type is not None:
        return getattr(click_type, "name", None) == "path"
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return _mentions_path(annotation)


def is_source_param(param: Any) -> bool:
    """`make`'s SOURCES: paths, except the http(s) URLs among them (feeds and pages)."""
    return getattr(param, "name", None) == "sources"


def _mentions_path(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return True
    return any(_mentions_path(a) for a in get_args(annotation))


def _names(param: Any) -> set[str]:
    """A key may be spelt as the parameter's name or as any of its long flags: `format`,
    `formats`, `cache-dir` and `cache_dir` all work."""
    names = {param.name or ""}
    names.update(o[2:].replace("-", "_") for o in param.opts if o.startswith("--"))
    return names - {""}


def _convert(param: Any, value: Any, base: Path, where: str) -> Any:
    many = param.multiple or param.nargs == -1
    if isinstance(value, dict):
        if not many or is_source_param(param):
            raise UsageError(f"{where}: expected a value, not a table")
        # A repeatable NAME=VALUE option (--weight) reads naturally as a table:
        # [weight] "BBC News" = 2  is  --weight "BBC News=2".
        return [f"{name}={_table_value(item, where)}" for name, item in value.items()]
    if many:
        values = value if isinstance(value, list) else [value]
        odd = [v for v in values if not isinstance(v, str)]
        if is_source_param(param) and odd:
            # Sources are strings (paths or URLs): click would turn 5 into the path "5".
            raise UsageError(f"{where}: expected folders, files or URLs, not {odd[0]!r}")
        return [_convert_one(param, v, base) for v in values]
    if isinstance(value, list):
        # Comma-separated options (formats, recipients) read naturally as TOML arrays.
        return ",".join(str(v) for v in value)
    return _convert_one(param, value, base)


def _table_value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UsageError(f"{where}: expected NAME = value pairs, not {value!r}")
    return str(value)


def _convert_one(param: Any, value: Any, base: Path) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if not isinstance(value, str) or not (is_path_param(param) or is_source_param(param)):
        return value
    if is_source_param(param):
        from digest.urls import is_url

        if is_url(value):
            return value  # a feed or page URL is not a path
    # Paths in the file are relative to the file, so cron (which starts in $HOME) and a
    # shell in another folder read the same folders.
    return str(base / Path(value).expanduser())


def _leaves(
    commands: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) for every command, those inside groups (`cache info`) included."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in commands.items():
        found.append(((*prefix, name), command))
        found.extend(_leaves(getattr(command, "commands", {}) or {}, (*prefix, name)))
    return found


def _user_keys(param: Any) -> set[str]:
    """The keys a user is told about: an option's long flags as the README spells keys
    (`cache_dir`), and `sources`; never a parameter's internal name (`as_json`, `sender`)."""
    if is_source_param(param):
        return {"sources"}
    return {o[2:].replace("-", "_") for o in getattr(param, "opts", ()) if o.startswith("--")}


def _unknown_key(path: Path, key: str, leaves: list[tuple[tuple[str, ...], Any]]) -> UsageError:
    known = sorted(
        {n for _, c in leaves for p in c.params if p.expose_value for n in _user_keys(p)}
        - {"help", "version", "config"}
    )
    close = difflib.get_close_matches(key.replace("-", "_").lower(), known, n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = f"keys are the long option names: {', '.join(known)}"
    return UsageError(f"{path}: unknown key {key!r}; {hint}")


def default_map(
    path: Path, commands: Mapping[str, Any], spelled: dict[str, str] | None = None
) -> dict[str, Any]:
    """The file's keys as click's `default_map` for every command that has a matching option.

    `commands` are click commands, used by duck type: typer ships its own copy of click. A
    group's commands get a nested map (`{"cache": {"info": {...}}}`), as click looks them up.

    click looks a value up on the command line, then in the environment, then in the default
    map, then in the built-in default: exactly the precedence CLI > env > file > built-in.
    `spelled`, when given, receives each parameter's key as the file spells it, for messages.
    """
    data = read_config(path)
    base = path.parent.absolute()
    leaves = _leaves(commands)
    result: dict[str, Any] = {}
    for key, value in data.items():
        wanted = key.replace("-", "_")
        matched = False
        for names, command in leaves:
            for param in command.params:
                if param.name and wanted in _names(param) and param.expose_value:
                    where = f"{path}: {key}"
                    target = result
                    for name in names:
                        target = target.setdefault(name, {})
                    target[param.name] = _convert(param, value, base, where)
                    if spelled is not None:
                        spelled[param.name] = key
                    matched = True
        if not matched:
            raise _unknown_key(path, key, leaves)
    return result
