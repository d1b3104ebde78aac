# A newcomer needs two commands: `make lab` and `make test`. Everything else here serves them.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
JLPM := $(BIN)/jlpm
# The example project is copied here on first use, so running it never edits the repository.
PLAYGROUND ?= playground
LAB_ARGS ?=
# JupyterLab refuses to start as root unless told to, as in containers and CI machines.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# Put the venv first on PATH so that `jupyter`, `jlpm` and `python` are the project's own.
export PATH := $(BIN):$(PATH)

.PHONY: lab test install browser lint test-python test-js test-ui docker-base-image clean

lab: install $(PLAYGROUND)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(PLAYGROUND) $(ALLOW_ROOT) $(LAB_ARGS)

test: install browser lint test-js test-ui test-python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The editable install skips the Node build; it runs once, explicitly, below. A previous
# `labextension develop` link makes pip write install.json into the build folder: drop it, or
# the editable wheel would hold that file twice.
install: $(BIN)/python
	rm -f jupyter_orchest/labextension/install.json
	SKIP_JUPYTER_BUILDER=1 $(BIN)/pip install --quiet -e ".[dev]"
	$(JLPM) install
	$(JLPM) build
	$(BIN)/jupyter labextension develop --overwrite .
	$(BIN)/jupyter server extension enable --sys-prefix jupyter_orchest

$(PLAYGROUND):
	mkdir -p $(PLAYGROUND)
	cp -R examples/quickstart $(PLAYGROUND)/quickstart

# Browser tests use Debian's Chromium rather than a browser build downloaded by Playwright.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi

lint:
	$(BIN)/ruff check jupyter_orchest orchest tests bench
	$(BIN)/ruff format --check jupyter_orchest orchest tests bench
	$(BIN)/mypy
	$(JLPM) lint:check

test-js:
	$(JLPM) test

test-ui:
	cd ui-tests && $(JLPM) install && $(JLPM) playwright test

# pytest runs last so its summary line closes the output.
test-python:
	$(BIN)/pytest

# The base image the Docker tests build environments from (jupyter-orchest/base:bookworm),
# made offline from Debian's packages; needs a running Docker engine and root or sudo.
docker-base-image:
	.ci/docker-base-image

clean:
	rm -rf $(VENV) node_modules ui-tests/node_modules lib jupyter_orchest/labextension
