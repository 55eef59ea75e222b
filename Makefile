# streamlab — one plain Makefile.  `make run` and `make test` set the machine
# up first (setup.sh) when something is missing: `make run` only what building
# and running need (setup.sh run), `make test` the test dependencies too
# (setup.sh test: CUnit, kcat, tmux, chromium, clang, the Kafka and Flink releases).

CC       ?= cc
PKGS     := rdkafka jansson yajl libcrypto ncursesw libturbojpeg caca libavformat libavcodec \
            libswscale libavutil libmagic poppler-glib glib-2.0 libzip libxml-2.0 libmicrohttpd libcurl
# Headers only: libavdevice (the camera input) is loaded when a webcam is
# opened (producers/frames.c, load_avdevice), not linked: linked, it brought
# ~100 more libraries into every start, and libquadmath among them slowed
# every printf in the process.
HDR_PKGS := libavdevice
CFLAGS   ?= -O2 -g
SAN      ?=
# CI builds with -Werror: a warning fails CI (.ci/run is only `make test`; CI systems
# set CI in the environment).  Local builds keep warnings as warnings; WERROR=1 asks
# for -Werror here too, WERROR=0 turns it off in CI.
WERROR   ?= $(if $(filter-out 0 false,$(CI)),1,0)
# CFLAGS/LDLIBS may come from the command line (make asan does): what the
# build needs goes in ALL_* so that it is never dropped.
# Includes name a file from the top of the tree ("engine/kafka/kconf.h"), so
# that every #include line says which layer it reaches into (docs/architecture.md).
ALL_CFLAGS = $(CFLAGS) $(SAN) -std=c11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
             -D_GNU_SOURCE -pthread -I. \
             $(shell pkg-config --cflags $(PKGS) $(HDR_PKGS) 2>/dev/null)
# jemalloc instead of glibc's malloc: allocation was ~28% of a replay's
# samples (perf, Jansson's many small objects) and jemalloc cut the CPU per
# record by about a third.  Not under a sanitizer: it brings its own malloc.
ALLOC    ?= $(if $(SAN),,$(shell pkg-config --libs jemalloc 2>/dev/null))
ALL_LDLIBS = $(LDLIBS) $(SAN) $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(ALLOC) -lm -pthread
BUILD    ?= build
BROKERS  ?= embedded kafka

LIB_SRC  := $(wildcard engine/*.c engine/kafka/*.c engine/pipelines/*.c engine/flink/*.c \
                       producers/*.c tui/*.c) \
            $(filter-out tui/cli/main.c,$(wildcard tui/cli/*.c))
LIB_ASM  := $(wildcard producers/*.S engine/flink/*.S)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all run test unit e2e asan tsan tsan-run bench clean setup setup-run setup-test kafka flink fuzz fuzz-build fuzz-run

# make fuzz: libFuzzer targets tests/fuzz/fuzz_*.c, built with clang in a
# build of their own (build/fuzz, ASan + UBSan), each run for FUZZ_SECONDS.
# FUZZ_TARGETS="fuzz_txn_parse fuzz_evtime" runs only those.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined

all: $(BUILD)/streamlab

# -MMD -MP: each object depends on the headers it includes (build/obj/**/*.d).
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/tui/cli/main.d

# The upload page and the Flink SQL twin's templates are embedded in the binary
# (.incbin), so it runs from anywhere; each .S is rebuilt when what it embeds changes.
$(BUILD)/obj/producers/webpage.o: assets/upload.html
$(BUILD)/obj/engine/flink/sqlassets.o: $(wildcard assets/flink/*.sql)
$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(BUILD)/libstreamlab.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/streamlab: $(BUILD)/obj/tui/cli/main.o $(BUILD)/libstreamlab.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/testlib.h $(BUILD)/libstreamlab.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libstreamlab.a $(ALL_LDLIBS) -lcunit

-include $(TEST_BIN:=.d)

# The fuzzers link libFuzzer's main (-fsanitize=fuzzer); the library was
# compiled with fuzzer-no-link so that its code is instrumented for coverage.
$(BUILD)/fuzzers/%: tests/fuzz/%.c tests/fuzz/fuzzlib.h $(BUILD)/libstreamlab.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libstreamlab.a $(ALL_LDLIBS)

# Writes the seed corpora (real records: frames encoded here, transactions,
# timestamps) at run time.
$(BUILD)/fuzzers/gen_seeds: tests/fuzz/gen_seeds.c $(BUILD)/libstreamlab.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libstreamlab.a $(ALL_LDLIBS)

# setup-run: what building and running need; setup-test (= setup): that plus
# every test dependency.
setup: setup-test

setup-run:
	@./setup.sh --check run >/dev/null 2>&1 || ./setup.sh run

setup-test:
	@./setup.sh --check test >/dev/null 2>&1 || ./setup.sh test

run: setup-run all
	$(BUILD)/streamlab $(ARGS)

# Every suite; the last line is "N passed, N failed".
test: setup-test all $(TEST_BIN)
	@BUILD=$(BUILD) BROKERS="$(BROKERS)" tests/run.sh $(TEST_BIN)

# The same tests under AddressSanitizer + UBSan (a build of its own in build/asan).
asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# The unit and in-process suites (CUnit: the runtime's workers, the engine with
# an embedded broker in the test) under ThreadSanitizer, in build/tsan.  The
# end-to-end scripts are left out: they test the binary, not its threads.
# Left out: the suites that start librdkafka in the test's process
# (test_integration, test_stall, test_fuzz_regressions): Debian's librdkafka
# 2.0.2 creates its threads where TSan does not see them, and TSan's
# allocator crashes on their first calloc (rdk:mock thread, cache=0x8).
# tests/tsan.supp says which Jansson reports are suppressed and why.
TSAN_TESTS = $(filter-out %/test_integration %/test_stall %/test_fuzz_regressions,$(TEST_BIN))
tsan:
	$(MAKE) BUILD=build/tsan CFLAGS="-O1 -g" SAN="-fsanitize=thread -fno-omit-frame-pointer" tsan-run

tsan-run: setup-test all $(TSAN_TESTS)
	@TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" BUILD=$(BUILD) BROKERS="" \
	    tests/run.sh $(TSAN_TESTS)

# Every CUnit suite, no end-to-end script.
unit: setup-test all $(TEST_BIN)
	@BUILD=$(BUILD) BROKERS="" tests/run.sh $(TEST_BIN)

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS="-O1 -g" SAN="$(FUZZ_SAN)" fuzz-run

fuzz-build: $(FUZZ_BIN) $(BUILD)/fuzzers/gen_seeds

fuzz-run: setup fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh \
	    $(if $(FUZZ_TARGETS),$(FUZZ_TARGETS:%=$(BUILD)/fuzzers/%),$(FUZZ_BIN))

bench: setup all
	@BUILD=$(BUILD) tests/bench.sh

kafka: setup
	@tests/kafka/kafka.sh run $(KAFKA_LISTEN)

# A local Flink session cluster (jobmanager, taskmanager, SQL Gateway) for `streamlab flink`.
flink: setup
	@tests/flink/flink.sh run $(FLINK_DATA)

clean:
	rm -rf $(BUILD)
