# The front door. `make demo` and `make test` do all set-up on a machine with only
# Python 3.11 and pip: a virtual environment with pinned dependencies, the embedded
# PostgreSQL and SMTP sink, and a project-local Airflow home.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-unit test-integration lint bench browser stop clean lock

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml dev/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . -e dev
	touch $(STAMP)

demo: setup
	$(BIN)/hmis demo

test: setup lint browser
	$(BIN)/pytest -p no:cacheprovider

# Headless Chromium (Debian's package) renders the compliance report page in the tests.
browser:
	@sh scripts/install-chromium.sh

test-unit: setup
	$(BIN)/pytest -m "unit or dags"

test-integration: setup browser
	$(BIN)/pytest -m integration

lint: setup
	$(BIN)/ruff check dags plugins src dev tests benchmarks

# The state-scale benchmark (about 5 minutes); see benchmarks/README.md for other scales.
bench: setup
	$(BIN)/python -m benchmarks.run --scale state

stop:
	-$(BIN)/hmis services stop

clean: stop
	rm -rf var

# Re-resolve the pinned file from requirements.in in a throw-away environment.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ echo "# Pinned, resolved from requirements.in on Python 3.11 (Linux x86_64). Regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.txt
	rm -rf .lock-venv
