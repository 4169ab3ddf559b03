# Dataspace — the two product commands (`make demo`, `make test`) plus bench/lint/fuzz.
# Everything goes through scripts/setup (idempotent) and the CMake presets.
PRESET     ?= release
BUILD_DIR  := build/$(PRESET)
DATA       ?= var
LISTEN     ?= 127.0.0.1:8080
JOBS       ?= $(shell nproc)

export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

.PHONY: all setup build demo test unit api format-check format lint bench fuzz clean

all: build

setup:
	./scripts/setup

build: setup
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	$(BUILD_DIR)/dataspace demo --data $(DATA) --listen $(LISTEN)

test: build format-check
	ctest --preset $(PRESET) -j $(JOBS)

# Quick loops while developing.
unit: build
	ctest --preset $(PRESET) -L unit -j $(JOBS)
api: build
	ctest --preset $(PRESET) -L api

format-check:
	./scripts/format --check

format:
	./scripts/format

lint: build
	./scripts/lint $(BUILD_DIR)

bench: setup
	cmake --preset $(PRESET) -DDATASPACE_BENCH=ON >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)
	./bench/run $(BUILD_DIR)

fuzz: setup
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	./tests/fuzz/run build/fuzz

clean:
	rm -rf build
