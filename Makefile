# carebot: the two commands are `make demo` and `make test`; each sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test run lint typecheck bench clean

# (Re)install when pyproject.toml changes; the stamp keeps later runs instant.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)  ## chat with the bot in this terminal (no token needed)
	@$(BIN)/carebot demo

test: $(STAMP)  ## the whole test suite
	@$(BIN)/python -m pytest

run: $(STAMP)  ## real Telegram via long polling: BOT_TOKEN=... make run
	@$(BIN)/carebot run

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/mypy

bench: $(STAMP)  ## rerun every benchmark and rewrite BENCHMARKS.md
	@$(BIN)/carebot bench all

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
