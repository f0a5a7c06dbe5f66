# One entry point for set-up, the main job, tests and lint.
# `make run` and `make test` each build the local virtual environment first when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first, pinned, so nothing pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,ray,rl]'
	touch $(STAMP)

run: $(STAMP)  ## the main job: the default campus scenario on embedded defaults
	$(BIN)/mcsim run scenarios/campus.yaml --out runs/campus --overwrite

test: lint  ## lint, then the test suite (slow training tests are skipped unless MCSIM_SLOW=1)
	$(BIN)/python -m pytest -n 2 -q --durations=15

lint: $(STAMP)  ## style, formatting, types, complexity and the layering contract
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .mypy_cache .hypothesis
