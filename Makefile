# ccreview — every entry point bootstraps .venv from requirements.lock first.
# Only python3 and make are needed on a fresh machine.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
OUT      ?= out
SAMPLE_AS_OF := 2026-11-01
SAMPLE_SEED  := 20261101
SAMPLE_GROUPS := 24

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90

.PHONY: help install demo test lint format sample docs bench lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the locked versions (skipped when up to date)

demo: $(STAMP)  ## review data/sample/ into out/, then take in filled-in attestation copies
	$(BIN)/ccreview review --input data/sample --out $(OUT) --as-of $(SAMPLE_AS_OF) --replace
	rm -rf $(OUT)/returned
	$(BIN)/python -m ccreview.synthetic.returns $(OUT)/attestation $(OUT)/returned
	$(BIN)/ccreview attest --returned $(OUT)/returned --out $(OUT) --as-of $(SAMPLE_AS_OF) \
		--received-by 2026-12-15

test: $(STAMP) lint  ## lint, then the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff over the code
	$(BIN)/ruff check ccreview flows transforms contracts reports tests bench

format: $(STAMP)
	$(BIN)/ruff format ccreview flows transforms contracts reports tests

docs: $(STAMP)  ## regenerate docs/data-dictionary.md from the contracts
	$(BIN)/python -m contracts.data_dictionary

SIZES ?= S,M,L
bench: $(STAMP)  ## benchmark at hospital scale: make bench SIZES=S,M (results in bench/)
	$(BIN)/python bench/run_bench.py --sizes $(SIZES)

sample: $(STAMP)  ## regenerate the committed sample in data/sample/
	$(BIN)/ccreview generate --out data/sample --groups $(SAMPLE_GROUPS) --seed $(SAMPLE_SEED) --as-of $(SAMPLE_AS_OF)

lock:  ## refresh requirements.lock from a fresh resolve of pyproject.toml
	rm -rf /tmp/ccreview-lock && $(PYTHON) -m venv /tmp/ccreview-lock
	/tmp/ccreview-lock/bin/pip install --quiet -e '.[dev]'
	( echo "# Exact versions ccreview is tested with (pip freeze of a fresh .venv). Regenerate: make lock"; \
	  /tmp/ccreview-lock/bin/pip freeze --all | grep -v -i -E '^(ccreview|-e |pip==)' ) > requirements.lock

clean:  ## remove outputs (not .venv)
	rm -rf $(OUT) .pytest_cache .ruff_cache
