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

# The whole suite on SQLite (storage tests cover both backends themselves), then everything
# that goes through `settings`/`services` again on PostgreSQL (a fresh database per test).
PG_SUITE := tests/bot tests/care tests/test_e2e_polling.py

# Both passes always run (a red SQLite pass must not hide the PostgreSQL one); the last line says
# how each went, and the exit status is non-zero if either failed.
test: $(STAMP)  ## the whole test suite (SQLite, then PostgreSQL for the database-touching tests)
	@sqlite=passed; postgresql=passed; \
	$(BIN)/python -m pytest || sqlite=FAILED; \
	echo "== again on PostgreSQL: $(PG_SUITE)"; \
	CAREBOT_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q -m "not slow" $(PG_SUITE) \
		|| postgresql=FAILED; \
	echo "== make test: SQLite pass $$sqlite, PostgreSQL pass $$postgresql"; \
	test $$sqlite = passed && test $$postgresql = passed

run: $(STAMP)  ## real Telegram via long polling: BOT_TOKEN=... make run
	@$(BIN)/carebot run

lint: $(STAMP)  ## ruff, then mypy --strict on the packages
	@$(BIN)/ruff check .
	@$(BIN)/mypy

typecheck: $(STAMP)  ## mypy --strict on the packages only
	@$(BIN)/mypy

bench: $(STAMP)  ## rerun every benchmark and rewrite BENCHMARKS.md
	@$(BIN)/carebot bench all

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
