# SPDX-License-Identifier: MIT
# libctrace: one non-recursive Makefile. `make help` lists targets and knobs.

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
O       ?= build
V       ?= 0
Q        = $(if $(filter 1,$(V)),,@)

# Warnings are errors where asked for (WERROR=1: make test, CI), not in a user's build with
# a newer compiler. CPPFLAGS and LDFLAGS (a distribution's hardening flags) reach every
# compile and link line.
WERROR  ?= 0
WERR     = $(if $(filter 1,$(WERROR)),-Werror)
WARN     = -Wall -Wextra $(WERR) -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wundef -Wwrite-strings -Wno-format-nonliteral
CSTD    := -std=gnu11
CFLAGS  ?= -O2 -g
PKGS    := liblz4 libunwind libdw libunwind-ptrace
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
BASE_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -D_GNU_SOURCE -MMD -MP

FORMAT_SRC  := $(wildcard format/*.c)
PRELOAD_SRC := $(wildcard preload/*.c) unwind/capture.c $(filter-out format/reader.c,$(FORMAT_SRC))
ANALYZE_LIB := $(filter-out analyze/ctrace.c,$(wildcard analyze/*.c)) unwind/symbolize.c $(FORMAT_SRC)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
# att_mod.c is a shared object (att_mod.so), att_static.c a static program (-static).
PROG_SRC    := $(filter-out tests/progs/att_mod.c,$(wildcard tests/progs/*.c))
BENCH_SRC   := $(wildcard tests/bench/*.c)
EX_SRC      := $(wildcard examples/*.c) $(wildcard examples/*/*.c)

SO      := $(O)/libctrace.so
CTRACE  := $(O)/ctrace
UNITS   := $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNIT_SRC))
PROGS   := $(patsubst tests/progs/%.c,$(O)/progs/%,$(PROG_SRC))
# Test programs also built as a distro would: -O2 -D_FORTIFY_SOURCE=2, so their I/O calls go
# to glibc's __*_chk entry points (build/progs/NAME.fortify).
FORTIFY := $(filter $(patsubst tests/progs/%.c,%,$(PROG_SRC)),blk_io blk_net blk_semantics)
PROGS   += $(patsubst %,$(O)/progs/%.fortify,$(FORTIFY))
STRIPPED:= $(filter $(patsubst tests/progs/%.c,%,$(PROG_SRC)),nown_handoff)
PROGS   += $(patsubst %,$(O)/progs/%.stripped,$(STRIPPED))
PROGS   += $(O)/progs/att_mod.so
BENCHES := $(patsubst tests/bench/%.c,$(O)/bench/%,$(BENCH_SRC))
# make bench-analyze's trace generator and its baseline (tests/bench/analyze/)
ANALYZE_BENCH := $(O)/bench/gentrace $(O)/bench/readall
EXAMPLES:= $(patsubst examples/%.c,$(O)/examples/%,$(EX_SRC))

PRELOAD_OBJ := $(patsubst %.c,$(O)/pic/%.o,$(PRELOAD_SRC))
# The page of `ctrace export --format html` carries its script and style sheet: the files
# of analyze/html/ become C arrays (xxd -i) in a generated html_assets.c.
HTML_ASSETS := analyze/html/report.js analyze/html/report.css
ANALYZE_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(ANALYZE_LIB)) $(O)/obj/gen/html_assets.o
CTRACE_OBJ  := $(O)/obj/analyze/ctrace.o $(ANALYZE_OBJ)

# The preload: hidden visibility, exports listed by CT_EXPORT; the version script defines
# the GLIBC_2.2.5/GLIBC_2.3.2 nodes that the two pthread_cond_* ABIs are exported under.
# libunwind is dlopen'ed (RTLD_LOCAL), never linked: see unwind/capture.c.
# The wrappers' fast paths are a handful of instructions ending in an indirect jump: on
# x86-64 CPUs with the jump-conditional-code erratum mitigation, a jump that crosses or ends
# on a 32-byte boundary leaves the decoded-uop cache, and which one does depends on where
# the linker happens to put the code (one more imported symbol moved .text by 16 bytes and
# took the uncontended lock/unlock pair from 3.4 to 5.1 ns). The assembler keeps every
# branch inside its 32-byte block.
SO_ALIGN  ?= $(if $(filter x86_64,$(shell uname -m)),-Wa$(comma)-mbranches-within-32B-boundaries)
comma     := ,
SO_CFLAGS  = $(BASE_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec $(SO_ALIGN) -fstack-usage
SO_LDFLAGS = -shared -Wl,--no-undefined -Wl,-z,nodelete -Wl,--version-script=preload/ctrace.map \
             -Wl,-soname,libctrace.so
SO_LIBS    = $(shell pkg-config --libs liblz4 2>/dev/null || echo -llz4) -lz -ldl -lpthread
CLI_LIBS   = $(shell pkg-config --libs liblz4 libdw 2>/dev/null || echo -llz4 -ldw -lelf) -lz -lm \
             $(shell pkg-config --libs libunwind-ptrace 2>/dev/null || echo -lunwind-ptrace -lunwind-generic -lunwind)
PROG_CFLAGS = -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -Wall -Wextra $(WERR) \
              $(CPPFLAGS) -D_GNU_SOURCE -Wno-unused-result

.PHONY: all test unit bats demo bench bench-analyze asan ubsan fuzz test-real install uninstall clean help deps deps-build progs examples
all: $(SO) $(CTRACE) $(O)/stack-budget.ok

$(O)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(pic) $<")
	$(Q)$(CC) $(SO_CFLAGS) -c -o $@ $<

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) -c -o $@ $<

$(O)/gen/html_assets.c: $(HTML_ASSETS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '/* generated from $(HTML_ASSETS) by the Makefile: do not edit */'; \
	  for f in $(HTML_ASSETS); do xxd -i $$f; done; } | sed 's/^unsigned/const unsigned/' >$@.tmp
	$(Q)mv $@.tmp $@

$(O)/obj/gen/html_assets.o: $(O)/gen/html_assets.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) -c -o $@ $<

# libctrace.so's initial-exec TLS block (PT_TLS memsz) must fit in what glibc keeps for
# libraries loaded later (`ctrace attach` loads it with dlopen): that static TLS surplus
# is 512 bytes by default (glibc.rtld.optional_static_tls), shared with every other
# library loaded later with initial-exec TLS. The build fails above TLS_MAX bytes; the
# block is 252 bytes now.
TLS_MAX ?= 384
$(SO): $(PRELOAD_OBJ) preload/ctrace.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SO_LDFLAGS) $(LDFLAGS) -o $@.tmp $(PRELOAD_OBJ) $(SO_LIBS)
	$(Q)tls=$$(readelf -lW $@.tmp | awk '$$1 == "TLS" { print $$6 }'); \
	if [ -n "$$tls" ] && [ $$(($$tls)) -gt $(TLS_MAX) ]; then \
		echo "$@: initial-exec TLS block of $$(($$tls)) bytes > TLS_MAX=$(TLS_MAX) (glibc's 512-byte surplus for libraries loaded later, which ctrace attach needs)" >&2; \
		rm -f $@.tmp; exit 1; \
	fi
	$(Q)mv -f $@.tmp $@

# Every preload function's stack against its budget (preload/README.md, "Stack budget").
$(O)/stack-budget.ok: $(PRELOAD_OBJ) preload/stack-budget.sh
	@$(if $(Q),echo "  CHECK   stack budget")
	$(Q)preload/stack-budget.sh $(O)/pic && touch $@

$(CTRACE): $(CTRACE_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTRACE_OBJ) $(CLI_LIBS)

$(O)/unit/%: tests/unit/%.c $(ANALYZE_OBJ) tests/unit/tap.h tests/unit/tracegen.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(ANALYZE_OBJ) $(CLI_LIBS)

# Test programs and examples are ordinary programs: -O1 -g, frame pointers, no inlining so
# the functions and lines the tests expect stay where the source puts them.
PROG_H := $(wildcard tests/progs/*.h)
$(O)/progs/%: tests/progs/%.c $(PROG_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PROG_CFLAGS) $(LDFLAGS) -o $@ $< -lm

# OpenMP test programs (omp_*.c): libgomp, from gcc's -fopenmp.
$(O)/progs/omp_%: tests/progs/omp_%.c $(PROG_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(omp) $<")
	$(Q)$(CC) $(PROG_CFLAGS) $(LDFLAGS) -fopenmp -o $@ $< -lm

# Attach tests: a module loaded with dlopen, a program without a dynamic loader.
$(O)/progs/att_mod.so: tests/progs/att_mod.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(so)  $<")
	$(Q)$(CC) $(PROG_CFLAGS) $(LDFLAGS) -shared -fPIC -o $@ $<

$(O)/progs/att_static: tests/progs/att_static.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(static) $<")
	$(Q)$(CC) $(PROG_CFLAGS) $(LDFLAGS) -static -o $@ $<

# A test program without its symbol table (build/progs/NAME.stripped), for frames and
# objects named module+offset.
$(O)/progs/%.stripped: $(O)/progs/%
	@$(if $(Q),echo "  STRIP   $@")
	$(Q)strip -o $@ $<

$(O)/progs/%.fortify: tests/progs/%.c $(PROG_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(fortify) $<")
	$(Q)$(CC) $(filter-out -O1,$(PROG_CFLAGS)) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 $(LDFLAGS) -o $@ $< -lm

$(O)/bench/%: tests/bench/%.c tests/bench/bench.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 -g -pthread -Wall -Wextra $(WERR) $(CPPFLAGS) -D_GNU_SOURCE $(LDFLAGS) \
		-o $@ $< -lm

# The annotation benchmark includes the public header (weak references: a PIE program).
$(O)/bench/annotate: tests/bench/annotate.c tests/bench/bench.h preload/include/ctrace_annotate.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 -g -pthread -Wall -Wextra $(WERR) $(CPPFLAGS) -D_GNU_SOURCE \
		-Ipreload/include $(LDFLAGS) -o $@ $< -lm

$(O)/examples/%: examples/%.c preload/include/ctrace_annotate.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PROG_CFLAGS) -Ipreload/include $(LDFLAGS) -o $@ $<

progs: $(PROGS)
examples: $(EXAMPLES)

deps:
	$(Q)tests/deps.sh test
deps-build:
	$(Q)tests/deps.sh build

unit: all $(UNITS)
	$(Q)tests/run-unit.sh $(UNITS)

bats: all $(PROGS) $(EXAMPLES) $(ANALYZE_BENCH)
	$(Q)CTRACE_BUILD=$(abspath $(O)) tests/run-bats.sh

# Every suite runs even when an earlier one failed; the last line sums them up. Warnings
# are errors here (WERROR=1 reaches the sub-makes through the environment).
test: export WERROR = 1
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -f $(O)/test-results $(O)/test-times; export FUZZ_SECONDS=20; \
	for t in unit bats asan fuzz; do \
		t0=$$(date +%s); \
		$(MAKE) --no-print-directory $$t 2>&1 | tee $(O)/test-$$t.log; \
		grep -E '^[a-z() -]+: [0-9]+ passed, [0-9]+ failed' $(O)/test-$$t.log >> $(O)/test-results; \
		echo "$$t took $$(($$(date +%s) - t0)) s" >> $(O)/test-times; \
	done; cat $(O)/test-times; rm -f $(O)/test-times; \
	awk '{ for (i = 1; i < NF; i++) { if ($$(i+1) ~ /^passed/) p += $$i; if ($$(i+1) ~ /^failed/) f += $$i } } \
	     END { printf "test: %d passed, %d failed\n", p, f; exit (f > 0 || NR < 5) }' $(O)/test-results

demo: deps-build
	$(Q)$(MAKE) --no-print-directory all $(O)/examples/convoy
	$(Q)tests/demo.sh $(abspath $(O))

bench: all $(BENCHES)
	$(Q)tests/bench/run.sh $(abspath $(O))

# The analyzer's benchmark: a generated trace of BENCH_ANALYZE_EVENTS events (cached in
# $(O)/bench/) reported as JSON; events/s, CPU time and peak RSS (tests/bench/README.md).
BENCH_ANALYZE_EVENTS ?= 50000000
$(O)/bench/gentrace: tests/bench/analyze/gentrace.c format/writer.c format/crc32.c format/names.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $^ $(SO_LIBS)
# readall: report's reading side alone (the same two threads, the events only counted),
# the baseline bench-analyze measures report against
$(O)/bench/readall: tests/bench/analyze/readall.c $(ANALYZE_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(LDFLAGS) -o $@ $< $(ANALYZE_OBJ) $(CLI_LIBS)
bench-analyze: all $(ANALYZE_BENCH)
	$(Q)tests/bench/analyze/run.sh $(abspath $(O)) $(BENCH_ANALYZE_EVENTS)

# Sanitized ctrace and unit tests (the preload itself is not sanitized: an ASan runtime
# would have to come first in LD_PRELOAD of every traced program).
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan:
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan CFLAGS="-O1 -g $(SAN)" \
		CLI_LIBS="$(CLI_LIBS) $(SAN)" $(O)/asan/ctrace $(patsubst $(O)/%,$(O)/asan/%,$(UNITS))
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-unit.sh $(patsubst $(O)/%,$(O)/asan/%,$(UNITS))
	$(Q)$(MAKE) --no-print-directory $(SO) $(PROGS) $(EXAMPLES) $(ANALYZE_BENCH)
	$(Q)CTRACE_BUILD=$(abspath $(O)) CTRACE_CLI=$(abspath $(O))/asan/ctrace \
		ASAN_OPTIONS=detect_leaks=1 tests/run-bats.sh
ubsan: asan

# The reader, and the streaming analyses over what it reads, under libFuzzer with ASan+UBSan (clang): FUZZ_SECONDS bounds the run (make test
# runs it for 20 s); a crash, leak, hang or sanitizer report fails it and leaves the input in
# $(O)/fuzz/. The corpus starts from a trace of examples/condvar recorded here, the stored
# traces of earlier format versions (tests/traces/) and the demo's, when present.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_ANALYZE := $(addprefix analyze/,model.c util.c hashtab.c lhist.c analysis.c engine.c \
                entries.c syscalls.c objects.c convoy.c stkcount.c chains.c threads.c \
                underlock.c idle.c lockorder.c regions.c tasks.c)
$(O)/fuzz/fuzz_reader: tests/unit/fuzz_reader.c $(FORMAT_SRC) $(FUZZ_ANALYZE) $(wildcard format/*.h analyze/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC(fuzz) $<")
	$(Q)$(FUZZ_CC) -std=gnu11 -g -O1 $(CPPFLAGS) -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(LDFLAGS) -o $@ $< $(FORMAT_SRC) $(FUZZ_ANALYZE) -llz4 -lz -lpthread
fuzz: $(O)/fuzz/fuzz_reader all $(O)/examples/condvar
	$(Q)mkdir -p $(O)/fuzz/corpus; rm -f $(O)/fuzz/seed.ctr; \
	$(CTRACE) record -o $(O)/fuzz/seed.ctr -- $(O)/examples/condvar >/dev/null 2>&1; \
	for f in $(O)/fuzz/seed.ctr $(O)/demo/*.ctr tests/traces/*.ctr; do [ -f "$$f" ] && \
		head -c 65536 "$$f" >$(O)/fuzz/corpus/seed-$$(basename "$$f"); done; \
	cd $(O)/fuzz && if ./fuzz_reader -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 corpus >fuzz.log 2>&1; then \
		grep -E '^stat::number_of_executed_units' fuzz.log | sed 's/^/fuzz: /'; \
		echo "fuzz: 1 passed, 0 failed"; \
	else tail -n 30 fuzz.log; echo "fuzz: 0 passed, 1 failed"; exit 1; fi

# Real servers, long form (make test runs the short form in tests/bats/real.bats).
test-real: all
	$(Q)CTRACE_BUILD=$(abspath $(O)) CTRACE_REAL_SECONDS=10 CTRACE_REAL_PAIRS=5 bats --tap tests/bats/real.bats \
		tests/bats/real-servers.bats

# ctrace finds libctrace.so next to itself, in ../lib, or in the LIBDIR it was built with.
$(O)/obj/analyze/record.o: BASE_CFLAGS += -DCT_LIBDIR='"$(LIBDIR)"'

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(SO) $(DESTDIR)$(LIBDIR)/libctrace.so
	install -m 0755 $(CTRACE) $(DESTDIR)$(BINDIR)/ctrace
	install -d $(DESTDIR)$(INCLUDEDIR)
	install -m 0644 preload/include/ctrace_annotate.h $(DESTDIR)$(INCLUDEDIR)/ctrace_annotate.h

# Removes what install installed (the directories stay: they may hold other files).
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libctrace.so $(DESTDIR)$(BINDIR)/ctrace \
	      $(DESTDIR)$(INCLUDEDIR)/ctrace_annotate.h

clean:
	rm -rf $(O)

help:
	@echo "libctrace targets:"
	@echo "  all       build $(SO) and $(CTRACE) (default)"
	@echo "  demo      install missing packages, build, trace examples/convoy, print the report"
	@echo "  test      install missing packages, build, run unit, bats and sanitized tests"
	@echo "  unit      C unit tests only           bats   CLI tests only"
	@echo "  bench     traced/untraced ratios of the record path, side by side"
	@echo "  bench-analyze  ctrace report --json on a generated trace: events/s and peak RSS"
	@echo "  asan      ctrace and unit tests under ASan+UBSan, bats with the sanitized ctrace"
	@echo "  fuzz      the trace reader under libFuzzer+ASan+UBSan for FUZZ_SECONDS=$(FUZZ_SECONDS)"
	@echo "  test-real real servers traced and untraced, long form (10 s of load; memcached and"
	@echo "            postgres ratios are medians of 5 pairs of runs)"
	@echo "  install   libctrace.so into DESTDIR+LIBDIR, ctrace into DESTDIR+BINDIR,"
	@echo "            ctrace_annotate.h into DESTDIR+INCLUDEDIR (PREFIX/include)"
	@echo "  uninstall remove the files install installed (same PREFIX/LIBDIR/BINDIR/DESTDIR)"
	@echo "  deps      install missing Debian packages for make test (as root) or print the"
	@echo "            apt-get line; deps-build: only what building and make demo need"
	@echo "  clean     remove $(O)/"
	@echo "knobs: CC CFLAGS CPPFLAGS LDFLAGS (on every compile and link line)"
	@echo "       WERROR=$(WERROR) (1: warnings are errors; make test sets it) V=1 O=$(O)"
	@echo "       PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) BINDIR=$(BINDIR) DESTDIR=$(DESTDIR)"

-include $(shell find $(O) -name '*.d' 2>/dev/null)
