# The two commands of the README: `make check` (the main job) and `make test` (the test suite).
# Each bootstraps .venv on a fresh machine; the bootstrap is redone only when pyproject.toml or
# constraints.txt change.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: check test bench venv clean

check: $(STAMP)
	$(VENV)/bin/crosscheck compare

test: $(STAMP)
	$(PY) -m pytest tests bench --benchmark-disable -q

# one pytest process per framework that has benchmark kernels (crosscheck.adapters.FRAMEWORKS)
bench: $(STAMP)
	for fw in $$($(PY) -c "from crosscheck import adapters; print(*adapters.having('kernels'))"); do \
		$(PY) -m pytest bench --benchmark-only -m $$fw --benchmark-columns=min,median,iqr,rounds,iterations || exit 1; \
	done

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis
