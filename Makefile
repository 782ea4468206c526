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

# The whole suite on SQLite (storage tests cover both backends themselves), and everything
# that goes through `settings`/`services` once more on PostgreSQL (a fresh database per test).
PG_SUITE := tests/bot tests/care tests/test_e2e_polling.py

# The two passes run side by side (their databases, Redis keys and temporary folders are
# their own), so the suite takes about as long as the longer one on a 2-core machine. Both
# always run to the end (a red SQLite pass must not hide the PostgreSQL one); the PostgreSQL
# pass's output follows the SQLite one's, the last line says how each went, and the exit
# status is non-zero if either failed.
test: $(STAMP)  ## the whole test suite (SQLite, and PostgreSQL for the database-touching tests)
	@sqlite=passed; postgresql=passed; pglog=$$(mktemp); \
	( CAREBOT_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q -p no:cacheprovider \
		-m "not slow" $(PG_SUITE) >$$pglog 2>&1 ) & pgpass=$$!; \
	$(BIN)/python -m pytest || sqlite=FAILED; \
	wait $$pgpass || postgresql=FAILED; \
	echo "== the PostgreSQL pass, run beside it: $(PG_SUITE)"; cat $$pglog; rm -f $$pglog; \
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
