# Two set-up commands from the README: `make preview` and `make test`. Both create venv/ on first use.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt policies/requirements.txt handler/requirements.txt constraints.txt
# Three mypy runs: the stack program and the pack each have a __main__.py, which one run cannot hold twice.
TYPED := components handler policies/keyless_guard offline_preview mock_engine access_report bundle_builder bootstrap/deploy_grants tools tests benchmarks stack_settings.py

.PHONY: venv preview test lint typecheck workflows unit unit-fast bundle bench clean

venv: $(STAMP)

# The stamp is newer than every requirements file once they are installed, so re-running is a no-op.
$(STAMP): $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	touch $(STAMP)

# As the first `pulumi preview` of a new stack: computed outputs unknown, every policy of the pack in force
# (the stack's policyConfig, policies/config/prod.json). Exit 1 on a mandatory violation.
preview: $(STAMP)
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

unit: $(STAMP)
	$(PY) -m pytest

# Without the tests marked slow (pack processes, the component host, virtualenvs, pip, bundle builds).
unit-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

test: lint typecheck workflows unit

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
