# ccreview — every entry point bootstraps .venv from requirements-dev.lock (hash-checked) first.
# Only python3 and make are needed on a fresh machine.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
OUT      ?= out
SAMPLE_AS_OF := 2026-11-01
SAMPLE_SEED  := 20261101
SAMPLE_GROUPS := 24

# Prefect's settings have one home: ccreview/prefect_runtime.py (DEFAULTS)

.PHONY: help install demo test test-pythons lint format sample docs bench lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

PIP := -m pip install --quiet --disable-pip-version-check

# pip comes first, from its own hash-checked pin: the pip a new venv brings (23.2.1 with
# Python 3.11.7 and 3.12.1) refuses the whole lock once a package asked for with an extra
# (prefect's httpx[http2]) has a release newer than its pin (httpx 0.29.0, December 2026).
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock requirements-pip.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) --require-hashes -r requirements-pip.lock
	$(BIN)/python $(PIP) --require-hashes -r requirements-dev.lock
	$(BIN)/python $(PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the locked, hash-checked versions (skipped when up to date)

demo: $(STAMP)  ## review data/sample/ into out/, then take in filled-in attestation copies
	$(BIN)/ccreview review --input data/sample --out $(OUT) --as-of $(SAMPLE_AS_OF) --replace
	rm -rf $(OUT)/returned
	$(BIN)/python -m ccreview.synthetic.returns $(OUT)/attestation $(OUT)/returned
	$(BIN)/ccreview attest --returned $(OUT)/returned --out $(OUT) --as-of $(SAMPLE_AS_OF) \
		--received-by 2026-12-15

test: $(STAMP) lint  ## lint, then the whole test suite, then the core suite on 3.12 and 3.13
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-pythons

# The pipeline supports Python 3.11 to 3.13: the readers, contracts, rules and ground truth
# run on each other version this machine has (pyenv's or python3.X on PATH).
OTHER_PYTHONS ?= 3.12 3.13
PORTABLE_TESTS := tests/test_readers.py tests/test_contracts.py tests/test_rules_by_hand.py \
	tests/test_source_encodings.py tests/test_ground_truth.py tests/test_identifiers.py \
	tests/test_layers.py
test-pythons:  ## the core test suite on Python 3.12 and 3.13 (skipped where absent)
	@for v in $(OTHER_PYTHONS); do \
	  py=$$(ls -d $$HOME/.pyenv/versions/$$v*/bin/python 2>/dev/null | tail -1); \
	  [ -n "$$py" ] || py=$$(command -v python$$v || true); \
	  if [ -z "$$py" ]; then echo "Python $$v: not on this machine, skipped"; continue; fi; \
	  venv=.venv-$$v; \
	  if [ ! -f $$venv/.installed-stamp ] || [ pyproject.toml -nt $$venv/.installed-stamp ] \
	     || [ requirements-dev.lock -nt $$venv/.installed-stamp ] \
	     || [ requirements-pip.lock -nt $$venv/.installed-stamp ]; then \
	    rm -rf $$venv && $$py -m venv $$venv && \
	    $$venv/bin/python $(PIP) --require-hashes -r requirements-pip.lock > $$venv.log 2>&1 && \
	    $$venv/bin/python $(PIP) --require-hashes -r requirements-dev.lock >> $$venv.log 2>&1 && \
	    $$venv/bin/python $(PIP) --no-deps --no-build-isolation -e . >> $$venv.log 2>&1 \
	      || { grep -v "^WARNING: Location" $$venv.log | tail -20; exit 1; }; \
	    touch $$venv/.installed-stamp; \
	  fi; \
	  echo "Python $$v ($$py):"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(PORTABLE_TESTS) || exit 1; \
	done

lint: $(STAMP)  ## ruff over the code
	$(BIN)/ruff check ccreview flows transforms contracts reports tests bench

format: $(STAMP)
	$(BIN)/ruff format ccreview flows transforms contracts reports tests bench

docs: $(STAMP)  ## regenerate docs/data-dictionary.md from the contracts
	$(BIN)/python -m ccreview.contracts.data_dictionary

SIZES ?= S,M,L
bench: $(STAMP)  ## benchmark at hospital scale: make bench SIZES=S,M (results in bench/)
	$(BIN)/python bench/run_bench.py --sizes $(SIZES)

sample: $(STAMP)  ## regenerate the committed sample in data/sample/
	$(BIN)/ccreview generate --out data/sample --groups $(SAMPLE_GROUPS) --seed $(SAMPLE_SEED) --as-of $(SAMPLE_AS_OF)

lock:  ## re-resolve requirements.lock (runtime) and requirements-dev.lock, with hashes
	rm -rf /tmp/ccreview-lock && $(PYTHON) -m venv /tmp/ccreview-lock
	/tmp/ccreview-lock/bin/pip install --quiet pip-tools
	echo pip | /tmp/ccreview-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--no-header --no-emit-index-url --no-emit-find-links --output-file=requirements-pip.lock -
	/tmp/ccreview-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-header --no-emit-index-url --no-emit-find-links --output-file=requirements.lock \
		pyproject.toml
	/tmp/ccreview-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-header --no-emit-index-url --no-emit-find-links --extra dev \
		--constraint requirements.lock --output-file=requirements-dev.lock pyproject.toml

clean:  ## remove outputs (not .venv)
	rm -rf $(OUT) .pytest_cache .ruff_cache
