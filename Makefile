# Every install path puts the CPU wheel of torch in first: an unpinned torch pulls CUDA (GBs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: install test lint fuzz run quality measure bench clean lowest

# pip is not upgraded: the one `python3 -m venv` ships (23.x) is what users install with, so the
# tests run on what it installs. The stamp (not bin/digest) marks the extras as installed: a
# .venv made by the README's quick start has digest but not pytest, and is completed here.
STAMP := $(VENV)/.digest-dev-installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test,dev,ray]'
	touch $@

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check digest tests scripts
	$(BIN)/ruff format --check digest tests scripts
	$(BIN)/mypy

# The readers' fuzz tests in their long profile (1,000 random examples per test, steered towards
# slow inputs; about 30 minutes on 2 cores; DIGEST_FUZZ_EXAMPLES=N for more):
# `make test` runs them in the quick one. docs/testing.md records a run.
fuzz: install
	DIGEST_FUZZ=long $(BIN)/python -m pytest -q -p no:randomly tests/test_fuzz_readers.py \
		--hypothesis-show-statistics

# The lowest versions pyproject.toml allows for the direct dependencies (core and test extra;
# torch is the pinned CPU build, installed first as everywhere), in a venv of their own, and
# the tests that exercise each dependency (about 4 minutes): a lower bound that no longer
# holds fails here, not in a user's install. .ci/run runs it in its fresh clone.
LOWEST_VENV ?= .venv-lowest
LOWEST_TESTS ?= tests/test_cli.py tests/test_cli_errors.py tests/test_config.py \
	tests/test_paper_cuts.py tests/test_pipeline.py tests/test_text.py tests/test_render.py \
	tests/test_prompts.py tests/test_sources_text.py tests/test_sources_markdown.py \
	tests/test_sources_html.py tests/test_sources_feeds.py tests/test_http.py \
	tests/test_cache.py tests/test_locking.py tests/test_seq2seq.py tests/test_ctranslate2.py \
	tests/test_evaluate.py
LOWEST_SKIP ?= not news_writers and not 18f and not bbc and not concurrent

lowest:
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install --quiet $(TORCH)
	$(PYTHON) scripts/lowest_requirements.py --extra test --skip torch > $(LOWEST_VENV)/lowest.txt
	$(LOWEST_VENV)/bin/pip install --quiet -c $(LOWEST_VENV)/lowest.txt -e '.[test]'
	$(LOWEST_VENV)/bin/python scripts/lowest_requirements.py --extra test --skip torch --check
	$(LOWEST_VENV)/bin/python -m pytest -q -p no:randomly $(LOWEST_TESTS) -k "$(LOWEST_SKIP)"

run: install
	$(BIN)/digest make seeds/

quality: install
	$(BIN)/python scripts/evaluate_rouge.py

# Clutter, extraction F1, heading recall and story grouping on ../shared (docs/quality.md;
# about 3 minutes).
measure: install
	$(BIN)/python scripts/measure_extraction.py --json outputs/measure-extraction.json
	$(BIN)/python scripts/measure_structure.py
	$(BIN)/python scripts/measure_stories.py --json outputs/measure-stories.json

bench: install
	$(BIN)/python scripts/benchmark.py --limit 100 --beams 1 --tokens 64 --repeat 2 --output docs/benchmarks/batching.md
	$(BIN)/python scripts/benchmark.py --limit 24 --beams 4 --tokens 40 --repeat 1 --whole-process --output docs/benchmarks/ctranslate2.md
	$(BIN)/python scripts/bench_bare.py --repeat 5 --ray --output docs/benchmarks/bare.md
	$(BIN)/python scripts/benchmark_cache.py --output docs/benchmarks/cache-prune.md

clean:
	rm -rf $(VENV) $(LOWEST_VENV) build dist .pytest_cache .mypy_cache .ruff_cache
