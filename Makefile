# The README's two commands: `make run` and `make test`. Both do all set-up themselves:
# Python 3.10 venv with pinned dependencies, a redis-server binary, and the NLU model.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint model redis-server venv catalogs clean help bench-nlu bench

help:
	@echo "make run   - talk to the assistant (Telegram when TELEGRAM_BOT_TOKEN is set, else this terminal)"
	@echo "make test  - install everything, check, and run the whole test suite"
	@echo "make bench - scale and speed benchmark, written to bench/results.md (not a test)"

$(STAMP): pyproject.toml requirements.lock scripts/find-python310.sh
	@set -e; py=$$(scripts/find-python310.sh); \
	  echo "creating $(VENV) with $$py"; \
	  rm -rf $(VENV); "$$py" -m venv $(VENV); \
	  $(BIN)/python -m pip install -q --upgrade pip; \
	  $(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

venv: $(STAMP)

redis-server:
	@scripts/ensure-redis.sh

model: $(STAMP)
	@$(BIN)/avrr train

run: venv redis-server model
	@$(BIN)/avrr run --console-if-no-token

lint: venv
	$(BIN)/ruff check bot nlu tests bench

test: venv redis-server model lint
	$(BIN)/avrr content check
	$(BIN)/pytest -q

# Translators: refresh the template and every catalog after changing strings in bot/.
catalogs: venv
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --project="AVRR Assistant" --version=0.1 --copyright-holder="AVRR Assistant contributors" -o locales/messages.pot bot
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var

# Benchmarks (not tests): numbers go to bench/results-*.md.
bench-nlu: venv
	$(BIN)/python -m nlu.bench

# Scale and speed: webhook workers, throughput, latency, memory, sessions (bench/scale.py, ~5 min).
bench: venv redis-server model
	$(BIN)/python -m bench.scale
