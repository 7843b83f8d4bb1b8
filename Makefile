# Two commands do all setup on a fresh Debian machine:  make demo  ·  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[demo,test,bench]'
	touch $(STAMP)

## Run the sample shop behind the gate on http://127.0.0.1:8000 (SQLite stores in ./cookiegate-data)
demo: $(STAMP)
	$(BIN)/cookiegate demo --host 127.0.0.1 --port 8000 --data-dir ./cookiegate-data

## Lint, type-check and run every test (installs Chromium for the browser tests when run as root)
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest --cov=cookiegate --cov-report=term:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check cookiegate tests benchmarks static
	$(BIN)/mypy --strict cookiegate

# Real browser for the banner tests: Debian's chromium (Playwright's own download does not work offline),
# and a CJK font so Korean text renders in screenshots.
system-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and fonts-noto-cjk (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "chromium is not installed and this is not root: browser tests will be skipped"; fi
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing postgresql (apt-get) for the PostgreSQL store tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	else echo "postgresql is not installed and this is not root: PostgreSQL tests will be skipped"; fi

## The Locust benchmark: bare vs gated vs gated+logged vs uvicorn --access-log (see benchmarks/README.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
