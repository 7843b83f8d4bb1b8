# Two commands do all setup on a fresh Debian machine:  make demo  ·  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# One install stamp per set of extras, so each command installs only what it runs: the demo needs uvicorn;
# the test suite also drives the demo, Chromium and (in its smoke test) the Locust benchmark.
EXTRAS_demo      := demo
EXTRAS_test      := demo,test,bench
EXTRAS_bench     := bench

.PHONY: demo test test-compiled wheel-compiled lint screenshots system-deps bench clean

# The venv's bundled pip installs editable hatchling projects fine; upgrading it first cost ~9 s here.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	@echo "installing cookiegate[$(EXTRAS_$*)] into $(VENV) for make $*"
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS_$*)]'
	touch $@

# Everything, for development (the test set is the largest).
$(VENV)/.installed: $(VENV)/.installed-test
	touch $@

## Run the sample shop behind the gate on http://127.0.0.1:8000 (SQLite stores in ./cookiegate-data)
demo: $(VENV)/.installed-demo
	$(BIN)/cookiegate demo --host 127.0.0.1 --port 8000 --data-dir ./cookiegate-data

## Lint, type-check and run every test (installs Chromium for the browser tests when run as root)
test: $(VENV)/.installed-test system-deps lint
	$(BIN)/python -m pytest --cov=cookiegate --cov-report=term:skip-covered
	$(MAKE) test-compiled

# The tests of the compiled modules (hatch_build.py HOT_PATH) again, against the compiled wheel a site installs.
COMPILED_TESTS := tests/test_judge.py tests/test_verdict.py tests/test_response.py tests/test_conversation.py tests/test_exchange.py tests/test_cookies.py tests/test_set_cookies.py \
	tests/test_consent.py tests/test_consent_cookie.py tests/test_injection.py tests/test_banner.py tests/test_handshake.py tests/test_minors.py \
	tests/test_middleware.py tests/test_bounded.py tests/test_request_facts.py tests/test_gpc.py \
	tests/test_signed_states.py tests/test_report_mode.py tests/hostile/test_cookie_header.py \
	tests/hostile/test_set_cookie.py tests/hostile/test_consent_cookie.py tests/hostile/test_websocket.py \
	tests/test_leaks.py tests/test_accesslog.py tests/test_access_rows.py tests/test_spool.py tests/hostile/test_blocked_counters.py \
	tests/test_api_routes.py tests/test_api_changes.py tests/test_api_choices.py tests/test_api_intake.py \
	tests/test_api_errors.py tests/test_api_language.py tests/test_ledger.py

## The wheel a site installs: the request hot path compiled with mypyc (hatch_build.py), in dist/
wheel-compiled: $(VENV)/.installed-test
	$(BIN)/python hatch_build.py wheel dist

## The hot path's tests against the compiled wheel (mypyc; built in a temp dir, the tree stays as it is)
test-compiled: $(VENV)/.installed-test
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "test-compiled: building the mypyc wheel in $$tmp" && \
	$(BIN)/python hatch_build.py install "$$tmp/site" && \
	COOKIEGATE_BUILD_SITE="$$tmp/site" $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.compiled_build \
		$(COMPILED_TESTS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check cookiegate tests benchmarks static hatch_build.py
	$(BIN)/ruff format --check cookiegate tests benchmarks static hatch_build.py
	$(BIN)/mypy --strict  # cookiegate, tests and benchmarks ([tool.mypy] files)

# Real browser for the banner tests: Debian's chromium (Playwright's own download does not work offline),
# and a CJK font so Korean text renders in screenshots.
system-deps:
	@if command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "system-deps: apt-get install chromium fonts-noto-cjk (real browser + Korean font for the banner tests; ~26 packages, no recommends)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk; \
	else echo "chromium or fonts-noto-cjk missing and not root: browser tests skip (and fail under CI=true)"; fi
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "system-deps: apt-get install postgresql (a real server for the PostgreSQL store tests; no recommends)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; \
	else echo "postgresql is not installed and this is not root: PostgreSQL tests will be skipped"; fi

## Refresh the README's banner screenshots in docs/screenshots (the tests write theirs to a temp dir)
screenshots: $(VENV)/.installed-test system-deps
	COOKIEGATE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_banner_browser.py -k "axe or small_screen or phone or without_javascript"

## The Locust benchmark: bare vs gated vs gated+logged vs uvicorn --access-log (see benchmarks/README.md)
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
