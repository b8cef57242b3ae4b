# The two commands a user needs: `make repro` (build and run the whole pipeline) and `make test`.
# Both set up the machine first (scripts/setup.sh; a no-op once done).
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Models load from local files: never wait on hub retries (HF_HUB_OFFLINE=0 make repro for hf: sources).
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup repro test bench screenshots readme clean

setup:
	@bash scripts/setup.sh

repro: setup
	dvc repro

test: setup
	python -m pytest

# The benchmarks read the pipeline's data and models, so the pipeline comes first (a no-op when up to date).
bench: setup
	dvc repro
	python bench/mnist.py
	python bench/lm.py
	python bench/rag.py
	python bench/speech.py
	python bench/chat_server.py
	python bench/ddp.py
	python bench/lab_routes.py
	python bench/hostile.py

# The page's sections in headless Chromium, on the pipeline's models: reports/web/*.png (shown in the README).
screenshots: setup
	DLLAB_SCREENSHOTS=reports/web python -m pytest -q tests/web/test_browser.py tests/web/test_lab_browser.py tests/web/test_inspect_browser.py

# The README's results table from the metrics files dvc.lock records (after `dvc repro`; tests/test_readme.py checks it).
readme: setup
	python -m dllab.readme_results

clean:
	rm -rf data/mnist data/corpus models reports .pytest_cache
