# One task runner for set-up, lint, types, tests, demo, docs and benchmarks; CI (.ci/run) runs `make lint` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := $(CURDIR)/.demo-home
# glibc keeps freed training buffers instead of returning them every step (docs/speed.md).
export MALLOC_MMAP_THRESHOLD_ ?= 33554432
export MALLOC_TRIM_THRESHOLD_ ?= 1073741824

.PHONY: install demo test test-fast docs tour lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
# One line per step: a first install takes minutes, and a silent one looks stuck.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "install 1/3: pip itself"
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "install 2/3: torch 2.13.0, the CPU build (the largest download; minutes the first time)"
	$(BIN)/python -m pip install -q torch==2.13.0
	@echo "install 3/3: lstmcast and its dependencies (pandas, yfinance, dask, arch, optuna, ...)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	@echo "installed into $(VENV)"
	touch $@

install: $(VENV)/.installed

demo: install
	@echo "demo: importing two sample stocks, training an LSTM, backtesting it, forecasting (about a minute)"
	rm -rf $(DEMO_HOME)
	$(BIN)/lstmcast --home $(DEMO_HOME) import sample_data/AAPL.csv --ticker AAPL
	$(BIN)/lstmcast --home $(DEMO_HOME) import sample_data/MSFT.csv --ticker MSFT
	$(BIN)/lstmcast --home $(DEMO_HOME) data
	$(BIN)/lstmcast --home $(DEMO_HOME) train AAPL --model lstm --epochs 8
	$(BIN)/lstmcast --home $(DEMO_HOME) backtest AAPL --model lstm --folds 3 --epochs 5 --plot $(DEMO_HOME)/backtest.png
	$(BIN)/lstmcast --home $(DEMO_HOME) forecast AAPL --horizon 5
	@echo "demo store, models and plot: $(DEMO_HOME)"

test: install
	$(BIN)/python -m pytest -q

test-fast: install  # the inner loop: everything but the tests marked slow
	$(BIN)/python -m pytest -q -m "not slow"

docs: install  # the command reference, from the real --help (a test fails while it is stale)
	$(BIN)/python docs/gen_commands.py

tour: install  # the README's tour, run at 80 columns in a fresh store: docs/tour.md (about 2 minutes)
	$(BIN)/python docs/gen_tour.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install  # every benchmark the docs quote (tests/test_docs.py checks the list)
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_train_process.py
	$(BIN)/python benchmarks/bench_backtest.py
	$(BIN)/python benchmarks/bench_modes.py --epochs 10 --folds 5 --targets AAPL,MSFT,IBM
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_precision.py
	$(BIN)/python benchmarks/bench_intervals.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_forecast.py
	$(BIN)/python benchmarks/bench_preset.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_device.py
	$(BIN)/python benchmarks/bench_import_memory.py
	$(BIN)/python benchmarks/bench_tune.py
	$(BIN)/python benchmarks/bench_volatility.py
	$(BIN)/python benchmarks/bench_contention.py
	$(BIN)/python -m pip install -q skfolio && $(BIN)/python benchmarks/bench_universe_sp20.py --seeds 3
	$(BIN)/python benchmarks/bench_universe_sp20.py --target volatility --window 30
	$(BIN)/python benchmarks/bench_universe_scale.py
	$(BIN)/python benchmarks/bench_universe_fetch.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
