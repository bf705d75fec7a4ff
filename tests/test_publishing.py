"""publish(): the run policy a Python caller gets without the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fake_engine import write_articles

from digest import Options, PublishOptions, publish
from digest.errors import TemplateProblem, UsageError
from digest.publishing import MailPlan
from digest.state import STATE_FILENAME, Since

DAY = dt.date(2026, 11, 24)
EXTRACTIVE = Options(engine="extractive", date=DAY, cache=None)


def test_same_day_since_digests_get_numbered_names_and_nothing_new_keeps_the_first(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write_articles(src, 2)
    since = PublishOptions(out=out, since=Since(last=True))

    first = publish([src], EXTRACTIVE, since)
    assert first.written == (out / "digest-2026-11-24.md",) and first.exit_code == 0
    morning = first.written[0].read_text(encoding="utf-8")
    state = json.loads((out / STATE_FILENAME).read_text(encoding="utf-8"))
    assert len(state["files"]) == 2

    again = publish([src], EXTRACTIVE, since)
    assert again.written == () and again.exit_code == 0
    assert first.written[0].read_text(encoding="utf-8") == morning

    write_articles(src, 1, start=2)
    later = publish([src], EXTRACTIVE, since)
    assert later.written == (out / "digest-2026-11-24-2.md",)
    assert "Story 2" in later.written[0].read_text(encoding="utf-8")
    assert "Story 2" not in morning


def test_skip_empty_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    result = publish(
        [tmp_path / "src"], EXTRACTIVE, PublishOptions(out=tmp_path / "out", skip_empty=True)
    )
    assert result.written == () and not list((tmp_path / "out").glob("digest-*"))


def test_every_format_is_rendered_before_any_is_written(tmp_path: Path) -> None:
    src, out, templates = tmp_path / "src", tmp_path / "out", tmp_path / "templates"
    write_articles(src, 1)
    templates.mkdir()
    (templates / "email.html.j2").write_text("{{ digest.no_such_field.oops }}", encoding="utf-8")
    publishing = PublishOptions(out=out, formats=("md", "json", "eml"), templates=templates)
    with pytest.raises(TemplateProblem):
        publish([src], EXTRACTIVE, publishing)
    assert sorted(p.name for p in out.iterdir()) == [".digest.lock"]


def test_eml_without_a_mail_plan_uses_the_default_sender(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write_articles(src, 1)
    result = publish([src], EXTRACTIVE, PublishOptions(out=out, formats=("eml",)))
    assert b"From: Digest <digest@localhost>" in result.written[0].read_bytes()


def test_a_missing_source_is_reported_before_the_output_folder_is_created(
    tmp_path: Path,
) -> None:
    write_articles(tmp_path / "src", 1)
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="no such file or folder: .*nope"):
        publish([tmp_path / "src", tmp_path / "nope"], EXTRACTIVE, PublishOptions(out=out))
    assert not out.exists()


@pytest.mark.parametrize(
    ("publishing", "message"),
    [
        (PublishOptions(formats=("pdf",)), "unknown format pdf"),
        (PublishOptions(formats=()), "unknown format"),
        (PublishOptions(templates=Path("no-such-templates")), "--templates: no such folder"),
    ],
)
def test_mistakes_fail_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, publishing: PublishOptions, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_articles(tmp_path / "src", 1)
    with pytest.raises(UsageError, match=message):
        publish([tmp_path / "src"], EXTRACTIVE, publishing)
    assert not (tmp_path / "outputs").exists()


def test_unknown_engine_and_no_sources(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown engine"):
        publish([tmp_path], Options(engine="magic"), PublishOptions(out=tmp_path / "o"))
    with pytest.raises(UsageError, match="at least one folder or file"):
        publish([], EXTRACTIVE, PublishOptions(out=tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_sending_implies_the_eml_format(tmp_path: Path, smtp_server: Any) -> None:
    """The library, not only the command, writes the .eml a delivery needs (it stays on disk
    if sending fails)."""
    from loopback_smtp import HOST

    from digest.delivery import SmtpSettings
    from digest.email import parse_addresses, resolve_sender

    handler, port = smtp_server()
    write_articles(tmp_path / "in", 1)
    settings = SmtpSettings.from_env(host=HOST, port=port, security="none")
    mail = MailPlan(resolve_sender("a@example.org"), parse_addresses("b@example.org"), settings)
    result = publish(
        [tmp_path / "in"],
        EXTRACTIVE,
        PublishOptions(out=tmp_path / "o", formats=("md",), mail=mail),
    )
    assert [p.suffix for p in result.written] == [".md", ".eml"]
    assert len(handler.received) == 1 and result.undelivered is None


def test_exit_code_counts_skipped_inputs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_articles(src, 1)
    (src / "empty.txt").write_text("", encoding="utf-8")
    result = publish([src], EXTRACTIVE, PublishOptions(out=tmp_path / "out"))
    assert result.skipped == 1 and result.exit_code == 3
    assert len(result.written) == 1
