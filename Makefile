# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when missing.
# They install the package with compatible ranges (pyproject.toml) at the exact versions this
# repository tests with (constraints.txt), so every machine runs the same set.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt

.PHONY: demo test bench install clean lint constraints

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing chalice-permission-canary and its dependencies (versions from $(CONSTRAINTS)) into $(VENV) (first time: about a minute)..."
	@$(BIN)/python -m pip install -qq --disable-pip-version-check -c $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/permission-canary demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# After a deliberate upgrade inside the ranges of pyproject.toml: record the versions .venv now holds.
constraints: $(STAMP)
	@{ sed -n '/^#/p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check \
	  | grep -v '^chalice-permission-canary'; } > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS)
	@echo "wrote $(CONSTRAINTS)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
