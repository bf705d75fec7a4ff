"""`digest schedule`: the crontab line for a nightly `digest make`, installed idempotently."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.config import is_path_param, is_source_param
from digest.errors import DigestError, UsageError
from digest.urls import is_url

LOG_FILENAME = "digest.log"
#: cron's own PATH; the digest executable's folder goes in front of it.
CRON_PATH = "/usr/bin:/bin"
_AT = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_at(value: str) -> tuple[int, int]:
    """'06:30' → (6, 30)."""
    match = _AT.match(value)
    if not match:
        raise UsageError(f"--at must be a time of day such as 06:30, not {value!r}")
    return int(match.group(1)), int(match.group(2))


def tag_for(out: Path) -> str:
    """The trailing comment that marks this output folder's line: one line per folder."""
    return "digest:" + hashlib.sha256(os.path.abspath(out).encode()).hexdigest()[:12]


def digest_executable() -> list[str]:
    """How cron should start digest: this installation's `digest` script, by absolute path."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "digest" and argv0.is_file():
        # Absolute but not resolved: a venv's bin/digest must stay inside the venv.
        return [os.path.abspath(argv0)]
    beside = Path(sys.executable).parent / "digest"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("digest")
    if found:
        return [os.path.abspath(found)]
    # Not installed as a script (python -m digest): the same interpreter, by absolute path.
    return [os.path.abspath(sys.executable), "-m", "digest"]


def from_command_line(ctx: Any, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def make_arguments(command: Any, ctx: Any) -> list[str]:
    """The options given on the command line to `make`, re-spelt with absolute paths.

    Values from digest.toml are not repeated (the line passes --config instead), and values
    from the environment are not baked in (see `unseen_environment`): a secret stays out of
    the crontab. `command` and `ctx` are click objects; they are used by duck type because
    typer ships its own copy of click, whose classes are not click's.
    """
    arguments: list[str] = []
    positional: list[str] = []
    for param in command.params:
        name = param.name
        if name is None or not from_command_line(ctx, name):
            continue
        value = ctx.params[name]
        if param.param_type_name == "argument":
            positional += [_spell(param, v) for v in _as_list(value)]
        elif param.param_type_name == "option":
            arguments += _option_tokens(param, value)
    return arguments + positional


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _spell(param: Any, value: Any) -> str:
    if is_source_param(param) and is_url(value):
        return str(value)  # a feed or page URL is not a path to make absolute
    if is_path_param(param) or is_source_param(param):
        return os.path.abspath(os.path.expanduser(str(value)))
    return str(value)


def _option_tokens(option: Any, value: Any) -> list[str]:
    flag = max(option.opts, key=len)  # the long spelling reads better in a crontab
    if option.count:
        return [flag] * int(value or 0)
    if option.is_flag:
        if value:
            return [flag]
        return [max(option.secondary_opts, key=len)] if option.secondary_opts else []
    if option.multiple:
        return [t for v in value for t in (flag, _spell(option, v))]
    return [] if value is None else [flag, _spell(option, value)]


def unseen_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """DIGEST_* variables set here that a cron job will not see."""
    environ = os.environ if environ is None else environ
    return sorted(k for k in environ if k.startswith("DIGEST_") and k != "DIGEST_DEBUG")


def model_is_local(engine: str, model: str | None) -> bool:
    """True when `digest make` needs no network for its model: HF_HUB_OFFLINE=1 is then safe,
    and saves a nightly run from hanging on an unreachable hub."""
    if engine == "extractive":
        return True
    from digest.defaults import DEFAULT_MODEL
    from digest.engines.settings import resolve_model

    name = resolve_model(model or DEFAULT_MODEL)
    if Path(name).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an invalid repo id, say: then it is certainly not cached
        return False


def check_make_options(params: Mapping[str, Any]) -> None:
    """The `make` options that would only fail at night, checked now (UsageError). `params`
    come from make's own parsing, whose option callbacks have already checked the engine,
    backend, guard, executor and order (digest.cli_errors.checked)."""
    from digest.archive import site_base
    from digest.engines.settings import check_decoding, check_model_path, parse_generate
    from digest.publishing import parse_formats
    from digest.state import parse_since

    check_model_path(params["model"])
    check_decoding(params["engine"], parse_generate(params["generate"] or []))
    parse_formats(params["formats"])
    parse_since(params["since"])
    site_base(params["site_url"])


def model_note(engine: str, model: str | None) -> str:
    """What the job will do about a model that is not on this machine yet: the line is
    scheduled all the same, and this says what its nights will look like."""
    from digest.defaults import DEFAULT_MODEL
    from digest.engines.loading import can_download
    from digest.engines.settings import resolve_model

    name = resolve_model(model or DEFAULT_MODEL)
    if can_download():
        return (
            f"the model {name} is not downloaded yet: the first run downloads it; after that "
            "run `digest schedule` again, so the job runs offline (HF_HUB_OFFLINE=1) and "
            "never waits on the Hugging Face hub"
        )
    if engine == "seq2seq":
        return (
            f"the model {name} is not on this machine and the Hugging Face hub cannot be "
            "reached: the line is made all the same, but each run fails (exit 1) until a "
            "`digest make` with network downloads it; --engine auto would write extractive "
            "digests meanwhile"
        )
    return (
        f"the model {name} is not on this machine and the Hugging Face hub cannot be "
        "reached: the line is made all the same; until the model is downloaded, each digest "
        "is written by the built-in extractive engine (the articles' own key sentences) and "
        "says so, and the job downloads the model on the first night the hub answers"
    )


@dataclass(frozen=True)
class CronJob:
    minute: int
    hour: int
    command: str
    tag: str

    @property
    def line(self) -> str:
        # cron turns an unescaped % into a newline; any in a path must be escaped.
        command = self.command.replace("%", r"\%")
        return f"{self.minute} {self.hour} * * * {command} # {self.tag}"


def cron_job(
    *,
    at: tuple[int, int],
    executable: Sequence[str],
    make_args: Sequence[str],
    out: Path,
    log: Path,
    workdir: Path,
    config: Path | None = None,
    offline: bool = False,
) -> CronJob:
    """The job: cd to the folder it was made in, a known PATH and locale, output to `log`."""
    # NAME=value is an assignment only while NAME= is unquoted: quote the value alone, so a
    # folder with a space, a quote or a $ in it stays one word and is never expanded.
    env = [f"PATH={shlex.quote(f'{Path(executable[0]).parent}:{CRON_PATH}')}", "LANG=C.UTF-8"]
    if offline:
        env.append("HF_HUB_OFFLINE=1")
    argv = list(executable)
    if config is not None:
        argv += ["--config", os.path.abspath(config)]
    argv += ["make", *make_args]
    log = Path(os.path.abspath(log))
    # mkdir: the log's folder (the output folder, usually) may not exist before the first run.
    command = (
        f"cd {shlex.quote(os.path.abspath(workdir))} && mkdir -p {shlex.quote(str(log.parent))}"
        f" && {' '.join(env)} {shlex.join(argv)} >> {shlex.quote(str(log))} 2>&1"
    )
    hour, minute = at
    return CronJob(minute, hour, command, tag_for(out))


# --- the user's crontab, through the crontab command -------------------------------------------


def _crontab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("crontab")
    if executable is None:
        raise DigestError(
            "the crontab command was not found (install cron, or add the line printed by "
            "`digest schedule` to your scheduler by hand)"
        )
    return subprocess.run(
        [executable, *args], input=stdin, capture_output=True, text=True, check=False
    )


def read_crontab() -> list[str]:
    """The current user's crontab lines; none yet is an empty list, not an error."""
    result = _crontab("-l")
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return []
        raise DigestError(f"crontab -l failed: {result.stderr.strip() or result.returncode}")
    return result.stdout.splitlines()


def write_crontab(lines: Iterable[str]) -> None:
    text = "".join(f"{line}\n" for line in lines)  # cron ignores a last line without newline
    result = _crontab("-", stdin=text)
    if result.returncode != 0:
        raise DigestError(f"crontab could not be updated: {result.stderr.strip()}")


def _tagged(line: str, tag: str) -> bool:
    return re.search(rf"#\s*{re.escape(tag)}\s*$", line) is not None


def install(job: CronJob) -> bool:
    """Add `job`, replacing the line this output folder had; True when one was replaced."""
    lines = read_crontab()
    kept = [line for line in lines if not _tagged(line, job.tag)]
    write_crontab([*kept, job.line])
    return len(kept) != len(lines)


def remove(tag: str) -> int:
    """Delete the lines carrying `tag`; the number deleted (0 leaves the crontab untouched)."""
    lines = read_crontab()
    kept = [line for line in lines if not _tagged(line, tag)]
    if len(kept) != len(lines):
        write_crontab(kept)
    return len(lines) - len(kept)
