"""SMTP delivery against a real SMTP server (aiosmtpd) on loopback: arrival, login, retries."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd")

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session  # noqa: E402
from loopback_smtp import HOST, Recorder, Start, free_port  # noqa: E402

from digest.delivery import SmtpSettings, send_message  # noqa: E402
from digest.email import build_message, message_bytes, parse_message, read_message  # noqa: E402
from digest.errors import DeliveryError, UsageError  # noqa: E402
from digest.model import ArticleSummary, Digest, SectionSummary  # noqa: E402

USER = "digest"
PASSWORD = "s3cret-Pa55word"


def digest() -> Digest:
    return Digest(
        date=dt.date(2026, 11, 24),
        engine="extractive",
        model=None,
        articles=(
            ArticleSummary(
                path="cafe.txt",
                title="Café résumé — naïve",
                summary="Le café était très bon.",
                tldr="Bon café.",
                words=300,
                sections=(
                    SectionSummary("Détails", "Le goût", "Très bon.", 150),
                    SectionSummary(None, "Prix", "Pas cher.", 150),
                ),
            ),
        ),
    )


def message(**kwargs: Any) -> EmailMessage:
    options: dict[str, Any] = dict(
        sender="Zoë Müller <zoe@example.org>",
        recipients="Ånne Ødegård <anne@example.org>, bob@example.org",
    )
    options.update(kwargs)
    return build_message(digest(), **options)


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd then sends its own 535 reply (True means "I replied already").
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made offline with the openssl CLI."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl CLI not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def settings(port: int, **kwargs: Any) -> SmtpSettings:
    return SmtpSettings(host=HOST, port=port, timeout=10, **kwargs)


class Sleeps(list[float]):
    """An injected sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- arrival -----------------------------------------------------------------------------


def test_message_arrives_whole_and_parses_back(smtp_server: Start) -> None:
    handler, port = smtp_server()
    sent = message()
    refused = send_message(sent, settings(port))
    assert refused == {}
    (envelope,) = handler.received
    assert envelope.mail_from == "zoe@example.org"
    assert envelope.rcpt_tos == ["anne@example.org", "bob@example.org"]
    assert isinstance(envelope.content, bytes)
    got = parse_message(envelope.content)
    assert got.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in got.iter_parts()] == ["text/plain", "text/html"]
    assert got["Subject"] == "Digest — 24 Nov 2026 — 1 article"
    assert str(got["From"]) == "Zoë Müller <zoe@example.org>"
    assert got["To"].addresses[0].display_name == "Ånne Ødegård"
    assert got["Message-ID"] == sent["Message-ID"]
    for kind in ("plain", "html"):
        part, original = got.get_body((kind,)), sent.get_body((kind,))
        assert isinstance(part, EmailMessage) and isinstance(original, EmailMessage)
        assert part.get_content() == original.get_content()
        assert "Café résumé — naïve" in part.get_content()


def test_saved_eml_is_sent_with_to_and_from_overridden(smtp_server: Start, tmp_path: Path) -> None:
    handler, port = smtp_server()
    path = tmp_path / "digest-2026-11-24.eml"
    path.write_bytes(message_bytes(message(recipients=())))
    send_message(
        read_message(path),
        settings(port),
        recipients="Cé <ce@example.org>, dee@example.org",
        sender="Robot <robot@example.org>",
    )
    (envelope,) = handler.received
    assert isinstance(envelope.content, bytes)
    assert envelope.mail_from == "robot@example.org"
    assert envelope.rcpt_tos == ["ce@example.org", "dee@example.org"]
    got = parse_message(envelope.content)
    assert str(got["To"]) == "Cé <ce@example.org>, dee@example.org"
    assert str(got["From"]) == "Robot <robot@example.org>"
    assert "Bcc" not in got and "Cc" not in got


def test_raw_bytes_can_be_sent_and_are_not_modified_in_place(smtp_server: Start) -> None:
    handler, port = smtp_server()
    original = message()
    send_message(message_bytes(original), settings(port), recipients="x@example.org")
    send_message(original, settings(port), recipients="y@example.org")
    assert [e.rcpt_tos for e in handler.received] == [["x@example.org"], ["y@example.org"]]
    assert "bob@example.org" in str(original["To"])  # the caller's message is untouched


def test_message_without_recipients_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no recipients"):
        send_message(message(recipients=()), settings(25))


def test_some_recipients_refused_are_reported_not_raised(
    smtp_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = smtp_server(Recorder(rcpt={"bob@example.org": "550 5.1.1 No such user"}))
    refused = send_message(message(), settings(port))
    assert refused == {"bob@example.org": "550 5.1.1 No such user"}
    assert handler.received[0].rcpt_tos == ["anne@example.org"]
    assert "refused recipient bob@example.org" in caplog.text


# --- login -------------------------------------------------------------------------------


def test_login_success(smtp_server: Start) -> None:
    handler, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    send_message(message(), settings(port, user=USER, password=PASSWORD))
    assert len(handler.received) == 1


def test_login_failure_is_permanent_and_keeps_the_password_secret(
    smtp_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="digest")
    handler, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    wrong = settings(port, user=USER, password="wrong-" + PASSWORD)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as caught:
        send_message(message(), wrong, sleep=sleeps)
    text = str(caught.value)
    assert text.startswith(f"could not send the email via {HOST}:{port}: 535 ")
    assert "\n" not in text
    assert sleeps == []  # 5xx: not retried
    assert handler.received == []
    assert caught.value.exit_code == 5
    # Nothing carries the password: message, chained exceptions, repr.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    for where in (text, repr(caught.value), repr(wrong), str(wrong)):
        assert PASSWORD not in where


def echoing_authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """A server that refuses for now (4xx: retried, and logged) and echoes what it was sent."""
    password = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else "?"
    return AuthResult(success=False, handled=False, message=f"454 4.7.0 Not now, {password}")


def test_the_password_never_reaches_the_logs(
    smtp_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="digest")
    _, port = smtp_server(authenticator=echoing_authenticator, auth_require_tls=False)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as caught:
        send_message(
            message(), settings(port, user=USER, password=PASSWORD), retries=1, sleep=sleeps
        )
    # First: the capture really holds the lines this test searches (a retry was logged, with
    # the server's reply in it, where the echoed password was replaced).
    assert sleeps == [2.0]
    retry_lines = [r.getMessage() for r in caplog.records if "attempt 1 of 2 failed" in r.message]
    assert len(retry_lines) == 1 and "Not now, ***" in retry_lines[0], caplog.text
    assert "Not now, ***" in str(caught.value)
    # Then: the password is nowhere in them.
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


# --- failures and retries ----------------------------------------------------------------


def test_server_down_gives_a_clear_error_after_bounded_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens there now
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as caught:
        send_message(message(), settings(port), retries=2, backoff=0.5, sleep=sleeps)
    assert sleeps == [0.5, 1.0]
    assert str(caught.value) == (
        f"could not send the email via {HOST}:{port} after 3 attempts: Connection refused"
    )
    assert caplog.text.count("retrying in") == 2


def test_5xx_reply_is_not_retried(smtp_server: Start) -> None:
    handler, port = smtp_server(Recorder(replies=["554 5.7.1 Message rejected as spam"]))
    sleeps = Sleeps()
    with pytest.raises(DeliveryError, match="554 5.7.1 Message rejected as spam$"):
        send_message(message(), settings(port), sleep=sleeps)
    assert sleeps == []
    assert handler.data_calls == 1


def test_4xx_reply_is_retried_then_succeeds(smtp_server: Start) -> None:
    handler, port = smtp_server(Recorder(replies=["451 4.3.0 Try again later"]))
    sleeps = Sleeps()
    send_message(message(), settings(port), backoff=0.25, sleep=sleeps)
    assert sleeps == [0.25]
    assert handler.data_calls == 2
    assert len(handler.received) == 1


def test_4xx_reply_every_time_gives_up_after_the_retries(smtp_server: Start) -> None:
    handler, port = smtp_server(Recorder(replies=["451 4.3.0 Try again later"] * 10))
    sleeps = Sleeps()
    with pytest.raises(DeliveryError, match=r"after 4 attempts: 451 4\.3\.0 Try again later"):
        send_message(message(), settings(port), retries=3, backoff=1, sleep=sleeps)
    assert sleeps == [1, 2, 4]
    assert handler.data_calls == 4


def test_all_recipients_refused_temporarily_is_retried(smtp_server: Start) -> None:
    rcpt = {"anne@example.org": "450 4.2.1 Mailbox busy", "bob@example.org": "450 4.2.1 Busy"}
    handler, port = smtp_server(Recorder(rcpt=rcpt))
    sleeps = Sleeps()
    with pytest.raises(DeliveryError, match="all recipients refused") as caught:
        send_message(message(), settings(port), retries=1, backoff=0, sleep=sleeps)
    assert sleeps == [0]
    assert "anne@example.org: 450 4.2.1 Mailbox busy" in str(caught.value)


# --- TLS ---------------------------------------------------------------------------------


def test_starttls_with_login(smtp_server: Start, certificate: tuple[Path, Path]) -> None:
    # auth_require_tls and require_starttls: the server refuses anything before STARTTLS.
    handler, port = smtp_server(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
    )
    send_message(
        message(),
        settings(port, security="starttls", user=USER, password=PASSWORD),
        ssl_context=client_context(certificate),
    )
    assert len(handler.received) == 1


def test_ssl_with_login(smtp_server: Start, certificate: tuple[Path, Path]) -> None:
    # aiosmtpd only counts STARTTLS as TLS for auth_require_tls, not a TLS-wrapped listener.
    handler, port = smtp_server(
        ssl_context=server_context(certificate), authenticator=authenticator, auth_require_tls=False
    )
    send_message(
        message(),
        settings(port, security="ssl", user=USER, password=PASSWORD),
        ssl_context=client_context(certificate),
    )
    assert len(handler.received) == 1


def test_untrusted_certificate_is_permanent(
    smtp_server: Start, certificate: tuple[Path, Path]
) -> None:
    handler, port = smtp_server(tls_context=server_context(certificate), require_starttls=True)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError, match="TLS failed: CERTIFICATE_VERIFY_FAILED"):
        send_message(message(), settings(port, security="starttls"), sleep=sleeps)
    assert sleeps == []
    assert handler.received == []


def test_starttls_not_offered_is_permanent(smtp_server: Start) -> None:
    _, port = smtp_server()
    with pytest.raises(DeliveryError, match="STARTTLS extension not supported"):
        send_message(message(), settings(port, security="starttls"), sleep=Sleeps())


# --- settings ----------------------------------------------------------------------------


def test_settings_from_env_options_win_and_password_only_from_env() -> None:
    env = {
        "DIGEST_SMTP_HOST": "smtp.example.org",
        "DIGEST_SMTP_PORT": "2525",
        "DIGEST_SMTP_SECURITY": "STARTTLS",
        "DIGEST_SMTP_USER": "me",
        "DIGEST_SMTP_PASSWORD": PASSWORD,
    }
    got = SmtpSettings.from_env(env)
    assert (got.host, got.port, got.security, got.user, got.password) == (
        "smtp.example.org",
        2525,
        "starttls",
        "me",
        PASSWORD,
    )
    assert PASSWORD not in repr(got)
    over = SmtpSettings.from_env(env, host="mx.example.org", port=465, security="ssl", user="you")
    assert (over.address, over.security, over.user, over.password) == (
        "mx.example.org:465",
        "ssl",
        "you",
        PASSWORD,
    )


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("ssl", 465)])
def test_default_port_follows_security(security: str, port: int) -> None:
    assert SmtpSettings.from_env({"DIGEST_SMTP_SECURITY": security}).port == port


def test_defaults_are_local_mta_without_login() -> None:
    got = SmtpSettings.from_env({"DIGEST_SMTP_HOST": "", "DIGEST_SMTP_PASSWORD": PASSWORD})
    assert (got.address, got.security, got.user, got.password) == (
        "localhost:25",
        "none",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DIGEST_SMTP_SECURITY": "tls"}, "must be one of none, starttls, ssl"),
        ({"DIGEST_SMTP_PORT": "smtp"}, "must be a number"),
        ({"DIGEST_SMTP_PORT": "70000"}, "between 1 and 65535"),
        (
            {"DIGEST_SMTP_HOST": "smtp.example.org", "DIGEST_SMTP_USER": "me"},
            "refusing to send the SMTP password unencrypted to smtp.example.org",
        ),
    ],
)
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SmtpSettings.from_env(env)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "127.1.2.3"])
def test_plain_login_is_allowed_on_loopback(host: str) -> None:
    assert SmtpSettings(host=host, user="me", password=PASSWORD).user == "me"
