# ec2backup -- GNU make.
#
# Every src/*.c except main.c goes into one static library that the binary,
# the unit tests (tests/unit/test_*.c, one per module), the test tools
# (tests/tools/*.c) and the fuzz targets link against.  A second copy of the
# library and the unit tests is built under build/san with AddressSanitizer
# and UndefinedBehaviorSanitizer.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/ec2backup
# The policies are read from /etc/ec2backup/policies whatever PREFIX is.
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
# Debian's interpreter: the emulator's conformance tests import Debian's
# python3-botocore, which a python3 earlier on PATH may not see.
PYTHON ?= /usr/bin/python3

VERSION = 0.1.0

PKGS = libcurl openssl libxml-2.0 libconfig json-c
# Deferred (=) so that pkg-config runs after `make deps` has installed it.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS))

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla
# Warnings are errors in CI (CI=true) or on request (WERROR=1).
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN += -Werror
endif

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -DEC2BACKUP_VERSION='"$(VERSION)"' \
	     $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer

LIB_SRC := $(filter-out src/main.c,$(sort $(wildcard src/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ := $(LIB_SRC:src/%.c=build/obj/%.o)
SAN_OBJ := $(LIB_SRC:src/%.c=build/san/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
SAN_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=build/tools/%)
PRELOAD_BIN := $(patsubst tests/preload/%.c,build/tools/%.so,\
	$(sort $(wildcard tests/preload/*.c)))

MAN := docs/ec2backup.8 docs/ec2backup.cfg.5

.PHONY: all check check-run unit unit-san deps install uninstall clean demo \
	bench bench-plan fuzz fuzz-run tools soak
.DELETE_ON_ERROR:

all: ec2backup

ec2backup: build/obj/main.o build/libec2backup.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

# The same binary with AddressSanitizer and UndefinedBehaviorSanitizer,
# which the integration tests run.
build/san/ec2backup: build/san/obj/main.o build/san/libec2backup.a
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

build/libec2backup.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

build/san/libec2backup.a: $(SAN_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

build/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/san/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

build/tests/%: tests/unit/%.c build/libec2backup.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libec2backup.a $(LDFLAGS) \
		$(PKG_LIBS) $$($(PKG_CONFIG) --libs cmocka) -lm

build/san/tests/%: tests/unit/%.c build/san/libec2backup.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< build/san/libec2backup.a \
		$(LDFLAGS) $(PKG_LIBS) $$($(PKG_CONFIG) --libs cmocka) -lm

build/tools/%: tests/tools/%.c build/libec2backup.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libec2backup.a $(LDFLAGS) \
		$(PKG_LIBS) -lm

# LD_PRELOAD libraries the integration tests load into the binary.
build/tools/%.so: tests/preload/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -fPIC -shared -o $@ $<

unit: $(UNIT_BIN)
unit-san: $(SAN_UNIT_BIN)
tools: $(TOOL_BIN) $(PRELOAD_BIN)

# `make check` first makes sure the Debian packages are there, then builds
# everything in a second make (so pkg-config answers after the install) and
# runs every suite; tests/run-tests prints one closing count.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: ec2backup build/san/ec2backup unit unit-san tools
	@PYTHON=$(PYTHON) tests/run-tests

# Debian packages that building and testing need.
DEBS = libcurl4-openssl-dev libssl-dev libxml2-dev libconfig-dev \
       libjson-c-dev libcmocka-dev pkg-config python3 python3-botocore \
       python3-boto3 faketime libfaketime tzdata valgrind man-db openssl \
       prometheus

deps:
	@command -v dpkg-query >/dev/null || { \
	    echo "make deps: not a Debian system; install: $(DEBS)" >&2; \
	    exit 0; }; \
	missing=; \
	for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	        grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	    echo "make deps: missing Debian packages; run:" >&2; \
	    echo "    sudo apt-get install$$missing" >&2; \
	    exit 1; \
	fi

demo: deps
	@$(MAKE) --no-print-directory ec2backup
	@$(PYTHON) tests/demo

# Benchmarks print figures and never fail on them; see docs/performance.md.
# BENCH_ARGS=--quick for a smoke run.
BENCH_DEBS = awscli libxml2-utils gnuplot-nox

bench: deps
	@$(MAKE) --no-print-directory DEBS="$(BENCH_DEBS)" deps
	@$(MAKE) --no-print-directory ec2backup tools
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# The planner alone: 10,000 volumes x 100 snapshots (prints its figures).
bench-plan: build/tools/bench_plan
	build/tools/bench_plan

# The model-based random test of whole runs (tests/model/run.py) for as
# long as asked: random scenarios of daily runs against the emulator, with
# faults and kills, every run checked against an oracle written from the
# manual.  SEED= picks the seed (default: from the clock), N= runs
# scenarios 0 to N-1 of it, else MINUTES= (default 60) of scenarios;
# EC2BACKUP= names the binary (default ./ec2backup).  A failure prints a
# replay command and keeps its files under build/model.
.PHONY: soak
soak: ec2backup
	$(if $(EC2BACKUP),EC2BACKUP=$(EC2BACKUP)) $(PYTHON) tests/model/run.py \
		--profile soak $(if $(SEED),--seed $(SEED)) \
		$(if $(N),--scenarios $(N),--minutes $(or $(MINUTES),60))

# Coverage-guided fuzzing with clang's libFuzzer, one target per parser of
# outside input (tests/fuzz/fuzz_*.c).  Every src/*.c except main.c is
# compiled again with clang and the sanitizers into build/fuzz/libec2backup.a,
# which each target links.  `make fuzz FUZZ_SECONDS=600` runs each target
# that long, growing a corpus under build/fuzz/corpus from the seeds in
# tests/fuzz/corpus, with tests/fuzz/TARGET.dict as its dictionary when there
# is one; a finding stops the run and is saved as build/fuzz/TARGET-crash-*.
# Standard input is /dev/null: a policy file can @include any file.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -std=c11 -D_DEFAULT_SOURCE \
	      -DEC2BACKUP_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -Isrc -MMD -MP
FUZZ_SAN = address,undefined
# Leaks inside libconfig itself; see the file.
FUZZ_LSAN = tests/fuzz/lsan.supp
FUZZ_OBJ := $(LIB_SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
		-c -o $@ $<

build/fuzz/libec2backup.a: $(FUZZ_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BIN): build/fuzz/%: tests/fuzz/%.c build/fuzz/libec2backup.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer,$(FUZZ_SAN) \
		-o $@ $< build/fuzz/libec2backup.a $(LDFLAGS) $(PKG_LIBS) -lm

# clang and libFuzzer's runtime, installed like the other packages.
FUZZ_DEBS = clang libclang-rt-14-dev

fuzz: deps
	@$(MAKE) --no-print-directory DEBS="$(FUZZ_DEBS)" deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_BIN)
	@for t in $(FUZZ_BIN); do \
	    name=$${t##*/}; mkdir -p build/fuzz/corpus/$$name; \
	    cp -n tests/fuzz/corpus/$$name/* build/fuzz/corpus/$$name/; \
	    dict=; [ ! -f tests/fuzz/$$name.dict ] || \
	        dict=-dict=tests/fuzz/$$name.dict; \
	    echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	    LSAN_OPTIONS=suppressions=$(FUZZ_LSAN):print_suppressions=0 \
	    $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=build/fuzz/$$name- $$dict \
	        build/fuzz/corpus/$$name </dev/null \
	        2>build/fuzz/$$name.log || \
	        { tail -40 build/fuzz/$$name.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^Done' \
	        build/fuzz/$$name.log; \
	done

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)

# Installs the program, its manuals, the examples, the IAM policy and the
# policy directory, and the systemd service and timer (with the real path
# of the binary) without enabling them; the cron file goes with the
# examples, for the operator to copy.
install: ec2backup
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSTEMDUNITDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/ec2backup/policies
	install -m 0755 ec2backup $(DESTDIR)$(BINDIR)/ec2backup
	install -m 0644 docs/ec2backup.8 $(DESTDIR)$(MANDIR)/man8/ec2backup.8
	install -m 0644 docs/ec2backup.cfg.5 \
		$(DESTDIR)$(MANDIR)/man5/ec2backup.cfg.5
	install -m 0644 policies/*.cfg $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 docs/iam-policy.json $(DESTDIR)$(DOCDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/cron/ec2backup.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/ec2backup.service
	install -m 0644 contrib/cron/ec2backup.timer \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ec2backup.timer
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/cron/ec2backup.cron.in \
		>$(DESTDIR)$(DOCDIR)/examples/ec2backup.cron
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ec2backup.service \
		$(DESTDIR)$(DOCDIR)/examples/ec2backup.cron

# Leaves /etc/ec2backup alone: it may hold the operator's policies.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ec2backup \
		$(DESTDIR)$(MANDIR)/man8/ec2backup.8 \
		$(DESTDIR)$(MANDIR)/man5/ec2backup.cfg.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ec2backup.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ec2backup.timer
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build ec2backup

-include $(LIB_OBJ:.o=.d) $(SAN_OBJ:.o=.d) build/obj/main.d
