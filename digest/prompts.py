"""Model input templates (prompts/): per-family Jinja2 files, user folder first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import jinja2

from digest.errors import TemplateProblem

#: Where a wheel puts the top-level prompts/ folder (pyproject force-includes it here).
PACKAGE_PROMPTS = Path(__file__).resolve().parent / "prompts"
#: The folder at the top of a source checkout (editable installs and tests).
CHECKOUT_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
#: Users point this at a folder of their own templates, which win over the built-in ones.
ENV_VAR = "DIGEST_PROMPTS"

_T5_TYPES = {"t5", "mt5", "umt5", "longt5", "switch_transformers"}


def prompt_family(model_type: str, name: str) -> str:
    """The template family for a model: "flan-t5", "t5" or "plain" (BART, Pegasus, …)."""
    if model_type in _T5_TYPES:
        return "flan-t5" if "flan" in name.lower() else "t5"
    return "plain"


def search_path() -> list[Path]:
    """Folders searched for templates, in order: $DIGEST_PROMPTS, the package, the checkout."""
    folders = []
    user = os.environ.get(ENV_VAR)
    if user:
        folders.append(Path(user).expanduser())
    folders += [PACKAGE_PROMPTS, CHECKOUT_PROMPTS]
    return [f for f in folders if f.is_dir()]


@lru_cache(maxsize=8)
def _environment(folders: tuple[Path, ...]) -> jinja2.Environment:
    return _prompt_environment(jinja2.FileSystemLoader([str(f) for f in folders]))


def _prompt_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    # StrictUndefined: a misspelt variable in a user's template fails instead of vanishing.
    # No autoescape: the output is model input, not HTML.
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


class Prompt:
    """One compiled prompt template; call it with the text (and kind) to get the model input.

    The text is passed as a variable and never becomes template source, so a document
    containing `{{ 7*7 }}` reaches the model exactly as written.
    """

    def __init__(self, template: jinja2.Template) -> None:
        self._template = template
        self.filename = template.filename or template.name or "?"

    def __call__(self, text: str, *, kind: str = "article") -> str:
        try:
            return self._template.render(text=text, kind=kind).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(f"prompt template {self.filename}: {exc.message}") from None


def read_templates() -> dict[str, str]:
    """Every template on the search path as file name → source, the first folder's winning:
    what an engine in another process (a Ray worker) is given instead of the folders."""
    found: dict[str, str] = {}
    for folder in search_path():
        for path in sorted(folder.rglob("*.j2")):
            name = path.relative_to(folder).as_posix()
            if name not in found and path.is_file():
                found[name] = path.read_text(encoding="utf-8")
    return found


@lru_cache(maxsize=8)
def _carried_environment(sources: tuple[tuple[str, str], ...]) -> jinja2.Environment:
    return _prompt_environment(jinja2.DictLoader(dict(sources)))


def load_prompt(family: str, sources: Mapping[str, str] | None = None) -> Prompt:
    """The template for `family` ("t5", "flan-t5", "plain"), from the first folder that has it,
    or from `sources` (file name → template text, see read_templates) when given."""
    name = f"{family}.j2"
    if sources:
        environment = _carried_environment(tuple(sorted(sources.items())))
        where = "the templates carried by the engine specification"
    else:
        folders = tuple(search_path())
        if not folders:
            raise TemplateProblem(f"no prompts folder found (looked for {PACKAGE_PROMPTS})")
        environment = _environment(folders)
        where = ", ".join(str(f) for f in folders)
    try:
        return Prompt(environment.get_template(name))
    except jinja2.TemplateNotFound:
        raise TemplateProblem(f"prompt template {name} not found in {where}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"prompt template {exc.filename or name} line {exc.lineno}: {exc.message}"
        ) from None
