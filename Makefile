# vicheck: `make demo` runs the terminal on demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv sysdeps demo test lint bench vectors clean

venv: $(STAMP)

# System packages the project needs at run time and in its tests: libzbar0 (pyzbar),
# tmux (the end-to-end terminal test), nginx-light (syncing through a real nginx).
SYSTEM_PACKAGES := libzbar0 tmux nginx-light

sysdeps:
	@missing=""; \
	ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || missing="$$missing libzbar0"; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml Makefile | sysdeps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/vicheck demo

# The same checks as .pre-commit-config.yaml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 -q

vectors: $(STAMP)
	$(BIN)/python ../shared/vectors/check.py --vicheck $(BIN)/vicheck

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.scan
	$(BIN)/python -m bench.tui
	$(BIN)/python -m bench.central
	$(BIN)/python -m bench.wire

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
