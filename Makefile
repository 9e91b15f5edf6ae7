# cenv — build, test, run. `make help` lists the targets.
# run/test/bench/test-asan call scripts/setup first (packages, dockerd, base images): it
# is idempotent and takes well under a second when everything is present, which is what
# a fresh CI machine needs instead of a stamp file.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

NPROC      := $(shell nproc 2>/dev/null || echo 2)
space      := $() $()
BUILD_DIR  := build
ASAN_DIR   := build-asan
FUZZ_DIR   := build-fuzz
# Seconds each fuzz target runs for (make fuzz FUZZ_SECONDS=600).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_manifest_decoder fuzz_object_decoder fuzz_json_patch
BUILD_TYPE := RelWithDebInfo
CTEST_JOBS ?= 2
# Our sources, for lint/format (generated code lives in the build dirs).
SRC_DIRS   := api controller cli modules reconcilers test bench
SRC_FILES   = $(shell find $(wildcard $(SRC_DIRS)) \( -name 'build*' -prune \) -o \
                \( -name '*.cc' -o -name '*.h' \) -type f -print | sort)

# $(call configure_and_build,DIR,EXTRA_CMAKE_ARGS): configure DIR once, then build it.
define configure_and_build
	@if [[ ! -f $(1)/build.ninja ]]; then \
	  echo "cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(2)"; \
	  cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(2); \
	fi
	cmake --build $(1) -j$(NPROC)
endef

.PHONY: all help setup build run test test-unit test-asan fuzz bench lint format clean image

all: build

help:
	@echo "make build      configure (once) and build into $(BUILD_DIR)/"
	@echo "make run        setup, build, then scripts/quickstart (controller keeps running)"
	@echo "make test       setup, build, all tests (unit, e2e, integration)"
	@echo "make test-unit  build, unit tests only"
	@echo "make test-asan  setup, build with ASan+UBSan into $(ASAN_DIR)/, all tests"
	@echo "make fuzz       build the libFuzzer targets with clang into $(FUZZ_DIR)/, run each"
	@echo "                for FUZZ_SECONDS (default 60) from test/fuzz/corpus/"
	@echo "make bench      setup, build, every executable bench/*.sh"
	@echo "make lint       clang-format check and clang-tidy over our sources"
	@echo "make format     clang-format -i over our sources"
	@echo "make setup      packages, dockerd, base images (scripts/setup)"
	@echo "make image      build, then the shared image cenv/cenv:<version> (scripts/build-image)"
	@echo "make clean      remove the build directories"

setup:
	@scripts/setup

# Packages only (no dockerd, no images): building needs nothing more.
build:
	@scripts/setup --no-docker
	$(call configure_and_build,$(BUILD_DIR),)

run:
	@scripts/setup
	$(call configure_and_build,$(BUILD_DIR),)
	scripts/quickstart

test:
	@scripts/setup
	$(call configure_and_build,$(BUILD_DIR),)
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j$(CTEST_JOBS)

image:
	@scripts/setup
	$(call configure_and_build,$(BUILD_DIR),)
	scripts/bootstrap-images cenv

test-unit:
	@scripts/setup --no-docker
	$(call configure_and_build,$(BUILD_DIR),)
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j$(CTEST_JOBS) -L unit

# Sanitizer findings fail the test: UBSan halts on the first report (ASan always does),
# LeakSanitizer reports leaks at exit.
test-asan:
	@scripts/setup
	$(call configure_and_build,$(ASAN_DIR),-DCENV_SANITIZE=ON)
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure --no-tests=error -j$(CTEST_JOBS)

# Only cenv_api and the targets, built by clang (-DCENV_FUZZ=ON). New inputs a run finds go to
# $(FUZZ_DIR)/corpus/<target>/ (the seeds in test/fuzz/corpus/ stay as they are); a crash
# leaves its input in $(FUZZ_DIR)/artifacts/ and fails the target.
fuzz:
	@scripts/setup --no-docker --fuzz
	$(call configure_and_build,$(FUZZ_DIR),-DCMAKE_CXX_COMPILER=clang++ -DCENV_FUZZ=ON)
	@failed=(); \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_DIR)/test/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	    $(FUZZ_DIR)/corpus/$$t test/fuzz/corpus/$$t 2> $(FUZZ_DIR)/$$t.log || failed+=("$$t"); \
	  grep -E '^(stat::number_of_executed_units|Done|==[0-9]+==ERROR|SUMMARY)' $(FUZZ_DIR)/$$t.log || true; \
	done; \
	if (( $${#failed[@]} )); then \
	  echo "fuzz: crashed: $${failed[*]} (logs: $(FUZZ_DIR)/<target>.log, inputs: $(FUZZ_DIR)/artifacts/)" >&2; \
	  exit 1; \
	fi

bench:
	@scripts/setup
	$(call configure_and_build,$(BUILD_DIR),)
	@shopt -s nullglob; ran=0; failed=(); \
	for b in bench/*.sh; do \
	  [[ -x $$b ]] || continue; \
	  ran=1; echo "== $$b"; \
	  "./$$b" || failed+=("$$b"); \
	done; \
	if (( ! ran )); then echo "no benchmarks yet"; fi; \
	if (( $${#failed[@]} )); then echo "failed: $${failed[*]}" >&2; exit 1; fi

# Both checks run, then lint fails if either found something. clang-tidy needs
# compile_commands.json and the generated sources (protobuf headers): configure, then run
# only ninja's code-generation steps, so a broken link elsewhere in the tree does not stop
# the lint. Only our .cc files and the headers under our folders are analysed; any
# warning there fails the lint.
lint:
	@scripts/setup --no-docker
	@status=0; files=($(SRC_FILES)); \
	[[ -f $(BUILD_DIR)/build.ninja ]] || \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null; \
	echo "clang-format --dry-run --Werror ($${#files[@]} files)"; \
	if ! clang-format --dry-run --Werror "$${files[@]}" > $(BUILD_DIR)/clang-format.log 2>&1; then \
	  grep -oE '^[^: ]+\.(cc|h):' $(BUILD_DIR)/clang-format.log | sort | uniq -c | \
	    awk '{ sub(/:$$/, "", $$2); printf "  needs clang-format: %s (%d)\n", $$2, $$1 }'; \
	  echo "clang-format: run 'make format' (details: $(BUILD_DIR)/clang-format.log)" >&2; \
	  status=1; \
	fi; \
	ninja -C $(BUILD_DIR) -t targets all 2>/dev/null | \
	  awk -F': ' '$$2 == "CUSTOM_COMMAND" && $$1 ~ /\.(h|hh|hpp|inc|cc|cpp)$$/ { print $$1 }' | \
	  xargs -r ninja -C $(BUILD_DIR) >/dev/null; \
	echo "clang-tidy ($(BUILD_DIR)/compile_commands.json, $(NPROC) jobs; this takes a while)"; \
	run-clang-tidy -p $(BUILD_DIR) -j $(NPROC) -quiet \
	  -header-filter='^$(CURDIR)/(($(subst $(space),|,$(SRC_DIRS)))|$(BUILD_DIR)/include/[^/]+/(api|controller|cli|reconcilers))/' \
	  '^$(CURDIR)/($(subst $(space),|,$(SRC_DIRS)))/.*\.cc$$' 2>&1 | \
	  sed 's/\x1b\[[0-9;]*m//g' > $(BUILD_DIR)/clang-tidy.log || true; \
	if grep -qE '(warning|error):' $(BUILD_DIR)/clang-tidy.log; then \
	  grep -E '(warning|error):' $(BUILD_DIR)/clang-tidy.log | sort -u; \
	  echo "clang-tidy found problems (full output: $(BUILD_DIR)/clang-tidy.log)" >&2; \
	  status=1; \
	fi; \
	if (( status )); then echo "lint: FAILED" >&2; exit 1; fi; \
	echo "lint: clean"

format:
	@files=($(SRC_FILES)); clang-format -i "$${files[@]}"; echo "formatted $${#files[@]} files"

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
