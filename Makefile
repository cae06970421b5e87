# encmol — the two commands: `make demo` and `make test`.
# Both install missing Debian packages, configure and build by themselves.

BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifneq ($(CI),)
  CMAKE_FLAGS += -DENCMOL_WERROR=ON
endif

# The instrumented builds (fuzz, sanitize, tsan) check behaviour, not
# warnings: instrumentation changes what gcc can optimize, and it then warns
# about code the real build compiles cleanly (e.g. an unroll pragma it can no
# longer honour), so -Werror stays with the real build.
INSTRUMENTED_FLAGS = -DENCMOL_WERROR=OFF

.PHONY: all deps configure build demo test bench python fuzz sanitize tsan bundled-data format clean

all: build

deps:
	@scripts/install_deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/encmol demo

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 900

# The Python package (built by `build` too): importable with
# PYTHONPATH=$(BUILD_DIR)/python; `python3 -m pip install --no-build-isolation .` installs it.
python: build
	cmake --build $(BUILD_DIR) --target encmol_python
	@echo "encmol Python package: $(abspath $(BUILD_DIR))/python/encmol (export PYTHONPATH=$(abspath $(BUILD_DIR))/python)"

bench: build
	@for b in $(BUILD_DIR)/bench/encmol_bench_*; do echo "== $$b"; $$b; done

# libFuzzer targets of every parser and file format (clang, ASan + UBSan),
# each run FUZZ_SECONDS on its seed corpus (fuzz/README.md).
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 25
fuzz: deps
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DENCMOL_FUZZ=ON -DENCMOL_BUILD_TESTS=OFF -DENCMOL_BUILD_BENCH=OFF \
	  -DENCMOL_BUILD_PYTHON=OFF $(CMAKE_FLAGS) $(INSTRUMENTED_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target encmol_fuzzers
	scripts/run_fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The whole test suite built with ASan + UBSan and libstdc++ assertions
# (the Python package is left out: a sanitized module cannot load into an
# uninstrumented interpreter).
SANITIZE_DIR ?= build-sanitize
sanitize: deps
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCMOL_SANITIZE=ON \
	  -DENCMOL_BUILD_BENCH=OFF -DENCMOL_BUILD_PYTHON=OFF $(CMAKE_FLAGS) $(INSTRUMENTED_FLAGS)
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS) --timeout 1800

# ThreadSanitizer over the layers that run threads of their own (thread pool,
# parallel featurization and kernels, CKKS evaluator threads, the service's
# workers, admission line and stores). BLAS stays single-threaded
# (ENCMOL_BLAS_THREADS=1): OpenBLAS's worker threads are not instrumented, so
# TSan could not see their hand-over. libxtb is not instrumented either: the
# xTB and Δ tests are left out. docs/reliability.md explains the reports.
TSAN_DIR ?= build-tsan
TSAN_LAYERS = core math ckks he chem ml service
TSAN_TARGETS = $(patsubst %,encmol_%_tests,$(TSAN_LAYERS)) encmol_service_state_tests
tsan: deps
	cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCMOL_TSAN=ON \
	  -DENCMOL_BUILD_BENCH=OFF -DENCMOL_BUILD_PYTHON=OFF $(CMAKE_FLAGS) $(INSTRUMENTED_FLAGS)
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	ENCMOL_BLAS_THREADS=1 \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/scripts/tsan.supp:print_suppressions=0 \
	  ctest --test-dir $(TSAN_DIR) --output-on-failure -j $(JOBS) --timeout 1800 \
	  -L '^($(subst $() $(),|,$(TSAN_LAYERS)))$$' -E 'Xtb|Delta'

# Regenerates data/*.xyz.gz from ../shared/data, with the GFN2-xTB properties
# computed by the encmol just built (data/README.md).
bundled-data: build
	python3 scripts/make_bundled_data.py --encmol $(BUILD_DIR)/encmol

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) build-python $(FUZZ_DIR) $(SANITIZE_DIR)
