# The two commands: `make run` (the sandbox bot) and `make test` (the whole test suite).
# Both build the virtualenv from nothing on first use; only Python 3.11+ and pip are needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tweetpay run --sandbox

# Style, the layer contracts (import-linter, contracts in pyproject.toml) and the types (mypy).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

# pytest exits 5 when it collects no test; that is not a failure of the code.
# .ci/with-postgres starts a throwaway PostgreSQL cluster when the server binaries are
# installed (pg_ctl) and TWEETPAY_TEST_POSTGRES_URL is not set, and removes it afterwards.
# PYTEST_WORKERS: pytest-xdist processes, one per core up to 4 (each worker migrates its own
# PostgreSQL database, tests take free ports and temporary files; PYTEST_WORKERS= for one).
PYTEST_WORKERS ?= -n auto --maxprocesses 4
test: $(STAMP) lint
	PYTHON=$(PY) .ci/with-postgres $(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(PY) -m benchmarks.ledger
	$(PY) -m benchmarks.grammar
	$(PY) -m benchmarks.bot

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
