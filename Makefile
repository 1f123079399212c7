# The two commands a new machine needs: `make demo` (install, then run with a demo branch) and `make test`.
PYTHON ?= python3
PYTEST_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo serve test lint format bench migration

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/ensure-system-packages runtime
	$(BIN)/chibo demo

serve: $(STAMP)
	bash scripts/ensure-system-packages runtime
	$(BIN)/chibo serve

# pytest's exit code 5 means "no tests collected": a broken collection must fail loudly, never pass.
test: $(STAMP)
	bash scripts/ensure-system-packages test
	bash scripts/ensure-postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS) || { status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$status; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	bash scripts/ensure-postgres
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Nothing is deployed yet: the schema is one revision, regenerated from the models.
migration: $(STAMP)
	rm -f meeting/migrations/versions/0001_*.py /tmp/chibo-migration.db
	$(BIN)/python -c "from alembic import command; from meeting.db.migrate import alembic_config; \
	command.revision(alembic_config('sqlite:////tmp/chibo-migration.db'), message='initial schema', \
	autogenerate=True, rev_id='0001')"
	$(BIN)/ruff format meeting/migrations
	$(BIN)/ruff check --fix meeting/migrations
