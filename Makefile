# The README's two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the project's dependencies change.
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-fast lint format bench notebooks clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Jupyter, for the test that runs notebooks/lecture.ipynb (the main job does not need it).
NOTEBOOK := $(VENV)/.installed-notebook
$(NOTEBOOK): $(INSTALLED)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,notebook]'
	@touch $@

# The main job: LeNet-5, as its paper builds it, trained on the 5,000 bundled MNIST digits (no download).
demo: $(INSTALLED)
	$(BIN)/cnnlab train lenet5

# Everything, CI's command; the 20 slowest tests are named at the end, so that the next slow one shows.
test: $(NOTEBOOK)
	$(BIN)/python -m pytest --durations=20

# The fast lane while working: every test not marked slow (no training runs, notebook, browsers, experiments).
test-fast: $(NOTEBOOK)
	$(BIN)/python -m pytest -m "not slow" --durations=20

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python benchmarks/locally_connected.py

# The exercise notebooks, rebuilt from the exercises (commit them; a test fails while they differ).
notebooks: $(INSTALLED)
	$(BIN)/python scripts/exercise_notebooks.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis src/*.egg-info
