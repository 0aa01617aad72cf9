# swa — set-up and entry points. Each target installs the Debian libraries it needs when
# run as root, and otherwise prints the exact command to run.

SYSTEM_PACKAGES := libzstd-dev libopenblas-dev zlib1g-dev zstd libturbojpeg0-dev libspng-dev libdnnl-dev
SWIFT ?= swift
BIN := .build/release
TOOLS := swa-avg swa-inspect swa-bn-update swa-eval swa-convert swa-landscape

# Where `make install` puts things: $(DESTDIR)$(PREFIX)/bin, .../share/man/man1, completions
# under .../share (scripts/install.sh); `make uninstall` removes what its manifest lists.
PREFIX ?= /usr/local
DESTDIR ?=

# What --version reports (Sources/CBuildInfo): the nearest tag, the commit, the UTC day of the
# build (SOURCE_DATE_EPOCH when set). Passed to release builds only: a plain `swift build` says
# "unknown". The day, not the time, so that rebuilding on the same day and commit is incremental.
GIT_VERSION := $(shell git describe --tags --dirty 2>/dev/null)
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
BUILD_DATE := $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(date +%s)} +%Y-%m-%d)
BUILD_INFO := $(if $(GIT_VERSION),-Xcc -DSWA_BUILD_VERSION='"$(GIT_VERSION)"') \
	$(if $(GIT_COMMIT),-Xcc -DSWA_BUILD_COMMIT='"$(GIT_COMMIT)"') -Xcc -DSWA_BUILD_DATE='"$(BUILD_DATE)"'

# The tarball's name: the tag without its "v", else the release number and the commit.
VERSION := $(or $(patsubst v%,%,$(GIT_VERSION)),$(shell sed -n 's/.*swaReleaseVersion = "\(.*\)"/\1/p' Sources/SWACommandLine/Version.swift)-$(GIT_COMMIT))
DIST_SCRATCH := .build-dist
DIST_NAME := swa-$(VERSION)-linux-$(shell uname -m)

.PHONY: all build docs install uninstall dist check-dist test demo bench bench-forward bench-hf bench-landscape bench-pt bench-dnnl check-torchvision test-slurm bench-shards deps clean

all: build

deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build -c release $(BUILD_INFO)

# Man pages (swift-argument-parser's generate-manual, from the --help texts) and completion
# scripts for the release executables, into $(BIN)/share.
docs: build
	$(SWIFT) build -c release $(BUILD_INFO) --product generate-manual
	@bash scripts/make-share.sh $(BIN) $(BIN)/share $(TOOLS)

install: docs
	@bash scripts/install.sh install "$(DESTDIR)" "$(PREFIX)" $(BIN) $(TOOLS)

uninstall:
	@bash scripts/install.sh uninstall "$(DESTDIR)" "$(PREFIX)"

# dist/swa-VERSION-linux-x86_64.tar.gz: executables with the Swift runtime linked in
# (--static-swift-stdlib, own scratch path), man pages, completions, README, LICENSE.
dist: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(DIST_SCRATCH) $(BUILD_INFO)
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(DIST_SCRATCH) $(BUILD_INFO) --product generate-manual
	@bash scripts/make-share.sh $(DIST_SCRATCH)/release $(DIST_SCRATCH)/release/share $(TOOLS)
	@bash scripts/make-dist.sh $(DIST_NAME) $(DIST_SCRATCH)/release $(TOOLS)

# The tarball's executables link no Swift runtime and run with an empty environment (slow:
# a static release build; not part of `make test`).
check-dist: dist
	@bash scripts/check-dist.sh dist/$(DIST_NAME).tar.gz

test: deps
	$(SWIFT) build
	$(SWIFT) test
	@bash scripts/test-slurm.sh "$$($(SWIFT) build --show-bin-path)"

# The job files of examples/slurm/ on a real single-node Slurm cluster (scripts/test-slurm.sh):
# as root it installs slurm-wlm and munge when missing and starts its own daemons; otherwise
# it says why it skips. About a minute; part of `make test`.
test-slurm: deps
	$(SWIFT) build
	@bash scripts/test-slurm.sh "$$($(SWIFT) build --show-bin-path)"

demo: build
	@bash scripts/demo.sh $(BIN)

bench: deps
	@bash Benchmarks/bench-average.sh

# swa-bn-update and swa-eval against PyTorch (needs torch, numpy and safetensors in python3; ~13 minutes)
bench-forward: deps
	@bash Benchmarks/bench-forward.sh
	@python3 Benchmarks/bench-families.py --bin "$$(swift build -c release --scratch-path .build-fwd --show-bin-path)" --threads 2

# Full-size torchvision models exported (tools/export_graph.py) and run end to end against
# PyTorch: BN statistics and NLL. Needs torch and torchvision in python3; not part of `make test`.
# Writes the table to docs/TORCHVISION.md.
check-torchvision: build
	python3 scripts/check-torchvision.py --bin $(BIN) --table docs/TORCHVISION.md

# swa-avg over a Hugging Face sharded run against timm's avg_checkpoints.py approach in Python (needs torch, safetensors)
bench-hf: deps
	@bash Benchmarks/bench-hf.sh

# swa-landscape width: points per second against the same loop in PyTorch (needs torch, numpy,
# safetensors, scikit-learn and zstandard in python3; about a minute)
bench-landscape: deps
	@bash Benchmarks/bench-landscape.sh

# swa-avg over 16 x 100 MB torch.save files against timm's avg_checkpoints procedure (needs torch and safetensors)
bench-pt: deps
	@bash Benchmarks/bench-pt.sh

# Image folders: decoding plus preprocessing, and a resnet18 BN pass, against PyTorch's
# DataLoader(num_workers=2) in the same rounds (needs torch, torchvision, Pillow, scikit-learn)
.PHONY: bench-images
bench-images: deps
	@bash Benchmarks/bench-images.sh

# The AVX2 resize and planar-write kernels against PIL's scalar loops in C: CPU time per image,
# bytes checked identical (needs a C compiler only; seconds)
.PHONY: bench-resize-kernels
bench-resize-kernels:
	@bash Benchmarks/bench-resize-kernels.sh

# Every convolution shape of the presets, the fixture model and the torchvision family fixtures
# on im2col + OpenBLAS sgemm and on oneDNN, same run, alternating, medians; and the residual add
# fused as a oneDNN post-op (about 10 minutes; prints Markdown for docs/PERFORMANCE.md).
bench-dnnl: deps
	@bash Benchmarks/bench-dnnl.sh

# swa-eval with an FGE ensemble: time and peak RSS of this build against SWA_BIN_BEFORE (e.g. a
# release build of main) in the same rounds, an image folder and an npz (needs numpy, safetensors,
# Pillow, scikit-learn; about 3 minutes with a before build)
.PHONY: bench-fge
bench-fge: deps
	@bash Benchmarks/bench-fge.sh

# Shards against the single process, run as local processes at once (docs/SCALE.md): swa-avg by
# tensors and by checkpoints, swa-landscape by points, and the merges (needs python3 with numpy)
bench-shards: build
	@bash scripts/bench-shards.sh $(BIN)

# libFuzzer over every parser (scripts/fuzz.sh; docs/RELIABILITY.md, "Fuzzing"): builds
# Sources/swa-fuzz with libFuzzer and AddressSanitizer into .build-fuzz and runs each target for
# FUZZ_SECONDS (FUZZ_TARGETS to choose); prints executions and cov/ft per target. Not part of `make test`.
.PHONY: fuzz
FUZZ_SECONDS ?= 30
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# The whole bad-input matrix (docs/RELIABILITY.md, "Bad-input matrix"): every corrupt variant
# of every structure through every command that reads it, with the counts per command printed.
# `make test` runs a representative subset of the same cases.
.PHONY: bad-inputs
bad-inputs: deps
	$(SWIFT) build
	SWA_BAD_INPUTS=full $(SWIFT) test --filter BadInputMatrixTests

# The test suite under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, tools included
# (the end-to-end tests run the instrumented executables), each in its own build folder so that
# the normal build stays valid (docs/RELIABILITY.md, "Sanitizers"). Slow: a full instrumented
# build each, then the suite 3 to 10 times slower; not part of `make test`. Every process's
# reports go to a file (scripts/sanitizers/run-tests.sh), and any report fails the run.
# SANITIZE_FILTER narrows the suite (`make test-tsan SANITIZE_FILTER=Determinism`).
SANITIZE_FILTER ?=
.PHONY: test-asan test-tsan
test-asan: deps
	SWIFT="$(SWIFT)" bash scripts/sanitizers/run-tests.sh address "$(SANITIZE_FILTER)"

test-tsan: deps
	SWIFT="$(SWIFT)" bash scripts/sanitizers/run-tests.sh thread "$(SANITIZE_FILTER)"

clean:
	rm -rf .build $(DIST_SCRATCH) dist
