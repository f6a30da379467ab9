# Two commands for a newcomer: `make serve` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
EXPLORER_JS := app/static/vendor/.installed

.PHONY: serve test test-sqlite test-postgres lint typecheck bench fuzz explorer-assets browser clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# Cytoscape.js and its layout come from the npm registry and are served by the app itself.
# The page loads them in this order: cytoscape, layout-base, cose-base, cytoscape-fcose (UMD
# builds that register window.cytoscape, layoutBase, coseBase and the fcose layout).
$(EXPLORER_JS): package.json package-lock.json
	npm install --no-audit --no-fund --silent
	mkdir -p app/static/vendor
	cp node_modules/cytoscape/dist/cytoscape.min.js \
	   node_modules/layout-base/layout-base.js \
	   node_modules/cose-base/cose-base.js \
	   node_modules/cytoscape-fcose/cytoscape-fcose.js app/static/vendor/
	touch $@

explorer-assets: $(EXPLORER_JS)

serve: $(VENV)/.installed $(EXPLORER_JS)
	$(BIN)/kg serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# Chromium for the browser tests comes from Debian (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: $(VENV)/.installed-dev $(EXPLORER_JS) browser
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Schemathesis against a live server, every check on, ~2.5 min; KG_DATABASE_URL=postgresql+psycopg://...
# fuzzes PostgreSQL. FUZZ_ARGS="--max-time 600 --seed 7" for a longer or repeatable run.
fuzz: $(VENV)/.installed-dev
	$(BIN)/python -m tests.hardening.fuzz $(FUZZ_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

# Synthetic S and L graphs, the service against its floors and Kuzu; ~15 min on 2 cores.
# Writes bench/results/latest.{json,md} and prints the table. BENCH_ARGS=--quick: a smaller run.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules app/static/vendor data
