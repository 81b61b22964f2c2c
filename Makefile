# Rapport. `make run` serves the API on 127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run migrate test lint format openapi lock clean bench fuzz typescript

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly what requirements.lock pins (hashes checked), then the app itself.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip sync --python $(BIN)/python --quiet requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-proxy-headers

lint: install
	$(BIN)/ruff check app tests alembic bench deploy
	$(BIN)/ruff format --check app tests alembic bench deploy
	$(BIN)/mypy app

format: install
	$(BIN)/ruff check --fix app tests alembic bench deploy
	$(BIN)/ruff format app tests alembic bench deploy

# In parallel, one worker per core (pytest-xdist): most of the suite waits on servers and
# databases. Each worker has its own SQLite files and PostgreSQL cluster. PYTEST_WORKERS=0 runs
# it in one process.
PYTEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# Follow-ups, reciprocity and the scheduler at full scale on a throwaway PostgreSQL and a SQLite
# file (bench/run.py; about 8 minutes on 2 cores), then the HTTP benchmark below (about 11):
# both write docs/benchmarks.md. Not part of `make test`.
# RAPPORT_BENCH_SCALE=0.1 RAPPORT_BENCH_SHORT=1 make bench for a quick run (its figures are not
# the recorded ones); BENCH_ARGS / BENCH_HTTP_ARGS pass options (python -m bench.run --help,
# python -m bench.http_bench --help).
bench: install bench-wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.http_bench $(BENCH_HTTP_ARGS)

# Rapport over HTTP (uvicorn, 2 workers, driven by wrk) against a hand-written Starlette baseline
# in the same run, on SQLite and PostgreSQL (bench/http_bench.py, bench/baseline.py; about 11
# minutes): writes the HTTP section of docs/benchmarks.md. RAPPORT_BENCH_SHORT=1 for a quick run.
.PHONY: bench-http bench-wrk
bench-http: install bench-wrk
	$(BIN)/python -m bench.http_bench $(BENCH_HTTP_ARGS)

# wrk from the system's packages when it is missing and we are root; without it the HTTP
# benchmark falls back to its (slower) Python load generator.
bench-wrk:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q wrk >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }; } || \
		echo "wrk is not installed: the HTTP benchmark uses its Python load generator"

# Builds the Dockerfile with buildah (chroot isolation, no Docker engine) on a debootstrap
# stand-in of python:3.11-slim, then runs the image: its migration on a throwaway PostgreSQL, its
# CMD, /healthz, an authenticated call, SIGTERM with a request in flight (deploy/image_test.py).
# Needs root; installs buildah and debootstrap when missing. About 5 minutes the first time (the
# stand-in is cached in ~/.cache/rapport), under a minute after. Not part of `make test`.
.PHONY: image-test
image-test: install
	$(BIN)/python deploy/image_test.py

openapi: install
	$(BIN)/python -m app.openapi openapi/openapi.json

# The contract fuzzing of `make test` (tests/contract/test_fuzz.py) at depth, on SQLite and
# PostgreSQL, with fresh random data each run: 200 examples per operation and longer stateful
# sequences by default (about 14 minutes on 2 cores). RAPPORT_FUZZ_EXAMPLES scales it.
RAPPORT_FUZZ_EXAMPLES ?= 200
fuzz: install
	RAPPORT_FUZZ_EXAMPLES=$(RAPPORT_FUZZ_EXAMPLES) RAPPORT_FUZZ_RANDOM=1 \
		$(BIN)/pytest -q tests/contract/test_fuzz.py

# The load soak of `make test` (tests/reliability/test_soak.py) for longer: 48 clients of 8
# accounts against two uvicorn workers, RAPPORT_SOAK_SECONDS per database (a fresh SQLite file,
# then a throwaway PostgreSQL), with a stricter bound on memory growth; about 8 minutes on 2 cores.
.PHONY: soak
RAPPORT_SOAK_SECONDS ?= 180
soak: install
	$(BIN)/python -m tests.reliability.soak --seconds $(RAPPORT_SOAK_SECONDS) --database both

# TypeScript types from the committed document (openapi-typescript), type-checked with tsc --strict
# against a web app's uses of them (clients/typescript/usage.ts). Needs Node 20+ and npm; installs
# what clients/typescript/package-lock.json pins. tests/contract/test_typescript.py runs it.
TS := clients/typescript

$(TS)/node_modules/.installed: $(TS)/package.json $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(TS)/rapport.d.ts: openapi/openapi.json $(TS)/node_modules/.installed
	cd $(TS) && npm run --silent generate

typescript: $(TS)/rapport.d.ts
	cd $(TS) && npm run --silent check

# Re-pins every dependency from pyproject.toml (run after changing dependencies): the full lock
# for the venv and CI, and the runtime-only lock (no dev tools) the Dockerfile installs.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml -c requirements.lock --generate-hashes --python-version 3.11 \
		--quiet -o requirements.runtime.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
