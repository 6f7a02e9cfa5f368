# Equality Monitor: the two quick-start commands are `make run` and `make test`.
# Each creates the virtual environment and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench demo-national suites docs clean lock

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## Install, then run the dashboard on the bundled demo data (data/). serve.py serves app.py
## without Streamlit's metrics endpoint; .streamlit/config.toml binds it to 127.0.0.1.
run: $(BIN)/.installed
	$(BIN)/python -m streamlit run serve.py

## Install, then lint and run every test (browser tests need /usr/bin/chromium).
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Regenerate expectations/*.json and docs/data-contract.md from the schema.
suites: $(BIN)/.installed
	$(BIN)/python -m equality_core suites
	$(BIN)/python -m equality_core docs

## Benchmarks at national scale (not part of the tests; figures go in benchmarks/README.md).
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

## Pin requirements.txt, with every file's SHA-256, into requirements.lock for production
## installs (pip install --require-hashes -r requirements.lock). Run after requirements.txt
## changes, with the Python version the server runs.
lock: $(BIN)/.installed
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
		--output-file requirements.lock requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
