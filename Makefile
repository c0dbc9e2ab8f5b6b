# Two entry points (see README): `make demo` runs the main job, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU torch that make tests with (the package itself asks for a range): see constraints/cpu.txt.
CONSTRAINTS := constraints/cpu.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | sha1sum | cut -c1-12)

.PHONY: demo test test-fast install clean bench

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# the quick demo (minutes); `.venv/bin/actionhub demo --out runs/demo --full` runs the whole plan
demo: $(STAMP)
	$(VENV)/bin/actionhub demo --out runs/demo

test: $(STAMP)
	$(VENV)/bin/ruff check
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m 'not slow'

bench: $(STAMP)
	$(PY) benchmarks/bench_train.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
