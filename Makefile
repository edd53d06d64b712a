# OneDeck's two set-up commands (README.md): `make run` and `make test`. Both install what is
# missing first (scripts/ensure-deps.sh prints what it installs) and are safe to repeat.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
APP := $(TARGET_DIR)/debug/onedeck
TAURI := ui/node_modules/.bin/tauri
PYTEST := .venv/bin/python -m pytest
# The test phase runs inside one D-Bus session with an unlocked gnome-keyring and, when there is
# no display, a private Xvfb.
IN_SESSION := scripts/with-display.sh scripts/with-keyring.sh

.PHONY: help deps deps-test ui app run dev test lint test-rust test-ui test-e2e test-python package check-package bench-ui test-release fuzz

help:
	@echo "make run      install what is missing, build, start OneDeck"
	@echo "make test     install what is missing, run every lint and test"
	@echo "make package  build the Debian package (target/release/bundle/deb) and check it"
	@echo "make dev      tauri dev: the app with Vite's dev server and hot reload"
	@echo "make bench-ui benchmarks of the real window (release build)"

deps:
	@scripts/ensure-deps.sh build

deps-test:
	@scripts/ensure-deps.sh test

ui: deps
	cd ui && npm run build

# A plain cargo build embeds ui/dist (no devUrl is configured), so the binary is self-contained.
app: ui
	$(CARGO) build -p onedeck

run: app
	$(APP)

dev: deps
	ONEDECK_DEV_ORIGIN=http://localhost:1420 $(TAURI) dev --config '{"build":{"devUrl":"http://localhost:1420"}}'

test: deps-test lint test-rust test-ui test-python test-e2e
	@echo "make test: all lints and tests passed"

lint: deps-test ui
	$(CARGO) fmt --all -- --check
	@# The app embeds ui/dist at compile time, so even clippy needs the UI built first (the ui prerequisite).
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/check-crate-deps.sh
	cd ui && npm run check && npm run lint

test-rust: deps-test ui
	ONEDECK_REQUIRE_QEMU=1 ONEDECK_REQUIRE_NETNS=1 $(IN_SESSION) $(CARGO) test --workspace

test-ui: deps-test ui
	cd ui && npm run test:unit && npm run test:ui

# Python tests of the crates (simulator with pyone, VNC handshakes...) need onedeck-cli.
test-python: deps-test
	$(CARGO) build -p onedeck-cli
	ONEDECK_CLI=$(abspath $(TARGET_DIR))/debug/onedeck-cli $(IN_SESSION) $(PYTEST) -q tests/python
	@# noVNC in Chromium through the relay to QEMU; make test installs both, so a skip (77) fails here.
	ONEDECK_CLI=$(abspath $(TARGET_DIR))/debug/onedeck-cli node tests/relay/novnc_qemu.mjs
	@# noVNC in Chromium to the simulator's built-in RFB consoles (password and typed keys).
	ONEDECK_CLI=$(abspath $(TARGET_DIR))/debug/onedeck-cli node tests/sim/novnc_builtin.mjs

# The full-flow test signs in to a simulator that onedeck-cli runs.
test-e2e: deps-test app
	$(CARGO) build -p onedeck-cli
	ONEDECK_CLI=$(abspath $(TARGET_DIR))/debug/onedeck-cli $(IN_SESSION) $(PYTEST) -q tests/e2e

# Benchmarks of the real window (release build): VM operation feedback and the create dialog,
# then the inventory at 10,000 and 100,000 VMs (load, DOM rows, filter keystrokes, memory).
# Figures go to stdout as Markdown tables for docs/PERFORMANCE.md; never part of `make test`.
bench-ui: deps-test ui
	$(CARGO) build --release -p onedeck -p onedeck-cli
	$(CARGO) build -p onedeck-cli
	ONEDECK_CLI=$(abspath $(TARGET_DIR))/debug/onedeck-cli $(IN_SESSION) .venv/bin/python scripts/bench-ui.py \
		--app $(abspath $(TARGET_DIR))/release/onedeck --runs 10
	$(IN_SESSION) .venv/bin/python scripts/bench-inventory.py --app $(abspath $(TARGET_DIR))/release/onedeck \
		--cli $(abspath $(TARGET_DIR))/release/onedeck-cli --runs 3

package: deps
	$(TAURI) build --bundles deb
	$(MAKE) --no-print-directory check-package

# Long fuzzing runs (nightly + cargo-fuzz, installed when missing): every target for
# FUZZ_SECONDS each, then the corpora are minimised. Short replays of the corpora run in `make test`.
FUZZ_TARGETS := envelope documents frame_header profiles_file handshake rfb_streams rfb_server recording ssh_files
FUZZ_SECONDS ?= 600
fuzz:
	rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	for t in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run --fuzz-dir crates/fuzz -O $$t -- -max_len=8192 \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
		cargo +nightly fuzz cmin --fuzz-dir crates/fuzz -O $$t; \
	done

# The release binary `make package` built, in the real window: what debug builds cannot show
# (the relay's release origin list). CI runs it after `make package`.
test-release: deps-test
	test -x $(TARGET_DIR)/release/onedeck || { echo "run make package first"; exit 1; }
	ONEDECK_APP=$(abspath $(TARGET_DIR))/release/onedeck $(IN_SESSION) $(PYTEST) -q tests/e2e_release

# Unpacks the newest .deb and checks binary, desktop entry and icons (tests/package).
check-package: deps-test
	$(PYTEST) -q tests/package
