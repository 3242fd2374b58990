# Bangguseok Briefing — the two commands a fresh machine needs: `make dev` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
TOOLS ?= $(HOME)/.cache/bangguseok/bin
export BRIEFING_TOOLS_DIR := $(TOOLS)
export PATH := $(TOOLS):$(HOME)/.local/bin:$(HOME)/go/bin:$(PATH)

.PHONY: dev test provision provision-test assets lint typecheck pytest bench train-demo clean

## dev: provision what is missing, then run FerretDB, Redis, the API and a worker in the foreground
dev: provision
	scripts/dev.sh

## test: provision what is missing, then ruff, mypy and pytest against real FerretDB and Redis
test: provision-test lint typecheck pytest

provision:
	scripts/provision.sh python redis ferretdb web

provision-test: provision
	scripts/provision.sh ffmpeg rtsp chromium

assets:
	scripts/provision.sh web

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy

pytest:
	$(PY) -m pytest

bench:
	$(PY) -m bench.inference
	$(PY) -m bench.ticks
	$(PY) -m bench.fanout
	$(PY) -m bench.idle
	$(PY) -m bench.api_memory
	$(PY) bench/clients.py --n 100
	$(PY) bench/reconnect.py
	$(PY) -m bench.watch
	$(PY) -m bench.webapp

train-demo:
	$(PY) -m inference.demo.train

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
