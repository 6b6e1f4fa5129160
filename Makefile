# Two commands on a fresh machine: `make demo` and `make test` (both create .venv on first use).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test bench chromium clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.txt constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null  # the notebook tests' kernel: this venv's python
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nuclass demo

test: $(STAMP) chromium
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_read.py
	$(PY) benchmarks/bench_simulate.py

# Debian's chromium, for the report screenshot test (installed with apt-get when missing: needs root).
chromium:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

clean:
	rm -rf $(VENV) build .pytest_cache
