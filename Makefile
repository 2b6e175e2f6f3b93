# medchat: `make run` installs and launches the app on the embedded demo model; `make test` installs and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860

.PHONY: install run test test-all lint bench demo clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) app.py --port $(PORT) $(ARGS)

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

test-all: install
	$(PY) -m pytest -m "not gpu"

lint: install
	$(PY) -m ruff check .

demo: install
	$(PY) -m training demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
