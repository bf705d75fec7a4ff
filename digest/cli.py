"""The `digest` command: parse options, call the library, write files, map errors to exit codes."""

from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from digest import __version__
from digest.cli_errors import OneLineErrors, checked, fail
from digest.defaults import (
    DEFAULT_CACHE_MAX_AGE,
    DEFAULT_EMAIL_MAX_SIZE,
    DEFAULT_FEED_ENTRIES,
    DEFAULT_FETCH_BUDGET,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_WORDS,
    DEFAULT_ORDER,
    DEFAULT_OUT,
    DEFAULT_SENDER,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WAIT_S,
)
from digest.engines.settings import parse_generate
from digest.errors import DigestError, UsageError
from digest.sizes import parse_size

log = logging.getLogger("digest.cli")


app = typer.Typer(
    cls=OneLineErrors,
    help="Turn a folder of articles into a digest people actually read.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Named, not left to typer: its default changed, and with markup off an escaped "\\[ray]"
    # in the help shows its backslash.
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"digest {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="DIGEST_CONFIG",
            help="Settings file (TOML) with defaults for the options, before or after the "
            "command \\[default: ./digest.toml].",
        ),
    ] = None,
) -> None:
    """Summarise every article in a folder into one Markdown digest (and JSON, email)."""
    from digest.config import default_map, find_config

    try:
        found = find_config(config)
        if found is not None:
            # The file's values become click's default_map: CLI > env > file > built-in.
            # `schedule` reads make's defaults through make; its own flags are not settings.
            commands = getattr(ctx.command, "commands", {})
            spelled: dict[str, str] = {}
            ctx.default_map = default_map(
                found, {name: c for name, c in commands.items() if name != "schedule"}, spelled
            )
            ctx.meta["digest.config_keys"] = spelled
            # The file's `out` is make's output folder; eval's --out is a report file.
            ctx.default_map.get("eval", {}).pop("out", None)
            ctx.meta["digest.config"] = found.absolute()
    except DigestError as exc:
        raise fail(exc) from None


def parse_date(value: str | None) -> _dt.date:
    if not value:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date must look like 2026-11-24, not {value!r}") from None


# Options `make` and `eval` share: one declaration, so their names, env vars and help agree.
EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        "-e",
        envvar="DIGEST_ENGINE",
        callback=checked("digest.engines:check_engine_name"),
        help="auto, extractive or seq2seq.",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        envvar="DIGEST_MODEL",
        help="Hugging Face model id, local folder or preset (fast, balanced, best).",
    ),
]
BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        envvar="DIGEST_BACKEND",
        callback=checked("digest.engines.ctranslate2_backend:check_backend_name"),
        help="What runs the seq2seq model: transformers, ctranslate2 (about 5x faster on a "
        "CPU; installed with digest) or auto (ctranslate2 when installed).",
    ),
]
GuardOption = Annotated[
    str,
    typer.Option(
        "--guard",
        envvar="DIGEST_GUARD",
        callback=checked("digest.guard:check_guard_mode"),
        help="Check what the model wrote against the source: fix (replace an unsupported "
        "sentence by the source sentence it paraphrased, or drop it), flag (keep it, marked "
        "with a dagger) or off. Extractive summaries are not checked.",
    ),
]
GuardModelOption = Annotated[
    str | None,
    typer.Option(
        "--guard-model",
        envvar="DIGEST_GUARD_MODEL",
        help="An NLI or factual-consistency model (hub id or local folder) the guard consults "
        "besides its lexical checker, when it loads.",
    ),
]
SmtpHost = Annotated[
    str | None,
    typer.Option(
        "--smtp-host", envvar="DIGEST_SMTP_HOST", help="SMTP server [default: localhost]."
    ),
]
SmtpPort = Annotated[
    int | None,
    typer.Option(
        "--smtp-port",
        envvar="DIGEST_SMTP_PORT",
        help="SMTP port [default: 25, 587 with starttls, 465 with ssl].",
    ),
]
SmtpSecurity = Annotated[
    str | None,
    typer.Option("--smtp-security", envvar="DIGEST_SMTP_SECURITY", help="none, starttls or ssl."),
]
SmtpUser = Annotated[
    str | None,
    typer.Option(
        "--smtp-user",
        envvar="DIGEST_SMTP_USER",
        help="Login name; the password is read from DIGEST_SMTP_PASSWORD only.",
    ),
]


@app.command("make")
def make_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Folders (searched recursively), files, feed or page URLs, feed files "
            "(.rss, .atom, .xml, .json) and OPML lists (.opml, local or URL) to summarise.",
            metavar="SRC",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder the digest is written to.")
    ] = DEFAULT_OUT,
    engine: EngineOption = "auto",
    model: ModelOption = None,
    generate: Annotated[
        list[str] | None,
        typer.Option(
            "--generate",
            "-g",
            help="A decoding setting for the model, KEY=VALUE, repeatable "
            "(e.g. -g num_beams=2 -g max_new_tokens=60).",
        ),
    ] = None,
    backend: BackendOption = "auto",
    guard: GuardOption = "fix",
    guard_model: GuardModelOption = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            envvar="DIGEST_EXECUTOR",
            callback=checked("digest.cluster:check_executor"),
            help="Where the work runs: local (this process) or ray (a Ray cluster; "
            "pip install 'article-digest\\[ray]').",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to join (auto, ray://HOST:10001) [default: $RAY_ADDRESS, else "
            "a new local Ray instance].",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="With --executor ray: summarising workers.")
    ] = 2,
    cpus_per_worker: Annotated[
        float,
        typer.Option("--cpus-per-worker", help="With --executor ray: CPUs each worker reserves."),
    ] = 1.0,
    gpus_per_worker: Annotated[
        float,
        typer.Option("--gpus-per-worker", help="With --executor ray: GPUs each worker reserves."),
    ] = 0.0,
    formats: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated: md, json, eml, html.")
    ] = "md",
    date: Annotated[
        str | None, typer.Option("--date", help="Digest date, YYYY-MM-DD (default: today).")
    ] = None,
    max_size: Annotated[
        str, typer.Option("--max-size", help="Skip input files larger than this.")
    ] = DEFAULT_MAX_SIZE,
    templates: Annotated[
        Path | None,
        typer.Option(
            "--templates",
            envvar="DIGEST_TEMPLATES",
            help="Folder of your own output templates, searched before the built-in ones.",
        ),
    ] = None,
    site_url: Annotated[
        str | None,
        typer.Option(
            "--site-url",
            envvar="DIGEST_SITE_URL",
            help="With html: the http(s) address DIR is served at, for the feed's absolute "
            "links (without it they are relative to feed.xml).",
        ),
    ] = None,
    feed_entries: Annotated[
        int,
        typer.Option("--feed-entries", min=1, help="With html: digests in feed.xml, the newest."),
    ] = DEFAULT_FEED_ENTRIES,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            envvar="DIGEST_SINCE",
            help="Only documents new or changed since the last digest in DIR ('last'), "
            "or modified within an age (24h, 7d, 90m) or since a date (2026-11-01).",
        ),
    ] = None,
    skip_empty: Annotated[
        bool, typer.Option("--skip-empty", help="Write no digest when nothing is new.")
    ] = False,
    max_entries: Annotated[
        int,
        typer.Option(
            "--max-entries", min=1, help="At most this many entries per feed, the newest."
        ),
    ] = DEFAULT_MAX_ENTRIES,
    include_updated: Annotated[
        bool,
        typer.Option(
            "--include-updated",
            help="With --since last, send feed entries again that changed after they were sent.",
        ),
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Fetch every feed and page afresh: no conditional requests, no stored "
            "article pages, and pages that failed recently are tried again.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.1, help="Seconds one HTTP request may take in all (feeds, pages)."
        ),
    ] = DEFAULT_TIMEOUT_S,
    fetch_budget: Annotated[
        str,
        typer.Option(
            "--fetch-budget",
            help="All of a run's fetching (feeds, lists, pages, retries) ends within this "
            "(10m, 90s, 1h; 'none' for no limit); sources not fetched by then are skipped.",
        ),
    ] = DEFAULT_FETCH_BUDGET,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            envvar="DIGEST_WAIT",
            help="Seconds to wait for another run writing to the same DIR (then exit 4).",
        ),
    ] = DEFAULT_WAIT_S,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            envvar="DIGEST_CACHE_DIR",
            help="Folder of the summary cache [default: your user cache folder, "
            "e.g. ~/.cache/digest].",
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")
    ] = False,
    cache_max_age: Annotated[
        str,
        typer.Option(
            "--cache-max-age",
            envvar="DIGEST_CACHE_MAX_AGE",
            help="Prune cached summaries and converted models unused this long (30d, 12w; "
            "'never' keeps them); checked at most once a day.",
        ),
    ] = DEFAULT_CACHE_MAX_AGE,
    email_to: Annotated[
        str | None,
        typer.Option(
            "--email-to",
            envvar="DIGEST_EMAIL_TO",
            help="Send the email digest to these comma-separated addresses after writing it.",
        ),
    ] = None,
    email_from: Annotated[
        str | None,
        typer.Option(
            "--email-from",
            envvar="DIGEST_EMAIL_FROM",
            help=f"The email digest's From address [default: {DEFAULT_SENDER}].",
        ),
    ] = None,
    email_max_size: Annotated[
        str,
        typer.Option(
            "--email-max-size",
            help="Keep the email's HTML part, as sent, within this: later articles are cut to "
            "their TL;DR, then listed by title only (Gmail clips at about 102KB).",
        ),
    ] = DEFAULT_EMAIL_MAX_SIZE,
    smtp_host: SmtpHost = None,
    smtp_port: SmtpPort = None,
    smtp_security: SmtpSecurity = None,
    smtp_user: SmtpUser = None,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge/--no-merge",
            help="One entry per story: documents reporting the same event are merged.",
        ),
    ] = True,
    order: Annotated[
        str,
        typer.Option(
            "--order",
            envvar="DIGEST_ORDER",
            callback=checked("digest.ranking:check_order"),
            help="rank (most independent sources first, then newest, then --weight), "
            "date (newest first) or feed (as read, grouped by feed).",
        ),
    ] = DEFAULT_ORDER,
    max_words: Annotated[
        int,
        typer.Option(
            "--max-words",
            min=0,
            envvar="DIGEST_MAX_WORDS",
            help="Reading budget in words of prose (about 7 minutes at 1500): the top stories "
            "in full until it is spent, the rest one line each; 0 for no limit.",
        ),
    ] = DEFAULT_MAX_WORDS,
    weight: Annotated[
        list[str] | None,
        typer.Option(
            "--weight",
            help="OUTLET=WEIGHT, repeatable: among stories as widely reported and as recent, "
            "those from outlets weighed more come first (default weight 1).",
        ),
    ] = None,
) -> None:
    """Summarise SOURCES into DIR/digest-YYYY-MM-DD.md; print the paths written."""
    from digest.cache_maintenance import parse_max_age
    from digest.cluster import RaySettings, check_executor
    from digest.console import ProgressReporter, configure_logging
    from digest.guard import check_guard_mode
    from digest.http import FetchPolicy, parse_budget
    from digest.pipeline import Options
    from digest.publishing import MailPlan, PublishOptions, parse_formats, publish
    from digest.ranking import check_order, parse_weights
    from digest.reading import as_sources
    from digest.sources.web import WebOptions
    from digest.state import parse_since

    configure_logging(-1 if quiet else verbose)
    try:
        fmts = parse_formats(formats)
        chosen_executor = check_executor(executor)
        options = Options(
            engine=engine,
            model=model,
            backend=backend,
            guard=check_guard_mode(guard),
            guard_model=guard_model,
            generate=parse_generate(generate or []),
            date=parse_date(date),
            max_bytes=parse_size(max_size),
            cache=None if no_cache else _cache_file(cache_dir),
            conversions=_conversions(cache_dir),
            executor=chosen_executor,
            ray=RaySettings(
                address=ray_address,
                workers=workers,
                cpus_per_worker=cpus_per_worker,
                gpus_per_worker=gpus_per_worker,
            )
            if chosen_executor == "ray"
            else None,
            web=WebOptions(
                max_entries=max_entries,
                include_updated=include_updated,
                refresh=refresh,
                http=FetchPolicy(
                    timeout=timeout,
                    max_bytes=parse_size(max_size),
                    budget=parse_budget(fetch_budget),
                ),
            ),
            cache_max_age=parse_max_age(cache_max_age),
            merge=merge,
            order=check_order(order),
            max_words=max_words,
            weights=parse_weights(weight or []),
        )
        publishing = PublishOptions(
            out=out,
            formats=fmts,
            templates=templates,
            site_url=site_url,
            feed_entries=feed_entries,
            since=parse_since(since),
            skip_empty=skip_empty,
            wait=wait,
            mail=MailPlan.from_options(
                fmts,
                email_to=email_to,
                email_from=email_from,
                email_max_size=email_max_size,
                smtp=dict(host=smtp_host, port=smtp_port, security=smtp_security, user=smtp_user),
            ),
        )
        result = publish(
            as_sources(sources or []),
            options,
            publishing,
            progress=ProgressReporter(enabled=not quiet),
        )
    except DigestError as exc:
        raise fail(exc) from None
    for path in result.written:
        typer.echo(str(path))
    if result.undelivered is not None:
        raise fail(result.undelivered)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _cache_folder(cache_dir: Path | None) -> Path:
    """--cache-dir (DIGEST_CACHE_DIR, digest.toml) or the user cache, `~` expanded: cron
    passes the variable as written."""
    from digest.locations import default_cache_dir

    return cache_dir.expanduser() if cache_dir is not None else default_cache_dir()


def _cache_file(cache_dir: Path | None) -> Path:
    from digest.cache import CACHE_FILENAME

    return _cache_folder(cache_dir) / CACHE_FILENAME


def _conversions(cache_dir: Path | None) -> Path:
    """Converted models live beside the summaries, even when the summary cache is off."""
    from digest.engines.conversions import conversions_folder

    return conversions_folder(_cache_folder(cache_dir))


@app.command("eval")
def eval_command(
    pairs: Annotated[
        Path | None,
        typer.Argument(
            help='JSON lines: "article" (or "text") and "reference" (or a list, '
            '"references"); optional "id" and "format" (text, markdown, html).'
        ),
    ] = None,
    consistency: Annotated[
        Path | None,
        typer.Option(
            "--consistency",
            help="Instead of ROUGE: score the faithfulness checker against human consistency "
            "labels in this file (SummEval layout: id, src, sys_summs.M.sys_summ, "
            "sys_summs.M.scores.consistency).",
        ),
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="Which summary to score: article, tldr, section.")
    ] = "article",
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", "-b", help="LEAD-k baselines to score too, e.g. lead-3,lead-1."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Only the first N usable pairs.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the report to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Report as JSON, not Markdown.")] = False,
    engine: EngineOption = "auto",
    model: ModelOption = None,
    generate: Annotated[
        list[str] | None,
        typer.Option("--generate", "-g", help="A decoding setting, KEY=VALUE, repeatable."),
    ] = None,
    backend: BackendOption = "auto",
    guard: GuardOption = "fix",
    guard_model: GuardModelOption = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", envvar="DIGEST_CACHE_DIR", help="Folder of the summary cache."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
) -> None:
    """Summarise every article in PAIRS as `digest make` would and score it with ROUGE (and
    the share of model sentences the faithfulness guard finds unsupported); or, with
    --consistency, score the guard's checker against human consistency labels."""
    from digest.console import ProgressReporter, configure_logging

    configure_logging(-1 if quiet else verbose)
    try:
        if consistency is not None or pairs is None:
            from digest.consistency import consistency_text

            text = consistency_text(consistency, pairs, as_json=as_json)
        else:
            text = _eval(
                pairs,
                kind=kind,
                baseline=baseline,
                limit=limit,
                as_json=as_json,
                engine=engine,
                model=model,
                generate=parse_generate(generate or []),
                backend=backend,
                guard=guard,
                guard_model=guard_model,
                cache=None if no_cache else _cache_file(cache_dir),
                conversions=_conversions(cache_dir),
                progress=ProgressReporter(enabled=not quiet),
            )
        if out is not None:
            from digest.files import write_atomic

            write_atomic(out, text)
    except DigestError as exc:
        raise fail(exc) from None
    typer.echo(text, nl=False)


def _eval(
    pairs: Path,
    *,
    kind: str,
    baseline: str | None,
    limit: int | None,
    as_json: bool,
    engine: str,
    model: str | None,
    generate: dict[str, Any],
    backend: str,
    guard: str,
    guard_model: str | None,
    cache: Path | None,
    conversions: Path,
    progress: Any,
) -> str:
    from digest.engines import check_engine_name
    from digest.engines.ctranslate2_backend import require_backend
    from digest.evaluate import evaluate, parse_baselines, report_json, report_markdown
    from digest.guard import check_guard_mode
    from digest.pipeline import Options

    check_engine_name(engine)
    backend = require_backend(backend)
    options = Options(
        engine=engine,
        model=model,
        generate=generate,
        backend=backend,
        guard=check_guard_mode(guard),
        guard_model=guard_model,
        cache=cache,
        conversions=conversions,
    )
    with progress:
        report = evaluate(
            pairs,
            options,
            kind=kind,
            baselines=parse_baselines(baseline),
            limit=limit,
            progress=progress,
        )
    return report_json(report) if as_json else report_markdown(report)


@app.command(
    "schedule",
    # Everything schedule does not know is a `make` argument, parsed by make itself below.
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def schedule_command(
    ctx: typer.Context,
    at: Annotated[
        str | None, typer.Option("--at", help="Time of day to run, HH:MM (local time).")
    ] = None,
    install: Annotated[
        bool,
        typer.Option("--install", help="Add the line to your crontab (replacing DIR's old one)."),
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Delete DIR's line from your crontab.")
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log", help="Where the job's output goes [default: DIR/digest.log]."),
    ] = None,
) -> None:
    """Print the crontab line that runs `digest make SOURCES... [OPTIONS]` every day.

    Give it the sources and `make` options you would give `digest make`; paths become
    absolute, and the job runs with cron's bare environment in mind. --install adds the line
    to your crontab (running it again replaces it), --remove deletes it.
    """
    try:
        _schedule(ctx, at=at, install=install, remove=remove, log_file=log_file)
    except DigestError as exc:
        raise fail(exc) from None


def _schedule(
    ctx: typer.Context, *, at: str | None, install: bool, remove: bool, log_file: Path | None
) -> None:
    from digest import schedule

    if install and remove:
        raise UsageError("--install and --remove do not go together")
    assert ctx.parent is not None
    make = getattr(ctx.parent.command, "commands", {})["make"]
    # Parsed exactly as `digest make` would parse them (with digest.toml's defaults), so a
    # mistake shows up now rather than at 06:30 tomorrow.
    made = make.make_context("make", list(ctx.args), parent=ctx.parent)
    params = made.params
    out = Path(os.path.abspath(params["out"]))
    if remove:
        count = schedule.remove(schedule.tag_for(out))
        typer.echo(f"digest: removed {count} line(s) for {out} from your crontab", err=True)
        return
    if at is None:
        raise UsageError("give the time of day to run with --at, e.g. --at 06:30")
    hour_minute = schedule.parse_at(at)
    if not params["sources"]:
        raise UsageError("give at least one folder or file to summarise, e.g. digest make seeds/")
    schedule.check_make_options(params)

    args = schedule.make_arguments(make, made)
    if not schedule.from_command_line(made, "out"):
        args = ["--out", str(out), *args]
    cache_source = made.get_parameter_source("cache_dir")
    if not params["no_cache"] and cache_source.name in ("DEFAULT", "ENVIRONMENT"):
        # cron has neither $DIGEST_CACHE_DIR nor $XDG_CACHE_HOME: name the folder this shell uses.
        args = ["--cache-dir", str(_cache_file(params["cache_dir"]).parent), *args]
    if not params["quiet"] and not params["verbose"]:
        args = ["--quiet", *args]
    offline = schedule.model_is_local(params["engine"], params["model"])
    job = schedule.cron_job(
        at=hour_minute,
        executable=schedule.digest_executable(),
        make_args=args,
        out=out,
        log=log_file or out / schedule.LOG_FILENAME,
        workdir=Path.cwd(),
        config=ctx.meta.get("digest.config"),
        offline=offline,
    )
    typer.echo(job.line)
    unseen = [
        v for v in schedule.unseen_environment() if v not in ("DIGEST_CACHE_DIR", "DIGEST_CONFIG")
    ]
    if unseen:
        typer.echo(
            f"digest: note: cron will not see {', '.join(unseen)}; pass them as options "
            "or put them in digest.toml",
            err=True,
        )
    if not offline:
        typer.echo(
            f"digest: note: {schedule.model_note(params['engine'], params['model'])}", err=True
        )
    if install:
        replaced = schedule.install(job)
        typer.echo(
            f"digest: {'replaced the' if replaced else 'added a'} line for {out} in your crontab",
            err=True,
        )


@app.command("send")
def send_command(
    file: Annotated[Path, typer.Argument(help="An .eml file written by `digest make -f eml`.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            envvar="DIGEST_EMAIL_TO",
            help="Comma-separated recipients, replacing the file's To [default: the file's To].",
        ),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option("--from", envvar="DIGEST_EMAIL_FROM", help="Replace the file's From."),
    ] = None,
    smtp_host: SmtpHost = None,
    smtp_port: SmtpPort = None,
    smtp_security: SmtpSecurity = None,
    smtp_user: SmtpUser = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
) -> None:
    """Send an email digest that is already on disk; exit 5 if it could not be delivered."""
    from digest.console import configure_logging
    from digest.delivery import SmtpSettings, send_message
    from digest.email import parse_addresses, read_message

    configure_logging(-1 if quiet else 0)
    try:
        settings = SmtpSettings.from_env(
            host=smtp_host, port=smtp_port, security=smtp_security, user=smtp_user
        )
        message = read_message(file)
        recipients = parse_addresses(to) if to else None
        if not recipients and not message.get_all("To"):
            raise UsageError(f"{file} has no To header: pass --to or set DIGEST_EMAIL_TO")
        send_message(message, settings, recipients=recipients, sender=sender)
    except DigestError as exc:
        raise fail(exc) from None
    log.info("sent %s", file)


cache_app = typer.Typer(
    help="Look after the summary cache and the converted models: info, clear, prune.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")

CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        envvar="DIGEST_CACHE_DIR",
        help="The cache folder [default: your user cache folder, e.g. ~/.cache/digest].",
    ),
]


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    moment = _dt.datetime.fromtimestamp(stamp).astimezone()
    days = (_dt.datetime.now().astimezone() - moment).days
    ago = "today" if days < 1 else f"{days} day{'s' if days > 1 else ''} ago"
    return f"{moment.isoformat(sep=' ', timespec='minutes')} ({ago})"


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@cache_app.command("info")
def cache_info_command(cache_dir: CacheDir = None) -> None:
    """Where the cache is, what it holds, how big it is, and when it was last used."""
    from digest.cache_maintenance import cache_info

    info = cache_info(_cache_folder(cache_dir))
    lines = [f"location:     {info.folder}"]
    if not info.exists:
        lines.append("summaries:    none yet (no cache file)")
    elif info.newer is not None:
        lines.append(
            f"summaries:    not read: {info.database.name} ({_size(info.database_bytes)}) was "
            f"written by a newer version of digest (cache schema {info.newer})"
        )
    else:
        lines += [
            f"summaries:    {info.entries:,} in {info.database.name}"
            f" ({_size(info.database_bytes)})",
            f"oldest use:   {_when(info.oldest_use)}",
            f"newest use:   {_when(info.newest_use)}",
            f"last pruned:  {_when(info.last_pruned)}",
        ]
    lines.append(f"conversions:  {len(info.conversions)}")
    lines += [
        f"  {c.name}  {_size(c.bytes)}  last used {_when(c.last_used)}" for c in info.conversions
    ]
    if info.corrupt:
        damaged = sum(c.bytes for c in info.corrupt)
        lines.append(
            f"damaged:      {len(info.corrupt)} unreadable cache file(s) moved aside"
            f" ({_size(damaged)}), pruned like the summaries"
        )
        lines += [
            f"  {c.name}  {_size(c.bytes)}  moved aside {_when(c.moved_aside)}"
            for c in info.corrupt
        ]
    lines.append(f"total size:   {_size(info.total_bytes)}")
    typer.echo("\n".join(lines))


@cache_app.command("clear")
def cache_clear_command(
    cache_dir: CacheDir = None,
    conversions: Annotated[
        bool, typer.Option("--conversions", help="Delete the converted models too.")
    ] = False,
) -> None:
    """Delete every cached summary (and, with --conversions, every converted model)."""
    from digest.cache_maintenance import clear_cache

    removed = clear_cache(_cache_folder(cache_dir), include_conversions=conversions)
    _report(removed, "deleted")


@cache_app.command("prune")
def cache_prune_command(
    older_than: Annotated[
        str,
        typer.Option("--older-than", help="Delete what was not used for this long: 30d, 12h, 2w."),
    ],
    cache_dir: CacheDir = None,
) -> None:
    """Delete cached summaries and converted models not used for --older-than."""
    from digest.cache_maintenance import parse_age, prune_cache

    try:
        age = parse_age(older_than)
    except DigestError as exc:
        raise fail(exc) from None
    _report(prune_cache(_cache_folder(cache_dir), age), "pruned")


def _report(removed: Any, verb: str) -> None:
    size = sum(c.bytes for c in removed.conversions)
    damaged = ""
    if removed.corrupt:
        damaged = (
            f", and {len(removed.corrupt)} damaged cache file(s)"
            f" ({_size(sum(c.bytes for c in removed.corrupt))})"
        )
    if removed.summaries < 0:
        if removed.conversions or removed.corrupt:  # what went besides, said before failing
            typer.echo(
                f"digest: {verb} {len(removed.conversions)} converted model(s) "
                f"({_size(size)}){damaged}",
                err=True,
            )
        raise fail(DigestError("the summary cache could not be changed (see the warning above)"))
    typer.echo(
        f"digest: {verb} {removed.summaries:,} summaries ({_size(removed.database_bytes)}) and "
        f"{len(removed.conversions)} converted model(s) ({_size(size)}){damaged}; "
        f"{_size(removed.bytes)} freed",
        err=True,
    )


def main() -> None:
    """Console-script entry point."""
    app(prog_name="digest")


if __name__ == "__main__":  # pragma: no cover
    main()
