# swa — set-up and entry points. Each target installs the Debian libraries it needs when
# run as root, and otherwise prints the exact command to run.

SYSTEM_PACKAGES := libzstd-dev libopenblas-dev zlib1g-dev zstd
SWIFT ?= swift
BIN := .build/release

.PHONY: all build test demo bench bench-forward deps clean

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
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build
	$(SWIFT) test

demo: build
	@bash scripts/demo.sh $(BIN)

bench: deps
	@bash Benchmarks/bench-average.sh

# swa-bn-update and swa-eval against PyTorch (needs torch, numpy and safetensors in python3; ~13 minutes)
bench-forward: deps
	@bash Benchmarks/bench-forward.sh

clean:
	rm -rf .build
