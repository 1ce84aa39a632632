# topicfs - a FUSE filesystem that turns a directory into a commit log.
#
#   make            build the daemon (build/topicfs), the checker
#                   (build/topicfs-fsck) and the store library
#   make deps       install missing Debian packages (idempotent, apt-get)
#   make run        deps + build + mount ./data at ./mnt in the foreground
#   make test       deps + build + unit, integration and sanitizer tests
#   make bench      topicfs beside a plain file and ../shared/baseline
#   make torture    deps + build + the long crash torture (t_torture with
#                   TORTURE_ROUNDS=200 rounds of up to TORTURE_MAX_MS=2000
#                   ms; about 10 min and 2 GB of /tmp), then the power-loss
#                   torture (test_powerloss) with TORTURE_PL_RUNS=20 random
#                   seeds (about 3 min)
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       libFuzzer harnesses (clang), FUZZ_SECONDS each
#
# Knobs: CC, CFLAGS, BUILD (object dir), SANITIZE=address,undefined, DEBUG=1,
# FUZZ_CC, FUZZ_SECONDS (per harness; make test runs TEST_FUZZ_SECONDS).

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= gcc
BUILD   ?= build
SANITIZE ?=
DEBUG   ?=
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 30

DEB_PKGS := gcc make libfuse3-dev fuse3 libzstd-dev libcmocka-dev pkg-config attr \
	clang libclang-rt-14-dev

FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS   := $(shell pkg-config --libs fuse3 2>/dev/null)
ZSTD_LIBS   := $(shell pkg-config --libs libzstd 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
OPT  := $(if $(DEBUG),-O0 -g3,-O2 -g)
SAN  := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CFLAGS ?= $(OPT)
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(SAN) -D_GNU_SOURCE -Iinclude -Istore -Ifs -pthread
LDFLAGS ?=
ALL_LDFLAGS := $(LDFLAGS) $(SAN) -pthread

STORE_SRC := $(wildcard store/*.c)
FS_SRC    := $(filter-out fs/main.c fs/fsck.c,$(wildcard fs/*.c))
STORE_OBJ := $(STORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_DIR  := $(BUILD)/fuzz
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
# the store is built into each harness, instrumented for coverage
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -D_GNU_SOURCE -Iinclude -Istore -pthread

all: $(BUILD)/topicfs $(BUILD)/topicfs-fsck $(BUILD)/libtopicfs-store.a

$(BUILD)/%.o: %.c $(wildcard include/topicfs/*.h store/*.h fs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

$(BUILD)/libtopicfs-store.a: $(STORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/topicfs: $(BUILD)/fs/main.o $(FS_OBJ) $(BUILD)/libtopicfs-store.a
	$(CC) -o $@ $^ $(ALL_LDFLAGS) $(FUSE_LIBS) $(ZSTD_LIBS)

$(BUILD)/topicfs-fsck: $(BUILD)/fs/fsck.o $(BUILD)/libtopicfs-store.a
	$(CC) -o $@ $^ $(ALL_LDFLAGS) $(ZSTD_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(FS_OBJ) $(BUILD)/libtopicfs-store.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(FUSE_LIBS) $(ZSTD_LIBS) -lcmocka

# test_powerloss models a disk under the store: its sync and name calls
# go through the test's wrappers.
PL_WRAP := fsync fdatasync open openat mkdir unlink unlinkat rename renameat \
	rmdir pwrite ftruncate fallocate
$(BUILD)/tests/test_powerloss: ALL_LDFLAGS += $(PL_WRAP:%=-Wl,--wrap=%)

$(BUILD)/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

# zsegbench measures store/zseg.c, so it links the store library.
$(BUILD)/tools/zsegbench: tests/tools/zsegbench.c $(BUILD)/libtopicfs-store.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(ZSTD_LIBS)

tools: $(TOOL_BIN)
unit: $(UNIT_BIN)

$(FUZZ_DIR)/%: tests/fuzz/%.c $(STORE_SRC) $(wildcard include/topicfs/*.h store/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(STORE_SRC) $(ZSTD_LIBS)

# Each harness runs FUZZ_SECONDS on a working copy of its committed corpus
# (tests/fuzz/corpus/NAME), which grows in $(FUZZ_DIR)/corpus/NAME; a crash
# leaves its input in $(FUZZ_DIR) and fails the target.
fuzz: $(FUZZ_BIN)
	@for h in $(FUZZ_BIN); do \
		n=$$(basename $$h); w=$(FUZZ_DIR)/corpus/$$n; \
		mkdir -p $$w; cp tests/fuzz/corpus/$$n/* $$w/ 2>/dev/null; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$n- \
			$$w >$(FUZZ_DIR)/$$n.log 2>&1 || { tail -40 $(FUZZ_DIR)/$$n.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' $(FUZZ_DIR)/$$n.log; \
	done

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $$missing; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@contrib/run-demo.sh ./$(BUILD)/topicfs data mnt

# Everything CI runs: a normal build, then the same tests built with
# ASan+UBSan (the daemon under test is the sanitized one), then a short run
# of each fuzz harness.
test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check BUILD=build-asan SANITIZE=address,undefined
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# The sanitizer build runs test_powerloss's workload about 5x slower: half
# its length there (TFS_PL_ACTIONS, unless set) keeps make test near 12 min.
check: all unit tools
	BUILD=$(BUILD) TFS_PL_ACTIONS=$${TFS_PL_ACTIONS:-$(if $(SANITIZE),1000,2000)} tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all tools
	BUILD=$(BUILD) contrib/bench-all.sh

# The crash torture, long: t_torture's round summaries on the terminal.  Its
# temp dir (and mount) is under its own dir, as tests/run.sh does it.
TORTURE_ROUNDS ?= 200
TORTURE_MAX_MS ?= 2000
TORTURE_PL_RUNS ?= 20
torture: deps
	@$(MAKE) --no-print-directory all tools
	@d=$$(mktemp -d /tmp/topicfs-torture.XXXXXX) && rc=0 && \
	TFS_TEST_TMP=$$d BUILD=$(BUILD) TORTURE_ROUNDS=$(TORTURE_ROUNDS) \
	TORTURE_MAX_MS=$(TORTURE_MAX_MS) TORTURE_FULL_EVERY=20 \
	timeout -k 10 7200 bash tests/integration/t_torture.sh || rc=$$?; \
	rmdir "$$d"; [ $$rc = 0 ] || exit $$rc; \
	$(MAKE) --no-print-directory $(BUILD)/tests/test_powerloss && \
	for i in $$(seq $(TORTURE_PL_RUNS)); do \
		out=$$(TFS_PL_SEED=random $(BUILD)/tests/test_powerloss 2>&1); \
		rc=$$?; echo "$$out" | grep -E '^powerloss: (seed|[0-9])|^image'; \
		[ $$rc = 0 ] || { echo "$$out" | tail -30; exit 1; }; \
	done

install: all
	install -D -m 0755 $(BUILD)/topicfs $(DESTDIR)$(PREFIX)/bin/topicfs
	install -D -m 0755 $(BUILD)/topicfs-fsck $(DESTDIR)$(PREFIX)/sbin/topicfs-fsck
	install -D -m 0644 docs/topicfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/topicfs.1
	install -D -m 0644 docs/topicfs-fsck.8 $(DESTDIR)$(PREFIX)/share/man/man8/topicfs-fsck.8

format:
	clang-format -i fs/*.c fs/*.h store/*.c store/*.h include/topicfs/*.h tests/unit/*.c tests/tools/*.c tests/fuzz/*.c

clean:
	rm -rf build build-asan

.PHONY: all deps run test check unit tools fuzz bench torture install format clean
