# Trunkline: `make run` starts a node, `make test` runs the whole suite. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# Debian packages the tests talk to (SIP peers), drive (PostgreSQL client) or speak with (espeak-ng: a second
# caller voice for the voice benchmarks).
TEST_DEBS := sip-tester kamailio postgresql-client espeak-ng

.PHONY: run test install models test-deps database lint bench-api bench-voice

run: install models
	$(BIN)/trunkline serve

test: install test-deps database
	$(BIN)/python -m pytest

# llama-cpp-python ships no wheel: it compiles once (~8 min on 2 cores) portably, then pip's wheel cache
# makes every later install instant.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

models: install
	$(BIN)/trunkline models assemble

test-deps:
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The suite runs every database test on PostgreSQL too (127.0.0.1:5432, database test).
database:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not answering on 127.0.0.1:5432"; exit 1

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench-api: install database
	$(BIN)/python -m bench.api.import_csv --backend sqlite --rows 100000
	$(BIN)/python -m bench.api.import_csv --backend postgresql --rows 100000
	$(BIN)/python -m bench.api.list_search --rows 1000000 --duration 90 --concurrency 8

bench-voice: install test-deps models
	$(BIN)/python -m bench.voice_latency.run --providers protocol
	$(BIN)/python -m bench.voice_latency.run --providers local
	$(BIN)/python -m bench.conversation_concurrency.run --calls 10,25,50
