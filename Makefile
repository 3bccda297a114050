# Two commands: `make run` starts the studio, `make test` runs the suite. Both create .venv when missing.
# torch/torchvision install from this machine's local disk on Python 3.11, so prefer that interpreter.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-all lint bench clean

$(VENV)/.deps: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.deps
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

run: $(VENV)/.deps
	$(PY) app.py $(ARGS)

# One pytest-xdist worker per usable core (fer.threads: affinity and cgroup quota; at most 4: each holds
# built models and may start an app server); `make test PYTEST_WORKERS=0` runs in one process. Each test
# file stays on one worker, in order (--dist loadfile): the browser tests build on each other's page.
# (fer/threads.py is read alone: importing the package would need torch, which the venv may not have yet)
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import runpy; print(min(4, runpy.run_path('fer/threads.py')['available_cpus']()))")
# `make test` skips the heavy cases marked `slow` (training subprocesses, the load test, the GPU script's
# dry run, OpenVINO exports of the big trunks); `make test-all`, and CI (.ci/run sets FER_TEST_ALL=1), run them too.
SLOW := $(if $(FER_TEST_ALL),,-m "not slow")

test: $(VENV)/.dev-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(SLOW) $(PYTEST_ARGS)

test-all:
	$(MAKE) test FER_TEST_ALL=1

lint: $(VENV)/.dev-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
