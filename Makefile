# vicheck: `make demo` runs the terminal on demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv sysdeps demo test lint bench vectors glyphs clean

venv: $(STAMP)

# System packages the project needs at run time and in its tests: libzbar0 (pyzbar),
# tmux (the end-to-end terminal test), nginx-light (syncing through a real nginx).
SYSTEM_PACKAGES := libzbar0 tmux nginx-light

# The plate reader, without its dependencies: it names opencv-python (GUI, libGL),
# the project uses opencv-python-headless; the rest of what it needs is in
# pyproject.toml. tests/test_plate_reader.py checks that one OpenCV build is installed.
PLATE_READER := rapidocr-onnxruntime==1.4.4

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
	$(BIN)/python -m pip install --quiet --no-deps $(PLATE_READER)
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
	$(BIN)/python -m bench.preview
	$(BIN)/python -m bench.central
	$(BIN)/python -m bench.wire
	$(BIN)/python -m bench.audit
	$(BIN)/python -m bench.audit_upload

# Regenerate terminal/glyphs/table.py, the large plate and verdict glyphs, from Noto Sans
# CJK (see docs/glyphs.md). Only when the character set or the font changes: the table is
# committed and the terminal needs neither the font nor Pillow. Needs the font package
# (apt-get install fonts-noto-cjk) and the `glyphs` extra (Pillow).
glyphs: $(STAMP)
	$(BIN)/python -c 'import PIL' 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[test,glyphs]'
	$(BIN)/python tools/make_glyphs.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
