# kevo — one plain Makefile.
#
#   make            build build/kevo and build/libkevo.a
#   make demo       install what is missing, build, run `kevo demo` on the bundled model
#   make test       install what is missing (Python oracles included), build, run every test
#   make asan       the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       the libFuzzer harnesses of every parser, FUZZ_SECONDS each (docs/fuzzing.md)
#   make bench      the benchmarks (slow; not part of the tests)
#   make deps       only install the missing Debian packages
#   make cross-aarch64  cross-build for 64-bit Arm, run the engine and analysis tests in qemu
#
# SIMD is chosen at run time: only files named *_avx2.c / *_avx512.c get ISA flags (and only
# when $(CC) targets x86; elsewhere the scalar reference kernels run).

BUILD    ?= build
CC       ?= cc
PKGS     := openblas libcjson libpng cairo libjpeg nettle libpcre2-8 libutf8proc
PKG_CONFIG ?= pkg-config
WERROR   ?=
SAN      ?=

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
            -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -ffp-contract=off -fopenmp -MMD -MP \
            -Iinclude -Isrc $(WERROR)
ifneq ($(SAN),)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

# pkg-config is asked lazily so that `make deps` works before the packages exist.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LDLIBS    += -fopenmp -lm

AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mfma -mf16c

LIB_SRC  := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
# The x86 SIMD files are compiled only when the compiler targets x86 (`$(CC) -dumpmachine`);
# elsewhere (aarch64: make cross-aarch64, docs/aarch64.md) the scalar reference kernels run.
TARGET_CPU := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
ifeq ($(filter x86_64 i386 i486 i586 i686,$(TARGET_CPU)),)
LIB_SRC  := $(filter-out %_avx2.c %_avx512.c,$(LIB_SRC))
endif
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/registry.o
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# Generated test inputs (fixture models, oracle outputs) are shared by every build flavour.
DATA     := build/data
PY       := /usr/bin/python3

.PHONY: all deps deps-test test asan bench demo fixtures oracles clean
all: $(BUILD)/kevo $(BUILD)/libkevo.a

deps:
	@tools/deps.sh build
deps-test:
	@tools/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(if $(findstring _avx512.c,$<),$(AVX512_FLAGS),$(if $(findstring _avx2.c,$<),$(AVX2_FLAGS))) -c $< -o $@

$(BUILD)/libkevo.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/kevo: $(CLI_OBJ) $(BUILD)/libkevo.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

# Every `KEVO_TEST(name)` in tests/*.c is registered by this generated table.
$(BUILD)/tests/registry.c: $(TEST_SRC) tools/test_registry.sh
	@mkdir -p $(@D)
	tools/test_registry.sh $(TEST_SRC) > $@

$(BUILD)/tests/registry.o: $(BUILD)/tests/registry.c
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/kevo-test: $(TEST_OBJ) $(BUILD)/libkevo.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libkevo.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

# Generated test inputs are remade only when the tools or the data they read change, so the
# sanitizer build (make asan) reuses what the plain build made.
ORACLE_INPUTS := $(shell find tools tests/data tests/fixtures -type f 2>/dev/null)

fixtures: $(DATA)/fixtures.stamp
$(DATA)/fixtures.stamp: tools/fixtures/make_fixture.py tools/fixtures/make_next_fixture.py \
                        tools/fixtures/make_qwen_fixture.py tools/pylib/npm_packages.py \
                        tools/pylib/make_tokenizer_json.py \
                        tests/data/tiny-tokenizer/tokenizer.model tools/fixtures/make_gguf.py \
                        tools/pylib/gguf_np.py tools/pylib/gguf_quants.py
	@$(MAKE) --no-print-directory deps-test
	@$(PY) tools/fixtures/make_fixture.py --all $(DATA)/fixtures
	@$(PY) tools/pylib/gguf_quants.py --selftest > /dev/null
	@$(PY) tools/fixtures/make_gguf.py --all $(DATA)/fixtures --npm $(DATA)/npm
	@$(PY) tools/fixtures/make_next_fixture.py --all $(DATA)/fixtures
	@$(PY) tools/fixtures/make_qwen_fixture.py --all $(DATA)/fixtures --npm $(DATA)/npm
	@touch $@

oracles: $(DATA)/oracles.stamp
$(DATA)/oracles.stamp: $(DATA)/fixtures.stamp $(ORACLE_INPUTS)
	@tools/oracles/make_oracles.sh $(DATA)
	@touch $@

test: deps-test
	@$(MAKE) --no-print-directory all $(BUILD)/kevo-test
	@$(MAKE) --no-print-directory oracles
	KEVO_BIN=$(BUILD)/kevo KEVO_DATA=$(DATA) LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    $(BUILD)/kevo-test

asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan SAN=1

# A 3-task Slurm job array over the demo model's images on a one-node cluster that the test
# brings up on localhost, equal to an unsharded batch (tests/slurm/test_slurm.sh; needs root).
.PHONY: test-slurm
test-slurm:
	@tools/deps.sh slurm
	@$(MAKE) --no-print-directory all
	tests/slurm/test_slurm.sh

bench: all $(BENCH_BIN)
	@tools/run_benches.sh $(BUILD)

# The main job: the bundled demo model on the bundled images, every analysis, out/demo/report.html.
demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/kevo demo -o out/demo

# ---- make fuzz: libFuzzer harnesses (fuzz/fuzz_*.c) over the real loaders, docs/fuzzing.md.
# The library is rebuilt with clang into $(FUZZ_BUILD) with coverage and ASan + UBSan; every
# target runs FUZZ_SECONDS on seeds made from the repository's own files; any crash, leak,
# timeout, OOM or over-limit allocation fails.
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_MALLOC_MB ?= 1024
FUZZ_ARGS    ?= -rss_limit_mb=2048 -malloc_limit_mb=$(FUZZ_MALLOC_MB) -timeout=10
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(CFLAGS) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS) \
                -DKEVO_FUZZ_ROOT='"$(CURDIR)"' $(FUZZ_NO_CPU_CHECK)
# clang 14 rejects some feature names of __builtin_cpu_supports ("f16c"): in the fuzz build
# every SIMD feature reads as absent and the scalar kernels run (the loaders need none).
FUZZ_NO_CPU_CHECK := '-D__builtin_cpu_supports(f)=0'
FUZZ_SRC     := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS := $(filter-out fuzz_common,$(FUZZ_SRC:fuzz/%.c=%))
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-build
fuzz:
	@tools/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@$(PY) fuzz/make_corpora.py $(FUZZ_BUILD)/seeds $(DATA)
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) "$(FUZZ_ARGS)" $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) $(if $(findstring _avx512.c,$<),$(AVX512_FLAGS),$(if $(findstring _avx2.c,$<),$(AVX2_FLAGS))) -c $< -o $@

$(FUZZ_BUILD)/libkevo.a: $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_BUILD)/fuzz/fuzz_common.o $(FUZZ_BUILD)/libkevo.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

ifneq ($(filter fuzz fuzz-build $(FUZZ_BUILD)/%,$(MAKECMDGOALS)),)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
endif

# aarch64: cross-compile with Debian's gcc-aarch64-linux-gnu and arm64 multiarch libraries into
# build-aarch64/, then run the engine and analysis tests under qemu-aarch64 (docs/aarch64.md).
.PHONY: cross-aarch64
cross-aarch64:
	@tools/cross_aarch64.sh

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
