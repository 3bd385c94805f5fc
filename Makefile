# Set-up in two commands: `make run` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
REDIS_URL ?= redis://127.0.0.1:6379/0
# As the Dockerfile serves: the app writes the access log (one JSON line a request), so
# uvicorn's own is off; a stop waits at most 3 s for requests and event streams to end.
SERVE := --no-access-log --timeout-graceful-shutdown 3

.PHONY: run run-workers test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# torch==2.13.0 (the CPU build) is the test-only oracle for the gradients.
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,oracle]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# A request still running 3 s after SIGTERM (or Ctrl+C) is cut: event streams never end.
run: $(VENV)/.app node_modules/.package-lock.json
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) $(SERVE)

# Several workers share networks and follow events through one Redis; start it first,
# e.g. `redis-server --port 6379 --bind 127.0.0.1 --appendonly yes`.
run-workers: $(VENV)/.app node_modules/.package-lock.json
	REDIS_URL=$(REDIS_URL) $(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) \
		--workers $(WORKERS) $(SERVE)

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.test node_modules/.package-lock.json lint
	$(BIN)/pytest

format: $(VENV)/.test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.test node_modules/.package-lock.json
	$(BIN)/python -m benchmarks.engine
	$(BIN)/python -m benchmarks.api  # needs wrk (apt-get install wrk)
	$(BIN)/python -m benchmarks.flood
	-$(BIN)/python -m benchmarks.classroom  # exits 1 when a target is missed: the rest still run
	-$(BIN)/python -m benchmarks.classroom --pages --only class
	$(BIN)/python -m benchmarks.follow
	$(BIN)/python -m benchmarks.page  # needs chromium (apt-get install chromium)
	$(BIN)/python -m benchmarks.knobs  # needs chromium
	$(BIN)/python -m benchmarks.live
	$(BIN)/python -m benchmarks.live_class
	$(BIN)/python -m benchmarks.graph
	$(BIN)/python -m benchmarks.training

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache artifacts
