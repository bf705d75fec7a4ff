"""Digest → one multipart/alternative email (text part, then HTML part), and .eml files."""

from __future__ import annotations

# Absolute imports: these are the standard library's `email` package, not this module.
import datetime as _dt
import logging
import os
import re
import textwrap
from collections.abc import Iterable, Mapping
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
    """'Digest — 24 Nov 2026 — 3 articles': built from the date and counts, never doc text."""
    return f"Digest — {short_date(digest.date)} — {plural(len(digest.articles), 'article')}"


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


def resolve_recipients(
    recipients: str | Iterable[str | Address] | None, env: Mapping[str, str] | None = None
) -> tuple[Address, ...]:
    """The To addresses: the option if given, else DIGEST_EMAIL_TO (comma-separated)."""
    env = os.environ if env is None else env
    found = parse_addresses(recipients) if recipients else ()
    if not found:
        found = parse_addresses(env.get("DIGEST_EMAIL_TO") or None)
    if not found:
        raise UsageError("no recipient address: pass --email-to/--to or set DIGEST_EMAIL_TO")
    return found


# --- rendering ---------------------------------------------------------------------------


def _templates(templates_dir: Path | None) -> tuple[jinja2.Template, jinja2.Template]:
    """The text and HTML templates (user folder first), with the email filters registered."""
    filters = {"one_line": one_line, "paragraphs": paragraphs, "wrap": wrap}
    return (
        load_template(TEXT_TEMPLATE, templates_dir, filters=filters),
        load_template(HTML_TEMPLATE, templates_dir, autoescape=True, filters=filters),
    )


def render_email(
    digest: Digest,
    templates_dir: Path | None = None,
    *,
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
) -> tuple[str, str, int]:
    """(text, html, shortened): both parts, with later articles cut to their TL;DR if needed.

    The first `full` articles are shown whole and the rest as TL;DR only, with `full` the
    largest number that keeps the HTML within `max_html_bytes` (UTF-8). Both parts get the
    same cut, so the two alternatives say the same thing.
    """
    text_template, html_template = _templates(templates_dir)
    count = len(digest.articles)

    def context(full: int) -> dict[str, Any]:
        return {
            "digest": digest,
            "subject": subject_for(digest),
            "full_articles": full,
            "shortened": count - full,
            "max_html_kb": max_html_bytes // 1000,
        }

    def html_size(full: int) -> int:
        return len(render_loaded(html_template, context(full)).encode("utf-8"))

    full = count
    if html_size(count) > max_html_bytes:
        # Size grows with the number of full articles, so bisect for the largest that fits.
        low, high = 0, count - 1
        while low < high:
            middle = (low + high + 1) // 2
            if html_size(middle) <= max_html_bytes:
                low = middle
            else:
                high = middle - 1
        full = low
        log.info("email: %d of %d articles shortened to their TL;DR", count - full, count)
    html = render_loaded(html_template, context(full))
    if len(html.encode("utf-8")) > max_html_bytes:
        log.warning(
            "email: the HTML part is %d bytes even with every article cut to its TL;DR "
            "(limit %d); some mail clients will clip it",
            len(html.encode("utf-8")),
            max_html_bytes,
        )
    return render_loaded(text_template, context(full)), html, count - full


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
