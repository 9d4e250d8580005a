# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint mutate

$(VENV)/.installed: requirements/base.txt requirements/prod.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

setup: $(VENV)/.installed

# Migrate, seed the demo data, start a Celery worker (with beat) and the web server.
demo: setup
	bin/demo

# The whole suite; SQLite unless DATABASE_URL is set (CI sets PostgreSQL and Redis).
test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy satismeter_app

# Mutation testing of the pure modules ([tool.mutmut] in pyproject.toml), then the kill rate of
# each against its 95% target, less the mutants listed in docs/mutation-testing.md. A clean
# run each time: mutmut's cache keeps old verdicts when only the tests changed.
mutate: setup
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(or $(MUTATE_JOBS),$(shell nproc))
	$(PY) bin/mutation_report.py
