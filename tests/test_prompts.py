"""Model prompts: family choice, user overrides, strict variables, and text kept as data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import digest.prompts as prompts
from digest.errors import TemplateProblem
from digest.prompts import load_prompt, prompt_family

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("model_type", "name", "family"),
    [
        ("t5", "t5-small", "t5"),
        ("t5", "google/flan-t5-base", "flan-t5"),
        ("t5", "/models/FLAN-T5-large", "flan-t5"),
        ("mt5", "google/mt5-small", "t5"),
        ("bart", "sshleifer/distilbart-cnn-12-6", "plain"),
        ("bart", "facebook/bart-large-cnn", "plain"),
        ("pegasus", "google/pegasus-xsum", "plain"),
    ],
)
def test_family_follows_model_type_and_name(model_type: str, name: str, family: str) -> None:
    assert prompt_family(model_type, name) == family


@pytest.mark.parametrize("family", ["t5", "flan-t5", "plain"])
@pytest.mark.parametrize(
    "text", ["{{ 7*7 }}", "{% for x in y %}{{ x }}{% endfor %}", "{# hidden #} and {{ text }}"]
)
def test_document_text_is_data_not_template_syntax(family: str, text: str) -> None:
    rendered = load_prompt(family)(f"Before {text} after.", kind="section")
    assert f"Before {text} after." in rendered
    assert "49" not in rendered


def test_built_in_wording() -> None:
    assert load_prompt("t5")("A text.") == "summarize: A text."
    assert load_prompt("plain")("A text.") == "A text."
    flan = load_prompt("flan-t5")
    assert flan("A text.", kind="section") == (
        "Summarize this section of an article in one or two sentences:\n\nA text."
    )
    assert flan("A text.", kind="article").startswith("Summarize this article")
    assert flan("A text.", kind="chunk").startswith("Summarize this part of an article")


def test_user_folder_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t5.j2").write_text("summarize briefly: {{ text }}\n", encoding="utf-8")
    monkeypatch.setenv("DIGEST_PROMPTS", str(tmp_path))
    assert load_prompt("t5")("X.") == "summarize briefly: X."
    assert load_prompt("plain")("X.") == "X."  # the others still come from the package


def test_misspelt_variable_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plain.j2").write_text("{{ txt }}\n", encoding="utf-8")
    monkeypatch.setenv("DIGEST_PROMPTS", str(tmp_path))
    with pytest.raises(TemplateProblem, match="'txt' is undefined"):
        load_prompt("plain")("X.")


def test_broken_and_missing_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plain.j2").write_text("{% if %}\n", encoding="utf-8")
    monkeypatch.setenv("DIGEST_PROMPTS", str(tmp_path))
    with pytest.raises(TemplateProblem, match=r"plain\.j2 line 1"):
        load_prompt("plain")
    with pytest.raises(TemplateProblem, match=r"prompt template nope\.j2 not found"):
        load_prompt("nope")


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_PROMPTS", str(tmp_path))
    folders = prompts.search_path()
    assert folders[0] == tmp_path
    assert folders[-1] == ROOT / "prompts"


def test_found_from_an_installed_wheel_layout(tmp_path: Path) -> None:
    """The wheel puts prompts/ at digest/prompts beside digest/prompts.py (see pyproject)."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "digest", site / "digest", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "prompts", site / "digest" / "prompts")
    code = (
        "import digest.prompts as p; r = p.load_prompt('t5'); "
        "print(p.__file__); print(r.filename); print(r('X.'))"
    )
    # -I: isolated, so neither the checkout nor an editable install is on the path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    module, template, rendered = result.stdout.splitlines()
    assert module == str(site / "digest" / "prompts.py")
    assert template == str(site / "digest" / "prompts" / "t5.j2")
    assert rendered == "summarize: X."
