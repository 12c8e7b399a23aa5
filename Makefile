# The product's entry points. `make run` and `make test` work on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
PORT ?= 8000

.PHONY: install install-dev run pipeline serve test bench quality clean

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

test: install-dev
	pytest

## Model quality of each model kind on the public template's full 2021 split.
quality: install
	python -m accidents.quality

bench: install-dev
	python benchmarks/run.py

clean:
	rm -rf $(VENV)
