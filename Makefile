# encmol — the two commands: `make demo` and `make test`.
# Both install missing Debian packages, configure and build by themselves.

BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifneq ($(CI),)
  CMAKE_FLAGS += -DENCMOL_WERROR=ON
endif

.PHONY: all deps configure build demo test bench python bundled-data format clean

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

# Regenerates data/*.xyz.gz from ../shared/data, with the GFN2-xTB properties
# computed by the encmol just built (data/README.md).
bundled-data: build
	python3 scripts/make_bundled_data.py --encmol $(BUILD_DIR)/encmol

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) build-python
