# The two commands that matter: `make demo` and `make test`. Both work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean services extras browser docs

# Every extra alone: a venv per extra (and "core": no extra) holding only the wheel of this checkout with that
# extra, running tests/packaging/smoke_<extra>.py. Adding an extra: add its name here and write its smoke script.
EXTRAS := core sqlite postgres mysql cli
EXTRAS_DIR := .venv-extras
WHEEL := $(EXTRAS_DIR)/dist/.built
SOURCES := $(shell find src -type f -not -path '*/__pycache__/*') README.md

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev,docs]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples tools
	$(BIN)/ruff format --check src tests bench examples tools

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

test: lint typecheck extras browser docs
	$(BIN)/pytest -q

# The dashboard's browser tests drive Debian's Chromium through playwright (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# The documentation site (mkdocs.yml): docs/ and the API reference from the docstrings, into site/. Strict: a
# broken link or anchor, or a reference naming nothing, fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

extras: $(EXTRAS:%=$(EXTRAS_DIR)/%/.installed)
	@for extra in $(EXTRAS); do \
		echo "--- evertask$$([ $$extra = core ] || echo "[$$extra]") alone"; \
		$(EXTRAS_DIR)/$$extra/bin/python tests/packaging/smoke_$$extra.py || exit 1; \
	done

$(WHEEL): pyproject.toml $(SOURCES) | $(STAMP)
	rm -rf $(EXTRAS_DIR)/dist
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir $(EXTRAS_DIR)/dist .
	touch $@

# A new pyproject.toml means new dependencies: a fresh venv, so that nothing of the old ones is left over. A new
# wheel alone (the code changed) is reinstalled over the old one.
$(EXTRAS_DIR)/%/.installed: pyproject.toml $(WHEEL)
	$(if $(filter pyproject.toml,$?),rm -rf $(EXTRAS_DIR)/$* && $(PYTHON) -m venv $(EXTRAS_DIR)/$*)
	$(EXTRAS_DIR)/$*/bin/pip install --quiet "$$(echo $(EXTRAS_DIR)/dist/*.whl)$(if $(filter core,$*),,[$*])"
	$(EXTRAS_DIR)/$*/bin/pip install --quiet --no-deps --force-reinstall $(EXTRAS_DIR)/dist/*.whl
	touch $@

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m bench all

# Starts the database servers on a development machine where they are installed but stopped
# (CI machines have them running already). Needs root.
services:
	pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true

clean:
	rm -rf $(VENV) $(EXTRAS_DIR) site .mypy_cache .ruff_cache .pytest_cache .hypothesis
