"""Digest → one multipart/alternative email (text part, then HTML part), and .eml files."""

from __future__ import annotations

# Absolute imports: these are the standard library's `email` package, not this module.
import datetime as _dt
import logging
import math
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import Any

import jinja2

from digest.defaults import DEFAULT_MAX_HTML_BYTES
from digest.errors import UsageError
from digest.model import Digest
from digest.render import load_template, plural, render_loaded, short_date
from digest.text import CONTROL_CHARACTERS, one_line

log = logging.getLogger(__name__)

TEXT_WIDTH = 76

HTML_TEMPLATE = "email.html.j2"
TEXT_TEMPLATE = "email.txt.j2"

_SPACE = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_EMPTY_ENTRIES = re.compile(r",[\s,]*,")


def paragraphs(text: str | None) -> list[str]:
    """Split text at blank lines into one-line paragraphs (empty ones dropped)."""
    if not text:
        return []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p for p in (one_line(chunk) for chunk in _BLANK_LINE.split(text)) if p]


def wrap(
    text: str | None, width: int = TEXT_WIDTH, initial: str = "", subsequent: str | None = None
) -> str:
    """Fill each paragraph to `width` columns; paragraphs stay apart by one blank line."""
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=initial,
        subsequent_indent=initial if subsequent is None else subsequent,
        # Paths and URLs stay whole (and copy-pasteable) even when longer than a line.
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n\n".join(wrapper.fill(p) for p in paragraphs(text))


def subject_for(digest: Digest) -> str:
    """'Digest — 24 Nov 2026 — 3 articles' ('… — 5 articles in 3 stories' when some were
    merged): built from the date and counts, never document text."""
    counts = plural(len(digest.articles), "article")
    stories = len(digest.entries)
    if stories != len(digest.articles):
        counts += f" in {plural(stories, 'story')}"
    return f"Digest — {short_date(digest.date)} — {counts}"


# --- addresses ---------------------------------------------------------------------------


def parse_addresses(value: str | Address | Iterable[str | Address] | None) -> tuple[Address, ...]:
    """'Zoë Müller <zoe@example.org>, b@y.org' (or a list of such) → validated Addresses."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str | Address) else list(value)
    found: list[Address] = []
    for item in items:
        if isinstance(item, Address):
            # The stdlib refuses CR/LF in Address parts; the checks still apply to the rest.
            found.append(_address(item.display_name, item.addr_spec))
            continue
        if CONTROL_CHARACTERS.search(item):
            # getaddresses() mis-splits such input instead of failing; a line break in an
            # address option is never legitimate, and in a header it would add headers.
            raise UsageError(f"not an email address (control character): {one_line(item)!r}")
        # Empty entries (a trailing comma, ",,") are harmless; getaddresses() also returns
        # ('', '') for input it cannot parse, which must not be silently dropped.
        text = _EMPTY_ENTRIES.sub(",", item).strip(" \t,")
        if not text:
            continue
        for name, addr in getaddresses([text]):
            found.append(_address(name, addr or name or text))
    return tuple(found)


def _address(name: str, addr: str) -> Address:
    addr = addr.strip()
    if addr.count("@") != 1 or CONTROL_CHARACTERS.search(addr) or _SPACE.search(addr):
        raise UsageError(f"not an email address: {one_line(addr)!r}")
    try:
        return Address(display_name=one_line(name), addr_spec=addr)
    except (ValueError, IndexError, HeaderParseError):
        # The stdlib's addr-spec parser raises all three, depending on how the input is broken.
        raise UsageError(f"not an email address: {one_line(addr)!r}") from None


def resolve_sender(sender: str | Address | None, env: Mapping[str, str] | None = None) -> Address:
    """The From address: the option if given, else DIGEST_EMAIL_FROM."""
    env = os.environ if env is None else env
    found = parse_addresses(sender or env.get("DIGEST_EMAIL_FROM") or None)
    if not found:
        raise UsageError("no sender address: pass --from or set DIGEST_EMAIL_FROM")
    if len(found) > 1:
        raise UsageError("give one sender address, not several")
    return found[0]


# --- rendering ---------------------------------------------------------------------------


def _templates(templates_dir: Path | None) -> tuple[jinja2.Template, jinja2.Template]:
    """The text and HTML templates (user folder first), with the email filters registered."""
    filters = {"one_line": one_line, "paragraphs": paragraphs, "wrap": wrap}
    return (
        load_template(TEXT_TEMPLATE, templates_dir, filters=filters),
        load_template(HTML_TEMPLATE, templates_dir, autoescape=True, filters=filters),
    )


@dataclass(frozen=True)
class RenderedEmail:
    """Both parts of the email, and how they were fitted within the size limit.

    The first `full` articles are shown whole, those up to `shown` by their TL;DR, and the
    rest by title only (in the contents). `html_size` is the HTML part as sent (see
    html_part_size); `fits` says whether it is within the limit the size note names.
    """

    text: str
    html: str
    full: int
    shown: int
    count: int
    html_size: int
    fits: bool

    @property
    def shortened(self) -> int:
        """Articles shown by their TL;DR only."""
        return self.shown - self.full

    @property
    def listed(self) -> int:
        """Articles listed by title only."""
        return self.count - self.shown


def html_part_size(html: str) -> int:
    """The HTML part's size as sent: its MIME headers and its quoted-printable body with CRLF
    line ends, as build_message writes it (mail clients such as Gmail clip by size, and
    quoted-printable makes markup larger: every "=" of an inline style is "=3D")."""
    part = EmailMessage(policy=policy.SMTP)
    part.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return len(part.as_bytes(policy=policy.SMTP))


def size_note(full: int, shown: int, count: int, max_html_bytes: int, *, fits: bool) -> str:
    """The note readers get when articles were cut to fit ("" when none was): what was cut,
    and a size that is true of the HTML part they are reading."""
    shortened, listed = shown - full, count - shown
    if not shortened and not listed:
        return ""
    cuts = []
    if shortened:
        its = "its" if shortened == 1 else "their"
        cuts.append(f"{plural(shortened, 'article')} shortened to {its} TL;DR")
    if listed:
        cuts.append(f"{plural(listed, 'article')} listed by title only")
    done = " and ".join(cuts)
    limit = f"{math.ceil(max_html_bytes / 1000):,} KB"
    if not fits:
        return f"{done}; even so this email's HTML is over {limit}: some mail clients will cut it."
    return f"{done}{',' if listed and shortened else ''} to keep this email's HTML within {limit}."


def fit_email(
    digest: Digest,
    templates_dir: Path | None = None,
    *,
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
) -> RenderedEmail:
    """Both parts, with later articles cut as far as needed to keep the HTML part (measured
    as sent, whatever the template puts in it) within `max_html_bytes`.

    First the later articles are cut to their TL;DR, keeping as many earlier articles whole
    as fit; if even every TL;DR is too many, the later articles are listed by title only,
    keeping as many TL;DRs as fit. Both parts get the same cut, so the two alternatives say
    the same thing, and the note says what was cut and what size the HTML is within (or,
    when even the titles alone are too big, that it is over).
    """
    text_template, html_template = _templates(templates_dir)
    count = len(digest.full)  # the entries the reading budget shows in full

    def context(full: int, shown: int, fits: bool = True) -> dict[str, Any]:
        return {
            "digest": digest,
            "subject": subject_for(digest),
            "full_articles": full,
            "shown_articles": shown,
            "shortened": shown - full,
            "listed": count - shown,
            "max_html_kb": math.ceil(max_html_bytes / 1000),
            "size_note": size_note(full, shown, count, max_html_bytes, fits=fits),
        }

    def size(full: int, shown: int) -> int:
        return html_part_size(render_loaded(html_template, context(full, shown)))

    def most(fits: Callable[[int], bool], high: int) -> int:
        """The largest n in 0..high with fits(n), given fits(high + 1) is false and fitting
        only gets harder as n grows; 0 when none fits."""
        low = 0
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        return low

    full = shown = count
    if size(count, count) > max_html_bytes:
        # Each bisection step renders the HTML once: size grows with either count.
        full = most(lambda n: size(n, count) <= max_html_bytes, count - 1)
        if full == 0 and size(0, count) > max_html_bytes:
            shown = most(lambda n: size(0, n) <= max_html_bytes, count - 1)
        log.info(
            "email: of %d articles, %d whole, %d cut to their TL;DR, %d listed by title only",
            count,
            full,
            shown - full,
            count - shown,
        )
    html = render_loaded(html_template, context(full, shown))
    html_size = html_part_size(html)
    fits = html_size <= max_html_bytes
    if not fits:
        # Even the titles alone are too big: the note must say so, not claim a size.
        html = render_loaded(html_template, context(full, shown, fits=False))
        html_size = html_part_size(html)
        log.warning(
            "email: the HTML part is %d bytes even with every article listed by title only "
            "(limit %d, --email-max-size); some mail clients will clip it",
            html_size,
            max_html_bytes,
        )
    text = render_loaded(text_template, context(full, shown, fits))
    return RenderedEmail(text, html, full, shown, count, html_size, fits)


def render_email(
    digest: Digest,
    templates_dir: Path | None = None,
    *,
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
) -> tuple[str, str, int]:
    """(text, html, cut): both parts as fit_email makes them, and how many articles are not
    shown whole (cut to their TL;DR or listed by title only)."""
    rendered = fit_email(digest, templates_dir, max_html_bytes=max_html_bytes)
    return rendered.text, rendered.html, rendered.count - rendered.full


def build_message(
    digest: Digest,
    *,
    sender: str | Address,
    recipients: str | Iterable[str | Address] = (),
    templates_dir: Path | None = None,
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
    now: _dt.datetime | None = None,
    subject: str | None = None,
) -> EmailMessage:
    """The digest as one multipart/alternative message: text/plain first, text/html last.

    `recipients` may be empty (an .eml to be sent later with `digest send --to`): the
    message then has no To header. `subject` overrides the default built from date and
    counts; like every header value it is reduced to one line, so it cannot add headers.
    """
    from_address = parse_addresses(sender)
    if len(from_address) != 1:
        raise UsageError("give exactly one sender address")
    to_addresses = parse_addresses(recipients)
    text, html, _ = render_email(digest, templates_dir, max_html_bytes=max_html_bytes)

    message = EmailMessage(policy=policy.default)
    message["Subject"] = one_line(subject) or subject_for(digest)
    message["From"] = from_address
    if to_addresses:
        message["To"] = to_addresses
    moment = now or _dt.datetime.now(_dt.timezone.utc)
    # A naive datetime is taken as local time; Date must carry an offset.
    message["Date"] = format_datetime(moment.astimezone())
    # The sender's domain, not socket.getfqdn(): that can block on DNS for seconds.
    message["Message-ID"] = make_msgid("digest", domain=from_address[0].domain or "localhost")
    # RFC 3834: tells vacation responders and ticket systems not to answer a robot.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps every line 7-bit and short, so no relay needs 8BITMIME.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


# --- .eml files --------------------------------------------------------------------------


def message_bytes(message: EmailMessage) -> bytes:
    """The message as RFC 5322 bytes (CRLF line ends), as written to .eml files and sent."""
    return message.as_bytes(policy=policy.SMTP)


def parse_message(data: bytes) -> EmailMessage:
    """Bytes of an RFC 5322 message → EmailMessage (stdlib parser, default policy)."""
    # The parser keeps CRLF inside bodies, so text parts would decode with stray "\r"s;
    # on the wire and in .eml files CRLF is only a line end, never content.
    message = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    return message


def read_message(path: Path) -> EmailMessage:
    """Read an .eml file, refusing files that plainly are not email messages."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    message = parse_message(data)
    # The parser accepts anything; a message worth sending has at least these.
    if not message["From"] and not message["To"] and not message["Subject"]:
        raise UsageError(f"{path} does not look like an email message (no From, To or Subject)")
    return message
