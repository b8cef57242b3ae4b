# The two commands a user needs: `make repro` (build and run the whole pipeline) and `make test`.
# Both set up the machine first (scripts/setup.sh; a no-op once done).
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Models load from local files: never wait on hub retries.
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup repro test bench clean

setup:
	@bash scripts/setup.sh

repro: setup
	dvc repro

test: setup
	python -m pytest

bench: setup
	python bench/mnist.py
	python bench/speech.py
	python bench/rag.py
	python bench/serve.py
	dvc repro tokenizer_train
	python bench/lm.py

clean:
	rm -rf data/mnist data/corpus models reports .pytest_cache
