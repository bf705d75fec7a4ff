"""One run's policy, from the output folder's lock to its saved state: what `digest make` does.

make_digest() only summarises; publish() decides what is written where and when a run counts
as done: same-day `-N` names for --since digests, the "nothing new" rule, every format
rendered before any is written, email delivery, and the state saved last. A Python caller
gets the same guarantees as the command line.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from digest.defaults import (
    DEFAULT_FEED_ENTRIES,
    DEFAULT_FORMATS,
    DEFAULT_MAX_HTML_BYTES,
    DEFAULT_OUT,
    DEFAULT_WAIT_S,
)
from digest.errors import DeliveryError, UsageError
from digest.options import Options
from digest.reading import Progress, as_sources

if TYPE_CHECKING:
    from email.headerregistry import Address

    from digest.delivery import SmtpSettings
    from digest.model import Digest
    from digest.state import Since

log = logging.getLogger(__name__)

#: What publish() can write, by file suffix.
FORMATS = ("md", "json", "eml", "html")

EXIT_OK, EXIT_SKIPPED = 0, 3


def parse_formats(value: str) -> tuple[str, ...]:
    """'md, JSON,md' → ('md', 'json'); an unknown or empty list is a UsageError."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    return _known_formats(formats, given=repr(value))


def _known_formats(formats: tuple[str, ...], *, given: str) -> tuple[str, ...]:
    """`formats`, or a UsageError when one is unknown or there are none (`given` shown then)."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"unknown format {', '.join(unknown) or given}; choose from {', '.join(FORMATS)}"
        )
    return formats


@dataclass(frozen=True)
class MailPlan:
    """Who the email digest is from and to, and (when it is to be sent) through which server."""

    sender: Address
    recipients: tuple[Address, ...] = ()
    #: None writes the .eml without sending it.
    settings: SmtpSettings | None = None
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES

    @classmethod
    def from_options(
        cls,
        formats: Sequence[str],
        *,
        email_to: str | None,
        email_from: str | None,
        email_max_size: str,
        smtp: dict[str, object],
    ) -> MailPlan | None:
        """The plan the email options describe (None: no email), resolved before any
        summarising so a bad address or SMTP setting fails fast (UsageError)."""
        if "eml" not in formats and not email_to:
            return None
        from digest.defaults import DEFAULT_SENDER
        from digest.delivery import SmtpSettings
        from digest.email import parse_addresses, resolve_sender
        from digest.sizes import parse_size

        recipients = parse_addresses(email_to) if email_to else ()
        settings = SmtpSettings.from_env(**smtp) if email_to else None  # type: ignore[arg-type]
        # email_from already holds --email-from, else DIGEST_EMAIL_FROM, else digest.toml.
        sender = resolve_sender(email_from or DEFAULT_SENDER)
        return cls(sender, recipients, settings, parse_size(email_max_size, "--email-max-size"))


@dataclass(frozen=True)
class PublishOptions:
    """Where and how a digest is published (the summarising itself is pipeline.Options)."""

    out: Path = DEFAULT_OUT
    formats: tuple[str, ...] = DEFAULT_FORMATS
    #: A folder of the user's own output templates, searched before the built-in ones.
    templates: Path | None = None
    #: Only documents new or changed by this rule (see digest.state.parse_since).
    since: Since | None = None
    #: Write nothing at all when there is nothing to summarise.
    skip_empty: bool = False
    #: Seconds to wait for another run on the same output folder.
    wait: float = DEFAULT_WAIT_S
    #: Required for the eml format; with settings, the message is also sent (and the eml
    #: format is written whether listed or not: a failed delivery keeps the .eml on disk).
    mail: MailPlan | None = None
    #: With the html format: the address the folder is served at (http or https), for the
    #: feed's absolute links; None leaves them relative to the feed.
    site_url: str | None = None
    #: With the html format: how many digests, the newest, the feed holds.
    feed_entries: int = DEFAULT_FEED_ENTRIES

    @property
    def written_formats(self) -> tuple[str, ...]:
        """`formats`, with eml added when the digest is to be sent."""
        sending = self.mail is not None and self.mail.settings is not None
        return (*self.formats, "eml") if sending and "eml" not in self.formats else self.formats


@dataclass(frozen=True)
class Published:
    """What a run did: the files written (in format order), the digest, a failed delivery."""

    written: tuple[Path, ...] = ()
    digest: Digest | None = None
    #: The email could not be sent; the files are on disk all the same (exit 5).
    undelivered: DeliveryError | None = None

    @property
    def skipped(self) -> int:
        """Inputs found but not in the digest: skipped ones, and files of unreadable formats."""
        if self.digest is None:
            return 0
        return len(self.digest.skipped) + sum(u.files for u in self.digest.unreadable)

    @property
    def exit_code(self) -> int:
        """The documented exit code: 5 not delivered, 3 some inputs skipped, else 0."""
        if self.undelivered is not None:
            return self.undelivered.exit_code
        return EXIT_SKIPPED if self.skipped else EXIT_OK


def check(sources: Sequence[Path | str], options: Options, publishing: PublishOptions) -> None:
    """Every mistake that needs no summarising, raised before anything is created on disk."""
    from digest.cluster import check_executor, require_ray
    from digest.engines import check_engine_name
    from digest.engines.ctranslate2_backend import require_backend
    from digest.engines.settings import check_decoding, check_model_path
    from digest.sources import check_sources

    if not sources:
        raise UsageError("give at least one folder or file to summarise, e.g. digest make seeds/")
    check_decoding(check_engine_name(options.engine), options.generate)
    check_model_path(options.model)
    require_backend(options.backend)
    if check_executor(options.executor) == "ray":
        require_ray()  # one line naming the install command, before anything is created
    _known_formats(publishing.formats, given="(none)")
    if publishing.templates is not None and not publishing.templates.is_dir():
        raise UsageError(f"--templates: no such folder: {publishing.templates}")
    if "html" in publishing.formats:
        from digest.archive import site_base

        site_base(publishing.site_url)
        if publishing.feed_entries < 1:
            raise UsageError("--feed-entries: give 1 or more")
    # URLs are checked when fetched: one that fails is a Skipped line, not a usage error.
    check_sources([s for s in sources if isinstance(s, Path)])


def publish(
    sources: Sequence[Path | str],
    options: Options | None = None,
    publishing: PublishOptions | None = None,
    *,
    progress: Progress | None = None,
) -> Published:
    """Summarise `sources` and write the digest into `publishing.out`, under its lock.

    Raises DigestError for anything that stops the run (nothing written then); a failed email
    delivery is returned in `Published.undelivered` instead, as the files are written.
    """
    from digest.files import remove_stale_temporaries
    from digest.locking import output_lock
    from digest.pipeline import make_digest
    from digest.state import RunState

    options = options or Options()
    publishing = publishing or PublishOptions()
    paths = as_sources(sources)
    check(paths, options, publishing)
    out, since = publishing.out, publishing.since
    # One run per output folder; everything from reading the state to saving it is inside.
    with output_lock(out, wait=publishing.wait):
        remove_stale_temporaries(out)
        state = RunState.load(out)
        bar = progress if isinstance(progress, AbstractContextManager) else nullcontext()
        with bar:
            digest = make_digest(
                paths,
                options,
                progress=progress,
                select=state.selector(since),
                memory=state.remote_memory(
                    since, include_updated=bool(options.web and options.web.include_updated)
                ),
            )
        stem = out / f"digest-{digest.date.isoformat()}"
        earlier = _exists(stem, publishing.written_formats)
        if not digest.articles and (publishing.skip_empty or (since and earlier)):
            # A second --since run on the same day must not replace the morning's digest
            # with one that says "nothing new". Sources that failed make no digest either
            # (one of Skipped lines alone, every night a feed stays broken): they are on
            # stderr already, and in the exit code.
            what = f"nothing new {since.describe()}" if since else "nothing to summarise"
            failed = Published(digest=digest).skipped
            if failed:
                log.warning("%s; no digest written (%d input(s) skipped, above)", what, failed)
            else:
                log.info("%s; no digest written", what)
            state.save()
            return Published(digest=digest)
        if since and earlier:
            # A --since digest holds only what was new: replacing the day's earlier one would
            # lose those documents, so the second of the day is digest-DATE-2, and so on.
            stem = next(
                candidate
                for n in range(2, 10_000)
                if not _exists(
                    candidate := stem.with_name(f"{stem.name}-{n}"), publishing.written_formats
                )
            )
        written = write_outputs(digest, stem, publishing)
        mail = publishing.mail
        if mail is not None and mail.settings is not None:
            from digest.delivery import send_message
            from digest.email import read_message

            eml = next(p for p in written if p.suffix == ".eml")
            try:
                send_message(read_message(eml), mail.settings, recipients=mail.recipients)
            except DeliveryError as exc:
                # Not sent, so not done: the next --since last run offers these documents again.
                return Published(tuple(written), digest, DeliveryError(f"{exc} ({eml} kept)"))
            log.info("email digest sent to %s", ", ".join(str(r) for r in mail.recipients))
        # Only now, with the digest on disk (and delivered), do its documents stop being new.
        state.save()
    return Published(tuple(written), digest)


def _exists(stem: Path, formats: Sequence[str]) -> bool:
    return any(stem.with_name(f"{stem.name}.{fmt}").exists() for fmt in formats)


def render_outputs(
    digest: Digest, publishing: PublishOptions, *, now: _dt.datetime | None = None
) -> dict[str, bytes]:
    """Every format asked for, rendered in memory: a broken template fails before any write.
    `now` is when the HTML page says it was made (default: now)."""
    from digest.html_page import render_html
    from digest.render import render_json, render_markdown

    templates = publishing.templates

    def eml() -> str | bytes:
        from digest.defaults import DEFAULT_SENDER
        from digest.email import build_message, message_bytes, resolve_sender

        mail = publishing.mail or MailPlan(resolve_sender(DEFAULT_SENDER))
        message = build_message(
            digest,
            sender=mail.sender,
            recipients=mail.recipients,
            templates_dir=templates,
            max_html_bytes=mail.max_html_bytes,
        )
        return message_bytes(message)

    renderers: dict[str, Callable[[], str | bytes]] = {
        "md": lambda: render_markdown(digest, templates),
        "json": lambda: render_json(digest),
        "eml": eml,
        "html": lambda: render_html(digest, templates, updated=now),
    }
    rendered = {}
    for fmt in publishing.written_formats:
        data = renderers[fmt]()
        rendered[fmt] = data.encode("utf-8") if isinstance(data, str) else data
    return rendered


def write_outputs(digest: Digest, stem: Path, publishing: PublishOptions) -> list[Path]:
    """Render every format, then write them all (stem.md, stem.json, …); the paths written.

    With the html format, the folder's archive page and feed are rendered too, taking in the
    new page, and written in the same atomic step.
    """
    from digest.archive import ARCHIVE_FILENAME, archive_files
    from digest.files import write_all_atomic

    rendered = render_outputs(digest, publishing)
    files: dict[Path, str | bytes] = {
        stem.with_name(f"{stem.name}.{fmt}"): data for fmt, data in rendered.items()
    }
    if "html" in rendered:
        page = stem.with_name(f"{stem.name}.html")
        files.update(
            archive_files(
                stem.parent,
                pending={page.name: rendered["html"]},
                site_url=publishing.site_url,
                feed_entries=publishing.feed_entries,
                templates_dir=publishing.templates,
            )
        )
    written = [p for p in write_all_atomic(files) if p.name != ARCHIVE_FILENAME]
    log.info(
        "digest of %d article(s) written with the %s engine; %d skipped",
        len(digest.articles),
        digest.engine,
        len(digest.skipped),
    )
    return written
