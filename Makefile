# A thin layer over CMake. `make demo` and `make test` install what they need first.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-asan demo bench package install format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

# Every test, against a real LMDB in temp folders and the real binary.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFIELDSYNC_SANITIZE=ON \
	  -DFIELDSYNC_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Throwaway nodes under the build folder: the fixture digest imported, listed, verified,
# released, then synced to a second node over CurveZMQ on loopback.
# Builds only the fieldsync binary (not the tests and benchmarks that `make build` adds).
demo: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target fieldsync
	@scripts/demo.sh $(BUILD)/cli/fieldsync $(BUILD)/demo-home

bench: build
	@scripts/bench.sh $(BUILD)

# The Debian package, $(BUILD)/fieldsync_VERSION_ARCH.deb (stripped; docs/install.md).
package: build
	@cd $(BUILD) && cpack -G DEB

# Installs under PREFIX (default /usr/local; DESTDIR is honoured), stripped.
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX) --strip

# libFuzzer targets (fuzz/), built with clang in their own folder and run FUZZ_SECONDS each
# from their seed corpora, after replaying the reproducers in fuzz/crashes/; fails when any
# finds a crash. Not part of `make test`: see docs/fuzzing.md. `make fuzz-smoke` is the brief
# run CI makes (FUZZ_SMOKE_SECONDS each, as many targets at once as there are cores).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_CC ?= clang
FUZZ_CXX ?= clang++
.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: deps
	@command -v $(FUZZ_CXX) >/dev/null || { echo "fuzz: needs $(FUZZ_CXX) (Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@CC=$(FUZZ_CC) CXX=$(FUZZ_CXX) cmake -S . -B $(FUZZ_BUILD) -DFIELDSYNC_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIELDSYNC_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_BUILD)

fuzz-smoke: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) fuzz/run.sh $(FUZZ_BUILD)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
