"""Building the email digest: MIME shape, headers, both parts, hostile text, the size cap."""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from digest.email import (
    build_message,
    fit_email,
    html_part_size,
    message_bytes,
    one_line,
    parse_addresses,
    parse_message,
    read_message,
    render_email,
    resolve_sender,
    subject_for,
    wrap,
)
from digest.errors import TemplateProblem, UsageError
from digest.model import ArticleSummary, Digest, SectionSummary, Skipped

NOW = dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.timezone.utc)
SENDER = "Zoë Müller <zoe@example.org>"
EXPECTED_HEADERS = [
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]


def article(title: str = "Taliban captures Kandahar", **overrides: object) -> ArticleSummary:
    fields: dict[str, object] = dict(
        path="seeds/kandahar.txt",
        title=title,
        summary="The Taliban has captured Kandahar. Officials confirmed it on Friday.",
        tldr="The Taliban has captured Kandahar.",
        words=460,
        sections=(
            SectionSummary("What's the story", None, "Kandahar fell.", 52, quoted=True),
            SectionSummary("Details", "'Taliban took control'", "Heavy clashes.", 80),
        ),
    )
    fields.update(overrides)
    return ArticleSummary(**fields)  # type: ignore[arg-type]


def make_digest(*articles: ArticleSummary, **overrides: object) -> Digest:
    fields: dict[str, object] = dict(
        date=dt.date(2026, 11, 24),
        engine="extractive",
        model=None,
        articles=articles
        or (
            article(),
            ArticleSummary(
                path="posts/hello.md",
                title="A short post",
                summary="Only one section here.",
                tldr="Only one section here.",
                words=40,
                sections=(SectionSummary(None, None, "Only one section here.", 40),),
                date="2026-11-20",
            ),
        ),
        skipped=(Skipped("seeds/empty.txt", "empty file"),),
    )
    fields.update(overrides)
    return Digest(**fields)  # type: ignore[arg-type]


def build(digest: Digest | None = None, **kwargs: Any) -> EmailMessage:
    options: dict[str, Any] = dict(sender=SENDER, recipients="a@x.org, Bob <b@y.org>", now=NOW)
    options.update(kwargs)
    return build_message(digest or make_digest(), **options)


def round_trip(message: EmailMessage) -> EmailMessage:
    return parse_message(message_bytes(message))


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) as a mail client would pick them."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


class Markup(HTMLParser):
    """Everything a browser would act on: tags, attributes, and the text it would show."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def shown(self) -> str:
        return " ".join(" ".join(self.text).split())


# --- shape and headers -------------------------------------------------------------------


def test_message_is_multipart_alternative_text_then_html() -> None:
    message = round_trip(build())
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    for part in message.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert list(message.keys()) == EXPECTED_HEADERS
    assert message["Subject"] == "Digest — 24 Nov 2026 — 2 articles"
    assert message["Date"] == "Tue, 24 Nov 2026 07:30:00 +0000"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert [a.addr_spec for a in message["To"].addresses] == ["a@x.org", "b@y.org"]


def test_serialised_message_is_7bit_with_crlf_line_ends() -> None:
    data = message_bytes(build(make_digest(article("Café résumé — naïve"))))
    data.decode("ascii")  # every byte 7-bit: no relay needs 8BITMIME or SMTPUTF8
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_non_ascii_subject_names_and_titles_decode_back_equal() -> None:
    digest = make_digest(article("Café résumé — naïve"))
    message = round_trip(
        build(digest, recipients=["Élodie Ñúñez <elodie@example.org>"], subject="Résumé ☕")
    )
    assert message["Subject"] == "Résumé ☕"
    assert str(message["From"]) == SENDER
    assert message["From"].addresses[0].display_name == "Zoë Müller"
    assert str(message["To"]) == "Élodie Ñúñez <elodie@example.org>"
    text, html = parts(message)
    assert "Café résumé — naïve" in text
    assert "Café résumé — naïve" in Markup(html).shown


@pytest.mark.parametrize(
    ("count", "subject"),
    [
        (0, "Digest — 24 Nov 2026 — 0 articles"),
        (1, "Digest — 24 Nov 2026 — 1 article"),
        (3, "Digest — 24 Nov 2026 — 3 articles"),
    ],
)
def test_subject_is_built_from_date_and_count(count: int, subject: str) -> None:
    assert subject_for(make_digest(articles=(article(),) * count)) == subject


def test_message_without_recipients_has_no_to_header() -> None:
    message = round_trip(build(recipients=()))
    assert "To" not in message
    assert message["From"]


def test_naive_now_is_taken_as_local_time_and_gets_an_offset() -> None:
    message = build(now=dt.datetime(2026, 11, 24, 8, 0))
    assert parsedate_to_datetime(message["Date"]).utcoffset() is not None


# --- the two parts -----------------------------------------------------------------------

GOLDEN_TEXT = """\
Digest — Tuesday 24 November 2026
2 articles · 1 skipped · engine: extractive

Contents

1. Taliban captures Kandahar
2. A short post

------------------------------------------------------------------------

1. Taliban captures Kandahar
seeds/kandahar.txt · 2 min read (460 words)

TL;DR: The Taliban has captured Kandahar.

The Taliban has captured Kandahar. Officials confirmed it on Friday.

- What's the story: Kandahar fell.
- Details — 'Taliban took control': Heavy clashes.

------------------------------------------------------------------------

2. A short post
posts/hello.md · 2026-11-20 · 1 min read (40 words)

TL;DR: Only one section here.

Only one section here.

------------------------------------------------------------------------

Skipped

- seeds/empty.txt: empty file
"""


def test_text_part_golden() -> None:
    text, _, shortened = render_email(make_digest())
    assert text == GOLDEN_TEXT
    assert shortened == 0


def test_text_part_is_wrapped_under_78_columns() -> None:
    long = " ".join(["Long sentences about the municipal budget go on and on."] * 30)
    digest = make_digest(
        article(
            "A " + "very " * 30 + "long title",
            summary=long + "\n\n" + long,
            tldr=long,
            sections=(
                SectionSummary("Kicker", "Title", long, 300),
                SectionSummary(None, None, long, 1),
            ),
        ),
        notices=(long,),
    )
    text, _, _ = render_email(digest)
    assert max(len(line) for line in text.splitlines()) <= 76
    # Wrapped continuation lines of a bullet hang under its text.
    bullet = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("- K")))
    assert text.splitlines()[bullet + 1].startswith("  ")


def test_html_part_mirrors_the_markdown_structure() -> None:
    digest = make_digest(notices=("The model was unavailable; used extractive.",))
    _, html, _ = render_email(digest)
    markup = Markup(html)
    shown = markup.shown
    for expected in (
        "Digest — Tuesday 24 November 2026",
        "2 articles · 1 skipped · engine: extractive",
        "Note: The model was unavailable; used extractive.",
        "Contents",
        "1. Taliban captures Kandahar",
        "seeds/kandahar.txt · 2 min read (460 words)",
        "TL;DR: The Taliban has captured Kandahar.",
        "Details — 'Taliban took control': Heavy clashes.",
        "posts/hello.md · 2026-11-20 · 1 min read (40 words)",
        "Skipped",
        "seeds/empty.txt: empty file",
    ):
        assert expected in shown
    hrefs = [value for name, value in markup.attrs if name == "href"]
    ids = [value for name, value in markup.attrs if name == "id"]
    assert hrefs == ["#article-1", "#article-2"]
    assert ids == ["article-1", "article-2"]
    # Mail-client markup: a 600 px table, inline styles only, nothing fetched or run.
    assert 'width="600"' in html
    assert not {"style", "link", "script", "img", "iframe", "form"} & set(markup.tags)
    assert "http://" not in html and "https://" not in html


def test_empty_digest_says_so_in_both_parts() -> None:
    text, html, _ = render_email(make_digest(articles=(), skipped=()))
    assert "Nothing to summarise this time." in text
    assert "Nothing to summarise this time." in Markup(html).shown
    assert "Contents" not in text


def test_user_template_folder_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "email.txt.j2").write_text("Custom: {{ digest.articles | length }}\n")
    text, html, _ = render_email(make_digest(), tmp_path)
    assert text == "Custom: 2\n"
    assert "<table" in html  # the built-in HTML template still applies


def test_broken_user_template_is_a_template_problem(tmp_path: Path) -> None:
    (tmp_path / "email.html.j2").write_text("{{ digest.nope }}")
    with pytest.raises(TemplateProblem, match="email.html.j2"):
        render_email(make_digest(), tmp_path)


# --- hostile document text ---------------------------------------------------------------

HOSTILE = [
    "<script>alert('x')</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "{{ 7*7 }} {% if true %}yes{% endif %}",
    '"><svg onload=alert(1)>',
]


def hostile_digest(payload: str) -> Digest:
    return make_digest(
        article(
            payload,
            path=f"feeds/{payload}.html",
            summary=payload,
            tldr=payload,
            sections=(
                SectionSummary(payload, payload, payload, 10),
                SectionSummary(None, None, payload, 10),
            ),
        ),
        skipped=(Skipped(payload, payload),),
        notices=(payload,),
        model=payload,
    )


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_inert_in_the_html_part(payload: str) -> None:
    _, html = parts(round_trip(build(hostile_digest(payload))))
    markup = Markup(html)
    assert not {"script", "img", "svg", "iframe"} & set(markup.tags)
    assert not [name for name, _ in markup.attrs if name.startswith("on")]
    assert [v for n, v in markup.attrs if n == "href"] == ["#article-1"]
    # Shown as the reader would see it: the text itself, literally, every time.
    assert markup.shown.count(payload) >= 9


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_literal_in_the_text_part(payload: str) -> None:
    text, _ = parts(round_trip(build(hostile_digest(payload))))
    assert payload in text


def test_template_syntax_in_document_text_is_never_evaluated() -> None:
    text, html = parts(round_trip(build(hostile_digest("{{ 7*7 }}"))))
    assert "{{ 7*7 }}" in text and "{{ 7*7 }}" in Markup(html).shown
    assert "49" not in text and "49" not in html


def test_crlf_in_a_title_cannot_inject_headers() -> None:
    evil = "Hello\r\nBcc: evil@x.org\r\n\r\n<b>body</b>"
    digest = make_digest(article(evil), notices=(evil,))
    message = round_trip(build(digest, subject=evil))
    assert list(message.keys()) == EXPECTED_HEADERS
    assert "Bcc" not in message
    assert message["Subject"] == "Hello Bcc: evil@x.org <b>body</b>"
    assert "evil@x.org" not in str(message["To"])
    text, html = parts(message)
    assert "1. Hello Bcc: evil@x.org <b>body</b>" in text
    assert "b" not in Markup(html).tags


@pytest.mark.parametrize(
    "address",
    [
        '"Eve\r\nBcc: evil@x.org" <eve@example.org>',
        "Eve <eve@example.org>\r\nBcc: evil@x.org",
        "eve@example.org\nBcc: evil@x.org",
    ],
)
def test_crlf_in_an_address_option_is_refused(address: str) -> None:
    with pytest.raises(UsageError, match="control character"):
        build(sender=address)
    with pytest.raises(UsageError, match="control character"):
        build(recipients=["a@x.org", address])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb", "a b"),
        ("a\u2028b\x00c\x1bd", "a b c d"),
        ("  spaced   out \t", "spaced out"),
        (None, ""),
    ],
)
def test_one_line(text: str | None, expected: str) -> None:
    assert one_line(text) == expected


def test_wrap_keeps_paragraphs_and_long_words() -> None:
    url = "https://example.org/" + "x" * 90
    assert wrap(f"one two\n\nthree {url} four", width=20) == f"one two\n\nthree\n{url}\nfour"


# --- size cap ----------------------------------------------------------------------------


def long_digest(count: int = 60) -> Digest:
    paragraph = "Councillors debated the proposal at length, citing costs and delays. " * 12
    return make_digest(
        *(
            article(
                f"Article number {i}",
                summary=paragraph + "\n\n" + paragraph,
                tldr=f"Short take number {i}.",
                sections=tuple(
                    SectionSummary(f"Part {j}", f"Heading {j}", paragraph, 200) for j in range(4)
                ),
            )
            for i in range(1, count + 1)
        )
    )


def sent_html_part(data: bytes) -> bytes:
    """The HTML part of a message as it is sent: its headers and encoded body, byte for byte."""
    message = parse_message(data)
    boundary = message.get_boundary()
    assert boundary
    (html,) = [p for p in data.split(f"--{boundary}".encode()) if b"text/html" in p[:200]]
    return html.removeprefix(b"\r\n").removesuffix(b"\r\n")


def test_long_digest_is_cut_to_tldrs_under_the_limit() -> None:
    digest = long_digest()
    _, uncapped_html, _ = render_email(digest, max_html_bytes=10**9)
    assert len(uncapped_html.encode()) > 300_000  # the test really needs the cap

    data = message_bytes(build(digest))
    # The HTML part as sent (quoted-printable: larger than its markup) is within the limit.
    assert len(sent_html_part(data)) <= 100_000
    text, html = parts(parse_message(data))
    shown = Markup(html).shown
    notes = [line for line in text.splitlines() if "shortened" in line and "Note:" in line]
    assert len(notes) == 1
    shortened = int(notes[0].split()[1])
    assert 0 < shortened < 60
    line = f"{shortened} articles shortened to their TL;DR to keep this email's HTML within 100 KB."
    assert line in shown and line in " ".join(text.split())
    # Earlier articles stay whole; later ones keep their TL;DR only, in both parts.
    kept = 60 - shortened
    assert f"{kept}. Article number {kept}" in shown
    assert shown.count("Part 0 — Heading 0") == kept
    assert text.count("- Part 0 — Heading 0") == kept
    for i in (kept + 1, 60):
        assert f"{i}. Article number {i}" in shown
        assert f"TL;DR: Short take number {i}." in shown
    assert shown.count("Shortened to its TL;DR") == shortened


def test_cap_keeps_as_many_whole_articles_as_fit() -> None:
    digest = long_digest(12)
    _, html, shortened = render_email(digest, max_html_bytes=60_000)
    assert 0 < shortened < 12
    assert html_part_size(html) <= 60_000
    # One more whole article would not have fitted.
    bigger = html_part_size(html)
    _, _, fewer = render_email(digest, max_html_bytes=bigger + 1)
    assert fewer == shortened


def test_short_digest_is_not_cut() -> None:
    text, html, shortened = render_email(make_digest())
    assert shortened == 0
    assert "shortened" not in text and "shortened" not in html


def test_when_the_tldrs_are_too_many_later_articles_are_listed_by_title(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every TL;DR alone is over the limit: the later articles are listed by title only (in the
    # contents, linked to their originals), and the note still tells the truth.
    articles = [
        article(
            f"Article number {i}",
            tldr=f"Short take number {i}, " + "with a long tail of words " * 20,
            link=f"https://news.example/{i}",
        )
        for i in range(1, 201)
    ]
    digest = make_digest(*articles)
    rendered = fit_email(digest, max_html_bytes=40_000)
    assert rendered.fits and 0 < rendered.shown < 200 and rendered.full == 0
    data = message_bytes(build(digest, max_html_bytes=40_000))
    assert len(sent_html_part(data)) <= 40_000
    text, html = parts(parse_message(data))
    listed = 200 - rendered.shown
    note = (
        f"{rendered.shown} articles shortened to their TL;DR and {listed} articles listed by "
        "title only, to keep this email's HTML within 40 KB."
    )
    shown = Markup(html).shown
    assert note in shown and note in " ".join(text.split())
    assert shown.count("TL;DR: Short take") == rendered.shown
    assert text.count("TL;DR: Short take") == rendered.shown
    # Every article is in the contents; those listed by title link to the original.
    assert all(f"{i}. Article number {i}" in " ".join(text.split()) for i in range(1, 201))
    markup = Markup(html)
    assert ("href", "https://news.example/200") in markup.attrs
    assert ("href", "#article-200") not in markup.attrs
    assert ("href", f"#article-{rendered.shown}") in markup.attrs
    assert "https://news.example/200" in text


def test_limit_too_small_for_even_the_titles_says_so_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="digest")
    text, html, shortened = render_email(long_digest(5), max_html_bytes=1_000)
    assert shortened == 5
    note = "5 articles listed by title only; even so this email's HTML is over 1 KB"
    assert note in " ".join(text.split()) and note in Markup(html).shown
    assert "within" not in text
    assert "some mail clients will clip it" in caplog.text


def test_one_shortened_article_is_singular() -> None:
    digest = long_digest(3)
    _, full_html, _ = render_email(digest, max_html_bytes=10**9)
    text, _, shortened = render_email(digest, max_html_bytes=len(full_html.encode()) - 1)
    assert shortened == 1
    assert "1 article shortened to its TL;DR" in text


# --- addresses and .eml files ------------------------------------------------------------


def test_sender_comes_from_the_option_then_the_environment() -> None:
    env = {"DIGEST_EMAIL_FROM": SENDER}
    assert str(resolve_sender(None, env)) == SENDER
    assert str(resolve_sender("o@x.org", env)) == "o@x.org"
    with pytest.raises(UsageError, match="DIGEST_EMAIL_FROM"):
        resolve_sender(None, {})
    with pytest.raises(UsageError, match="one sender"):
        resolve_sender("a@x.org, b@x.org", {})


def test_address_lists_keep_quoted_commas_and_drop_empty_entries() -> None:
    found = parse_addresses('a@x.org,, "Müller, Zoë" <zoe@example.org>, Bob <b@y.org>,')
    assert [(a.display_name, a.addr_spec) for a in found] == [
        ("", "a@x.org"),
        ("Müller, Zoë", "zoe@example.org"),
        ("Bob", "b@y.org"),
    ]
    assert [a.addr_spec for a in parse_addresses(["c@z.org", "d@z.org"])] == ["c@z.org", "d@z.org"]


@pytest.mark.parametrize(
    "bad", ["not-an-address", "a@b@c", "two words@x.org", "a@x.org, nope", "<>", "@x.org"]
)
def test_bad_addresses_are_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="not an email address"):
        parse_addresses(bad)


def test_eml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "digest-2026-11-24.eml"
    message = build(make_digest(article("Café résumé — naïve")))
    path.write_bytes(message_bytes(message))
    again = read_message(path)
    assert list(again.keys()) == EXPECTED_HEADERS
    assert parts(again) == parts(message)


def test_read_message_refuses_files_that_are_not_email(tmp_path: Path) -> None:
    path = tmp_path / "notes.eml"
    path.write_text("just some notes\nnothing else\n")
    with pytest.raises(UsageError, match="does not look like an email"):
        read_message(path)
    with pytest.raises(UsageError, match="cannot read"):
        read_message(tmp_path / "missing.eml")


def test_make_keeps_the_sent_html_part_within_the_size_its_note_states(tmp_path: Path) -> None:
    # `digest make` end to end: a night with many articles, a small --email-max-size.
    from typer.testing import CliRunner

    from digest import cli

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(120):
        sentences = " ".join(
            f"Report {i} says the harbour plan number {j} is on time and under budget."
            for j in range(8)
        )
        (folder / f"report-{i:03}.txt").write_text(
            f"Harbour report {i}\n\n{sentences}\n", encoding="utf-8"
        )
    out = tmp_path / "out"
    args = ["make", str(folder), "-o", str(out), "-e", "extractive", "--no-cache", "-f", "eml"]
    result = CliRunner().invoke(
        cli.app, [*args, "--date", "2026-11-24", "--email-max-size", "30KB"]
    )
    assert result.exit_code == 0, result.output
    data = (out / "digest-2026-11-24.eml").read_bytes()
    assert len(sent_html_part(data)) <= 30_000
    text, html = parts(parse_message(data))
    (note,) = [line for line in Markup(html).shown.split("Note: ")[1:] if "title only" in line]
    assert "to keep this email's HTML within 30 KB." in note
    assert "within 30 KB." in " ".join(text.split())


def test_the_subject_counts_stories_when_some_were_merged() -> None:
    import datetime as dt

    from digest.model import ArticleSummary, Digest, Source, Story

    articles = tuple(
        ArticleSummary(
            path=f"{n}.txt", title=f"T{n}", summary="S.", tldr="S.", words=90, sections=()
        )
        for n in range(3)
    )
    merged = Story("s1", articles[0], (0, 1), (Source(None, None, "0.txt", "T0"),) * 2, 2)
    alone = Story("s2", articles[2], (2,), (Source(None, None, "2.txt", "T2"),))
    day = dt.date(2026, 12, 3)
    digest = Digest(date=day, engine="extractive", model=None, articles=articles)
    assert subject_for(digest) == "Digest — 3 Dec 2026 — 3 articles"
    told = Digest(day, "extractive", None, articles, stories=(merged, alone))
    assert subject_for(told) == "Digest — 3 Dec 2026 — 3 articles in 2 stories"
