# Developer shortcuts; the README's two commands are the source of truth for installing and testing.
PY := .venv/bin/python

.PHONY: install check test snapshots bench fuzz validate

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && \
	.venv/bin/pip install --no-deps --require-hashes -r requirements-embedded.txt

check:
	.venv/bin/ruff check benchtui tests bench
	.venv/bin/ruff format --check benchtui tests bench
	.venv/bin/mypy  # pyproject's [tool.mypy]: benchtui, tests and bench; strict on the engine
	.venv/bin/lint-imports

test:
	$(PY) -m pytest

snapshots:
	$(PY) -m pytest tests/test_tui_snapshots.py --snapshot-update

bench:
	$(PY) -m bench

fuzz:
	$(PY) -m tests.support.fuzz_resume --rounds 50

validate:
	.venv/bin/benchtui tasks validate tasks/
