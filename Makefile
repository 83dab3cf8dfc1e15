# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.installed
PYTEST_ARGS ?=
# The tests wait on servers of their own as much as they compute: three workers on two CPUs
# beat two and four on this machine (and each test stays independent of the others).
TEST_WORKERS ?= 3

.PHONY: demo test lint bench clean

$(READY): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(READY)

demo: $(READY)
	$(BIN)/python -m demo.run_demo

test: $(READY)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(READY)
	$(BIN)/ruff check .

bench: $(READY)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) demo/out bench/out
