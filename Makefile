# Two set-up commands from the README: `make preview` and `make test`. Both create venv/ on first use.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# What `make preview` needs and no more: the program (requirements.txt), the pack (policies/requirements.txt) and the
# preview's own command line (requirements-preview.txt).
PREVIEW_STAMP := $(VENV)/.installed-preview
PREVIEW_REQUIREMENTS := requirements.txt policies/requirements.txt requirements-preview.txt constraints.txt
REQUIREMENTS := requirements.txt requirements-dev.txt requirements-preview.txt policies/requirements.txt \
	handler/requirements.txt constraints.txt
# Three mypy runs: the stack program and the pack each have a __main__.py, which one run cannot hold twice.
TYPED := components handler guardrails policies/keyless_guard offline_preview mock_engine access_report bundle_builder bootstrap/deploy_grants tools tests benchmarks stack_settings.py

.PHONY: venv preview test lint typecheck workflows unit unit-fast bundle bench clean

venv: $(STAMP)

# The stamp is newer than every requirements file once they are installed, so re-running is a no-op.
$(STAMP): $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	touch $(STAMP) $(PREVIEW_STAMP)

# The full toolchain is a superset, so after `make test` this is a no-op; on a fresh clone `make preview` installs
# only the program's and the pack's pins (no test, lint, benchmark or chart tools).
$(PREVIEW_STAMP): $(PREVIEW_REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements.txt \
		-r policies/requirements.txt -r requirements-preview.txt
	touch $(PREVIEW_STAMP)

# As the first `pulumi preview` of a new stack: computed outputs unknown, every policy of the pack in force
# (the stack's policyConfig, policies/config/prod.json). Exit 1 on a mandatory violation.
preview: $(PREVIEW_STAMP)
	$(PY) -m offline_preview --stack prod --first-preview

bundle: $(STAMP)
	$(PY) -m bundle_builder

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy $(TYPED)
	$(VENV)/bin/mypy __main__.py
	$(VENV)/bin/mypy policies/__main__.py
	$(VENV)/bin/mypy bootstrap/__main__.py

# The CI workflows: actionlint (syntax, expressions, shellcheck when installed) and zizmor (pinning, injection,
# permissions), both offline.
workflows: $(STAMP)
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline .github/workflows/

# poetry in a virtualenv of its own; only its command is put on the tests' PATH (its venv's python and pip are not).
POETRY := build/poetry-bin/poetry
$(POETRY): requirements-poetry.txt
	$(PYTHON) -m venv build/poetry
	build/poetry/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-poetry.txt
	mkdir -p build/poetry-bin
	ln -sf ../poetry/bin/poetry $(POETRY)

unit: $(STAMP) $(POETRY)
	PATH="$(CURDIR)/build/poetry-bin:$$PATH" $(PY) -m pytest

# Without the tests marked slow (pack processes, the component host, virtualenvs, pip, bundle builds).
unit-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

test: lint typecheck workflows unit

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
