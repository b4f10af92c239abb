# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench schemas

$(BIN)/riskstream: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/riskstream
	$(BIN)/riskstream demo

test: $(BIN)/riskstream
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

schemas: $(BIN)/riskstream
	$(BIN)/python -m schemas.jsonschema
