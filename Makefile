# The book's commands. Everything runs inside .venv, made from requirements.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PRESET ?=
DEVICE ?= auto
ONLY   ?=
# Where pip also looks for torch. Empty: your pip's configuration (PyPI's torch 2.13.0 brings
# the CUDA libraries, several GB). https://download.pytorch.org/whl/cpu: the CPU-only build.
TORCH_INDEX ?=

.PHONY: install test unit notebooks browser book runs sync check-sources benchmark colab-check clean gdeep-reference gdeep-lock

install: ## make .venv with the pinned environment, and Chromium for the browser test
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	@if [ -x /usr/bin/chromium ]; then echo "chromium: found /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	else echo "chromium: not found; the browser test needs Debian's chromium (sudo apt-get install chromium)"; fi

test: unit notebooks browser ## everything CI runs

# The tests of everything that computes persistence, run again with the other engine.
ENGINE_TESTS := tests/test_engines.py tests/test_topology.py tests/test_regularizers.py \
                tests/test_functional.py tests/test_dynamics.py tests/test_datasets.py \
                tests/test_properties.py tests/test_hardening.py

unit: ## unit tests of tdnn_utils and the runner (persistence tests under both engines)
	$(BIN)/python -m pytest -m "not browser" tests/
	TDNN_ENGINE=gudhi $(BIN)/python -m pytest -q -m "not browser" $(ENGINE_TESTS)

notebooks: ## every chapter at its smoke defaults
	$(BIN)/python -m pytest --nbmake --nbmake-timeout=300 notebooks/

browser: ## render the book, open every chapter in headless Chromium
	$(BIN)/python -m pytest -m browser tests/

book: ## render _build/html from the committed executed chapters (no execution)
	$(BIN)/python -m tdnn_utils.runs --claims-page
	$(BIN)/python -m tdnn_utils.landing
	$(BIN)/jupyter-book build . --builder html

runs: ## re-run chapters: make runs PRESET=smoke|book|full [ONLY=01] [DEVICE=cuda]
	@if [ -z "$(PRESET)" ]; then echo "make runs needs PRESET=smoke, book or full (book and full rewrite the committed book; smoke writes to _runs/smoke/)"; exit 2; fi
	$(BIN)/python -m tdnn_utils.runs --preset $(PRESET) --device $(DEVICE) $(if $(ONLY),--only $(ONLY))

sync: ## after editing a chapter's notebooks/NN_x.md (or .ipynb): sync the pair, install cell, Colab link
	$(BIN)/python -m tdnn_utils.chapters sync

check-sources: ## fail if a chapter pair is out of sync or its install cell / Colab link drifted
	$(BIN)/python -m tdnn_utils.chapters check

benchmark: ## speed benchmarks, printing ratios against their references
	$(BIN)/python benchmarks/bench_readings.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_attempts.py
	$(BIN)/python benchmarks/bench_topology_callback.py
	$(BIN)/python benchmarks/bench_regularizers.py
	$(BIN)/python benchmarks/bench_engines.py

# giotto-deep's own run of its tutorial, in its own environment (Python 3.10, torch 1.12.1),
# never part of `make test`. Writes book/results/gdeep_reference.json and its copy tdnn_utils/gdeep_reference.json (installed with the package).
GDEEP_VENV := .venv-gdeep
GDEEP_DIR  := reference/giotto-deep
GDEEP_ARGS ?=

$(GDEEP_VENV)/bin/python:
	@py=$$($(GDEEP_DIR)/find_python310.sh) || exit 1; \
	echo "giotto-deep environment: $$py -> $(GDEEP_VENV)/ (about 3 GB)"; \
	start=$$(date +%s); \
	"$$py" -m venv $(GDEEP_VENV) && \
	$(GDEEP_VENV)/bin/python -m pip install --upgrade pip && \
	$(GDEEP_VENV)/bin/python -m pip install -r $(GDEEP_DIR)/requirements.lock.txt || \
	  { rm -rf $(GDEEP_VENV); echo "giotto-deep environment: install failed" >&2; exit 1; }; \
	echo "giotto-deep environment built in $$(( $$(date +%s) - start )) s"

gdeep-reference: $(GDEEP_VENV)/bin/python ## giotto-deep 0.0.4's own run of its tutorial (own env; not in make test)
	@start=$$(date +%s); \
	$(GDEEP_VENV)/bin/python $(GDEEP_DIR)/run_tutorial.py $(GDEEP_ARGS) && \
	cp book/results/gdeep_reference.json tdnn_utils/gdeep_reference.json && \
	echo "giotto-deep reference run took $$(( $$(date +%s) - start )) s"

gdeep-lock: ## re-resolve giotto-deep's environment from requirements.txt and rewrite the lock
	@py=$$($(GDEEP_DIR)/find_python310.sh) || exit 1; \
	rm -rf $(GDEEP_VENV).lock-tmp && "$$py" -m venv $(GDEEP_VENV).lock-tmp && \
	$(GDEEP_VENV).lock-tmp/bin/python -m pip install --upgrade pip && \
	$(GDEEP_VENV).lock-tmp/bin/python -m pip install -r $(GDEEP_DIR)/requirements.txt && \
	{ sed -n '1,/^# this lock/p' $(GDEEP_DIR)/requirements.lock.txt; \
	  $(GDEEP_VENV).lock-tmp/bin/python -m pip freeze; } > $(GDEEP_DIR)/requirements.lock.txt.new && \
	mv $(GDEEP_DIR)/requirements.lock.txt.new $(GDEEP_DIR)/requirements.lock.txt && \
	rm -rf $(GDEEP_VENV).lock-tmp

# Not part of `make test` (it downloads several GB once, then takes many minutes): see README, "Colab check".
colab-check: ## run every chapter as Colab would: Python 3.13, Colab's numpy/torch/sklearn/plotly/pandas in .colab/venv, fake google.colab, the install cell pip-installing this working tree [ONLY=01] [REBUILD=1]
	$(PYTHON) tools/colab_check.py $(if $(ONLY),--only $(ONLY)) $(if $(REBUILD),--rebuild)

clean:
	rm -rf _build
