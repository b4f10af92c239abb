# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench schemas lock

$(BIN)/riskstream: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[test]'
	touch $@

demo: $(BIN)/riskstream
	$(BIN)/riskstream demo

# The browser tests drive Debian's chromium (Playwright downloads no browser): installed once.
test: $(BIN)/riskstream
	@command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

schemas: $(BIN)/riskstream
	$(BIN)/python -m schemas.jsonschema

# constraints.txt pins every dependency for reproducible installs; `make lock` refreshes it from
# the newest versions pyproject.toml allows, in a virtualenv of its own.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[test,demo]'
	( echo "# Every dependency, pinned: make installs with these; make lock refreshes them."; \
	  .lock-venv/bin/pip freeze --exclude riskstream ) > constraints.txt
	rm -rf .lock-venv
