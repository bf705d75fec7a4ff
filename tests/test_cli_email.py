"""`digest make --format eml / --email-to` and `digest send` against a real SMTP server."""

from __future__ import annotations

import email
import time
from email import policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("aiosmtpd")

from loopback_smtp import HOST, Start, free_port  # noqa: E402

from digest import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "afghanistan-taliban-captures-kandahar.txt"
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_smtp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DIGEST_EMAIL_TO",
        "DIGEST_EMAIL_FROM",
        "DIGEST_SMTP_HOST",
        "DIGEST_SMTP_PORT",
        "DIGEST_SMTP_SECURITY",
        "DIGEST_SMTP_USER",
        "DIGEST_SMTP_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)


def make(tmp_path: Path, *extra: str) -> object:
    return runner.invoke(
        cli.app,
        [
            "make",
            str(SEED),
            "-o",
            str(tmp_path),
            "-e",
            "extractive",
            "--date",
            "2026-11-24",
            "--no-cache",
            *extra,
        ],
    )


def test_format_eml_writes_one_multipart_alternative_message(tmp_path: Path) -> None:
    result = make(tmp_path, "-f", "md,eml")
    assert result.exit_code == 0, result.output
    eml = tmp_path / "digest-2026-11-24.eml"
    assert result.stdout.split() == [str(tmp_path / "digest-2026-11-24.md"), str(eml)]
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "Digest — 24 Nov 2026 — 1 article"
    assert message["From"] == "Digest <digest@localhost>"
    html = message.get_body(("html",)).get_content()
    assert "Taliban captures Kandahar" in html


def test_email_to_sends_after_writing(tmp_path: Path, smtp_server: Start) -> None:
    handler, port = smtp_server()
    result = make(
        tmp_path,
        "--email-to",
        "Zoë <zoe@example.org>, bob@example.org",
        "--email-from",
        "Digest <digest@example.org>",
        "--smtp-host",
        HOST,
        "--smtp-port",
        str(port),
    )
    assert result.exit_code == 0, result.output
    # --email-to alone implies the .eml, so a copy stays on disk.
    assert result.stdout.split()[-1] == str(tmp_path / "digest-2026-11-24.eml")
    (envelope,) = handler.received
    assert sorted(envelope.rcpt_tos) == ["bob@example.org", "zoe@example.org"]
    arrived = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert arrived["To"] == "Zoë <zoe@example.org>, bob@example.org"
    assert arrived["From"] == "Digest <digest@example.org>"


def test_failed_delivery_keeps_the_eml_and_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    port = free_port()  # nothing listens there
    result = make(
        tmp_path, "--email-to", "a@example.org", "--smtp-host", HOST, "--smtp-port", str(port)
    )
    assert result.exit_code == 5, result.output
    eml = tmp_path / "digest-2026-11-24.eml"
    assert eml.exists() and str(eml) in result.stdout
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("digest: error: could not send the email via 127.0.0.1:")
    assert "Connection refused" in line and f"({eml} kept)" in line
    # Not delivered, so not done: the state file does not record these documents.
    assert not (tmp_path / ".digest-state.json").exists()


def test_send_an_existing_eml(tmp_path: Path, smtp_server: Start) -> None:
    assert make(tmp_path, "-f", "eml").exit_code == 0
    handler, port = smtp_server()
    eml = tmp_path / "digest-2026-11-24.eml"
    result = runner.invoke(
        cli.app,
        [
            "send",
            str(eml),
            "--to",
            "reader@example.org",
            "--from",
            "me@example.org",
            "--smtp-host",
            HOST,
            "--smtp-port",
            str(port),
        ],
    )
    assert result.exit_code == 0, result.output
    (envelope,) = handler.received
    assert envelope.rcpt_tos == ["reader@example.org"] and envelope.mail_from == "me@example.org"


def test_send_without_recipients_is_a_usage_error(tmp_path: Path) -> None:
    assert make(tmp_path, "-f", "eml").exit_code == 0
    result = runner.invoke(cli.app, ["send", str(tmp_path / "digest-2026-11-24.eml")])
    assert result.exit_code == 2
    assert "has no To header: pass --to" in result.stderr


def test_send_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["send", str(tmp_path / "nope.eml"), "--to", "a@b.org"])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("digest: error: ")


def test_bad_address_fails_before_any_summarising(tmp_path: Path) -> None:
    result = make(tmp_path, "--email-to", "not an address\r\nBcc: evil@x.org")
    assert result.exit_code == 2, result.output
    assert not list(tmp_path.glob("digest-*"))


def test_recipients_from_the_environment(
    tmp_path: Path, smtp_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DIGEST_EMAIL_TO stands for --email-to (make) and --to (send)."""
    handler, port = smtp_server()
    monkeypatch.setenv("DIGEST_EMAIL_TO", "Zoë <zoe@example.org>, bob@example.org")
    result = make(tmp_path, "--smtp-host", HOST, "--smtp-port", str(port))
    assert result.exit_code == 0, result.output
    eml = tmp_path / "digest-2026-11-24.eml"
    result = runner.invoke(
        cli.app, ["send", str(eml), "--smtp-host", HOST, "--smtp-port", str(port)]
    )
    assert result.exit_code == 0, result.output
    assert [sorted(e.rcpt_tos) for e in handler.received] == [
        ["bob@example.org", "zoe@example.org"]
    ] * 2
