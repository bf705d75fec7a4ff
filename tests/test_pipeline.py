"""The pipeline's own decisions: what is quoted, when a model is worth loading, batching order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from digest import executing
from digest.defaults import DEFAULT_MODEL
from digest.engines import Kind
from digest.pipeline import Options, make_digest
from digest.run_plan import plan_run

PARAGRAPH = " ".join(f"Sentence {i} adds one more fact about the harbour." for i in range(10))


class Recorder:
    name, model, backend = "recorder", "m", None

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.prepared = 0

    def prepare(self) -> None:
        self.prepared += 1

    def summarise(
        self, texts: Sequence[str], *, kind: Kind, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        self.calls.append((kind, list(texts)))
        return [f"<{kind} {i}>" for i, _ in enumerate(texts)]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    engine = Recorder()
    monkeypatch.setattr(executing, "get_engine", lambda name, **kw: engine)
    return engine


def test_short_documents_load_no_model(tmp_path: Path) -> None:
    """Only texts under the quoting threshold: the model is not even looked for."""
    (tmp_path / "note.txt").write_text("A note\n\nThe ferry leaves at nine.\n", encoding="utf-8")
    digest = make_digest(
        [tmp_path], Options(engine="seq2seq", model="no-such-org/no-such-model", cache=None)
    )
    assert digest.engine == "extractive" and not digest.notices
    (article,) = digest.articles
    # Quoted whole as the TL;DR; the paragraph and bullets have nothing left to add.
    assert article.tldr == "The ferry leaves at nine."
    assert article.summary == "" and article.sections == ()


def test_sections_of_all_documents_go_in_one_batch_in_order(
    tmp_path: Path, recorder: Recorder
) -> None:
    for name in ("a", "b"):
        # Distinct texts of one length: the same text twice would be summarised once.
        one, three = (PARAGRAPH.replace("harbour", f"harbour {name}{n}") for n in (1, 3))
        (tmp_path / f"{name}.md").write_text(
            f"# Doc {name}\n\n## One\n\n{one}\n\n## Two\n\nShort.\n\n## Three\n\n{three}\n",
            encoding="utf-8",
        )
    digest = make_digest([tmp_path], Options(engine="extractive"))
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds == ["article", "tldr", "section"]
    assert len(recorder.calls[2][1]) == 4  # two long sections × two documents, one call
    assert recorder.prepared == 1
    first = digest.articles[0]
    assert [s.summary for s in first.sections] == ["<section 0>", "Short.", "<section 1>"]
    assert [s.quoted for s in first.sections] == [False, True, False]
    assert [s.summary for s in digest.articles[1].sections][::2] == ["<section 2>", "<section 3>"]


def test_single_section_document_is_summarised_once(tmp_path: Path, recorder: Recorder) -> None:
    (tmp_path / "one.txt").write_text(f"One section\n\n{PARAGRAPH}\n", encoding="utf-8")
    digest = make_digest([tmp_path], Options(engine="extractive"))
    assert [(kind, len(texts)) for kind, texts in recorder.calls] == [
        ("article", 1),
        ("tldr", 1),
    ]  # no section call at all: nothing to summarise reaches no engine
    (article,) = digest.articles
    # No bullet that would only repeat the summary.
    assert article.summary == "<article 0>" and article.sections == ()


def test_presets_name_the_model_they_stand_for() -> None:
    assert plan_run(Options(model="fast")).model == "t5-small"
    assert plan_run(Options()).model == DEFAULT_MODEL
    assert plan_run(Options(model="fast")).fingerprint("seq2seq") == plan_run(
        Options(model="t5-small")
    ).fingerprint("seq2seq")


def test_a_short_section_cut_to_its_bound_is_not_quoted(tmp_path: Path, recorder: Recorder) -> None:
    # 40 words, but long ones: over the section's 1,100 characters, so it is cut, not whole.
    long_words = " ".join(f"word{i:02}" + "x" * 30 for i in range(40)) + "."
    (tmp_path / "a.md").write_text(
        f"# Doc\n\n## One\n\n{PARAGRAPH}\n\n## Two\n\n{long_words}\n\n## Three\n\nShort.\n",
        encoding="utf-8",
    )
    (article,) = make_digest([tmp_path], Options(engine="extractive")).articles
    one, two, three = article.sections
    assert two.words == 40 and two.summary.endswith("[…]") and not two.quoted
    assert three.summary == "Short." and three.quoted
    assert not one.quoted
