# The two commands of the README: `make check` (the main job) and `make test` (the test suite).
# Each bootstraps .venv on a fresh machine; the bootstrap is redone only when pyproject.toml or
# constraints.txt change.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# the fast lane: the engine and the student-code paths, no framework grid, no training (under a minute)
FAST   := tests/test_reference.py tests/test_compare.py tests/test_students.py tests/test_user_code.py \
          tests/test_api.py tests/test_front_ends.py tests/test_styles.py tests/test_grading.py \
          tests/test_pytest_plugin.py tests/test_bugs.py tests/test_architecture.py tests/test_cli.py

.PHONY: check test test-fast lint bench venv clean

check: $(STAMP)
	$(VENV)/bin/crosscheck compare

# lint first (a lint failure fails CI), then every test over every core, the slowest named at the end.
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): the suite starts hundreds
# of Python processes, and each would compile crosscheck anew.
test: $(STAMP) lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest tests bench --benchmark-disable -q -n auto --durations=15

test-fast: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest $(FAST) -q -n auto -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

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
