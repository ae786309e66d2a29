# Two entry points: `make run` (set up and run the bot) and `make test` (set up and run every check).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps depend on pyproject.toml, so a changed dependency list reinstalls.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	mkdir -p data
	$(BIN)/ngo-bot run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

# The browser tests (tests/test_web_browser.py) run in `unit` with Debian's chromium; this
# installs it where missing (as root, like CI). Elsewhere they are skipped with the reason,
# except under CI=true, where a missing browser fails them.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "ngo-bot: chromium is missing and could not be installed: browser tests will skip"

test: browser lint typecheck unit

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/updates.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache test-output
