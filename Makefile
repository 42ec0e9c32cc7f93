# Build, install and test libtailor for C/C++ toolflows. `make help` lists the targets.
PREFIX ?= /usr/local
BUILD  := .build/release
LIB    := $(BUILD)/libtailor.so
VERSION := $(shell sed -n 's/^\#define TAILOR_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' include/tailor.h | paste -sd.)
# The SONAME is libtailor.so.$(ABI), following TAILOR_ABI_VERSION (Package.swift states the same number;
# check-selfcontained fails when they disagree).
ABI    := $(shell sed -n 's/^\#define TAILOR_ABI_VERSION \([0-9]*\)/\1/p' include/tailor.h)
SOURCES := Package.swift $(shell find Sources include -type f)
CWARN  := -Wall -Wextra -Werror -pedantic
OUT    := .build/c-tests

.PHONY: examples-c sanitize sanitize-python fuzz-long valgrind python-and-fuzz test-quick test-c-consumer
.PHONY: all lib install uninstall test test-swift test-python test-c check-selfcontained fuzz-short help bench-estimate lint

all: lib

help:
	@echo "make lib                 build $(LIB) (swift build -c release)"
	@echo "make install PREFIX=dir  install tailor.h, libtailor.so and tailor.pc under dir"
	@echo "make test                lint, C/C++ consumers, self-containment check, Python tests, short fuzz run, sanitize (CI)"
	@echo "make lint                ruff (ruff.toml) on the Python code, swift format lint (.swift-format) on Sources and Tests"
	@echo "make test-swift          the Swift tests alone, plain debug build (quickest while developing)"
	@echo "make bench-estimate      time the hardware resource model from C and Python"
	@echo "make sanitize            Swift tests under ASan (+leaks) and TSan, and sanitize-python"
	@echo "make sanitize-python     C-boundary Python tests against an ASan libtailor.so (leaks checked)"
	@echo "make fuzz-long           each libFuzzer target for 10 minutes"
	@echo "make valgrind            the C/C++ consumers and the C example under valgrind memcheck"

lib: $(LIB)

# Rebuilt only when a source is newer, so `sudo make install` after a build installs what was built.
# The link named after the SONAME lets programs linked against the build tree run from it.
$(LIB): $(SOURCES)
	swift build -c release
	ln -sf libtailor.so $(BUILD)/libtailor.so.$(ABI)

# libtailor.so.$(ABI) is the library (its SONAME); libtailor.so is the link the linker's -ltailor finds.
install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/tailor.h $(DESTDIR)$(PREFIX)/include/tailor.h
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libtailor.so.$(ABI)
	ln -sf libtailor.so.$(ABI) $(DESTDIR)$(PREFIX)/lib/libtailor.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' tailor.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tailor.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/tailor.h $(DESTDIR)$(PREFIX)/lib/libtailor.so $(DESTDIR)$(PREFIX)/lib/libtailor.so.$(ABI) \
	   $(DESTDIR)$(PREFIX)/lib/pkgconfig/tailor.pc

# Every suite, one after another, each followed by its wall time so a CI log shows where the minutes go.
# The Swift tests run once, under AddressSanitizer (`sanitize`): the same tests as `test-swift`
# plus memory and leak checks, so a plain debug run on top would only cost CI another build.
# A step's targets run in one make call, so prerequisites they share run once.
TEST_STEPS := lint "test-c check-selfcontained examples-c valgrind" python-and-fuzz sanitize
test:
	@for t in $(TEST_STEPS); do s=$$(date +%s); $(MAKE) --no-print-directory $$t || exit 1; \
	   echo "== make $$t: $$(( $$(date +%s) - s )) s"; done

# Lint only, nothing is rewritten (a few seconds). ruff: the rules in ruff.toml on every Python
# file. swift format: the rules in .swift-format; its pretty-printer findings (indentation,
# spacing, line breaks, line length) cannot be configured off (swift-format issues #764, #964) and
# would demand a reformat of every file, so --debug-disable-pretty-print leaves them out and the
# grep below keeps the whitespace rules the code meets: no trailing blanks, no tabs, a final newline.
PY_DIRS := python examples bench Tests
lint:
	python3 -m ruff check $(PY_DIRS)
	swift format lint --strict --recursive --parallel --debug-disable-pretty-print --configuration .swift-format Sources Tests
	@! grep -rnP --include='*.swift' '[ \t]+$$|\t' Sources Tests || { echo "lint: trailing whitespace or tabs (above)"; exit 1; }
	@for f in $$(find Sources Tests -name '*.swift'); do [ -z "$$(tail -c1 "$$f")" ] || { echo "lint: $$f: no newline at end of file"; exit 1; }; done
	@echo "lint: clean"

# The Python suite spends minutes waiting on hls4ml's single-threaded compile and C simulation, and
# the fuzzer is one process: run side by side they share the two cores instead of queueing. The
# fuzzer's log follows the Python one; either failing fails the step.
python-and-fuzz: lib
	@mkdir -p $(OUT); $(MAKE) --no-print-directory fuzz-short > $(OUT)/fuzz-short.log 2>&1 & fuzz=$$!; \
	 $(MAKE) --no-print-directory test-python; py=$$?; wait $$fuzz; fz=$$?; \
	 cat $(OUT)/fuzz-short.log; echo "fuzz-short: exit $$fz"; [ $$py -eq 0 ] && [ $$fz -eq 0 ]

# Short libFuzzer runs of both targets under AddressSanitizer, the model-file loader and the C API
# as a program of calls (Tests/fuzz/run.sh SECONDS for longer).
fuzz-short: lib
	bash Tests/fuzz/run.sh 30 modelfile capi

test-swift:
	swift test

# The C and C++ consumers build against an installed copy through pkg-config, as a toolflow would.
test-c: lib
	rm -rf $(OUT) && mkdir -p $(OUT)
	$(MAKE) --no-print-directory install PREFIX=$(abspath $(OUT))/prefix
	PKG_CONFIG_PATH=$(OUT)/prefix/lib/pkgconfig; export PKG_CONFIG_PATH; \
	cc -std=c99 $(CWARN) Tests/c/consumer.c $$(pkg-config --cflags --libs tailor) -lm \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/consumer_c && \
	c++ -std=c++17 $(CWARN) Tests/c/consumer.cpp $$(pkg-config --cflags --libs tailor) \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/consumer_cpp && \
	cc -std=c99 $(CWARN) -pthread Tests/c/threads.c $$(pkg-config --cflags --libs tailor) -lm \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/threads && \
	cc -std=c99 $(CWARN) Tests/c/cycles.c $$(pkg-config --cflags --libs tailor) \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/cycles && \
	cc -std=c99 $(CWARN) Tests/c/fpenv.c $$(pkg-config --cflags --libs tailor) -lm \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/fpenv
	cd $(OUT) && ./consumer_c && ./consumer_cpp && ./threads && ./cycles 10000 && ./fpenv

# The C example, built like a user would: pkg-config against an installed copy, then run on a
# zoo model and on a model file, writing the JSON an HLS flow reads.
examples-c: test-c
	PKG_CONFIG_PATH=$(OUT)/prefix/lib/pkgconfig; export PKG_CONFIG_PATH; \
	cc -std=c99 $(CWARN) examples/c/fifo_depths.c $$(pkg-config --cflags --libs tailor) \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/fifo_depths
	$(OUT)/fifo_depths resnet8 --policy optimized --json $(OUT)/resnet8_fifos.json
	python3 -c "import json; d=json.load(open('$(OUT)/resnet8_fifos.json')); f=[x for x in d['fifos'] if not x['port']]; \
	   assert len(f) == 33 and all(x['depth'] == x['hls4ml_max'] + 1 for x in f), f;"
	cc -std=c99 $(CWARN) examples/c/tailor_cifar10.c $$(PKG_CONFIG_PATH=$(OUT)/prefix/lib/pkgconfig pkg-config --cflags --libs tailor) -lm \
	   -Wl,-rpath,$(abspath $(OUT))/prefix/lib -o $(OUT)/tailor_cifar10
	@# SkipRemover from C on real CIFAR-10 (a slice of it, to keep CI short), when ../shared has the data.
	@if [ -f ../shared/data/cifar10-jpeg.tar.gz ]; then \
	   [ -f $(OUT)/cifar/cifar-10-batches-bin/test_batch.bin ] || python3 ../shared/data/cifar10_to_bin.py $(OUT)/cifar >/dev/null; \
	   $(OUT)/tailor_cifar10 $(OUT)/cifar/cifar-10-batches-bin --limit 1024 --test-limit 512 --teacher-epochs 2 --every 1 \
	      --out $(OUT)/cifar_student.tailor | tee $(OUT)/tailor_cifar10.log && grep -q "^SkipRemover" $(OUT)/tailor_cifar10.log; \
	 else echo "examples-c: ../shared/data/cifar10-jpeg.tar.gz not found; tailor_cifar10 built, not run"; fi

# The C and C++ consumers and the C example under valgrind's memcheck, as a toolflow runs them:
# any invalid access, use of uninitialised memory or leak fails; what the Swift runtime keeps for the
# process's life (metadata caches) and worker threads' TLS are suppressed (Tests/c/valgrind.supp).
VALGRIND := valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
            --suppressions=$(abspath Tests/c/valgrind.supp)
valgrind: examples-c
	cd $(OUT) && $(VALGRIND) ./consumer_c >/dev/null && $(VALGRIND) ./consumer_cpp >/dev/null && \
	   $(VALGRIND) ./fifo_depths resnet8 --policy optimized >/dev/null && echo "valgrind: consumers and fifo_depths clean"

# The Swift tests under AddressSanitizer (with leak checking) and ThreadSanitizer, then the
# Python tests that cross the C boundary against an ASan build of libtailor.so.
sanitize: sanitize-python
	bash Tests/sanitizers/run.sh address
	bash Tests/sanitizers/run.sh thread

# ASan runtime preloaded into the interpreter, PYTHONMALLOC=malloc, any memory error or a leak
# attributed to libtailor fails the run (Tests/sanitizers/python_asan.sh; about 2 minutes here:
# ~35 s instrumented build, ~70 s for the 218 tests).
sanitize-python:
	bash Tests/sanitizers/python_asan.sh

# Each fuzz target for 10 minutes (the figures in the hardening notes come from this).
fuzz-long: lib
	bash Tests/fuzz/run.sh 600 modelfile capi

# Time the resource model from C (per call, median) and the Python overhead on top.
bench-estimate: lib
	mkdir -p $(OUT)
	cc -O2 -std=c99 $(CWARN) -Iinclude bench/estimate_bench.c -L$(BUILD) -ltailor -Wl,-rpath,$(abspath $(BUILD)) -o $(OUT)/estimate_bench
	$(OUT)/estimate_bench
	TAILOR_LIBRARY=$(abspath $(LIB)) python3 bench/estimate_bench.py

# The library must load with no Swift toolchain: no libswift*/libFoundation* in NEEDED, only
# tailor_* exported, and the C consumer must run with /opt/swift hidden (private mount namespace).
check-selfcontained: test-c
	@! readelf -d $(LIB) | grep -E 'NEEDED.*(swift|Foundation|dispatch)' || { echo "libtailor.so needs Swift runtime libraries"; exit 1; }
	@readelf -d $(LIB) | grep -q 'SONAME.*\[libtailor.so.$(ABI)\]' || { echo "libtailor.so's SONAME is not libtailor.so.$(ABI)"; exit 1; }
	@readelf -d $(OUT)/consumer_c | grep -q 'NEEDED.*\[libtailor.so.$(ABI)\]' || { echo "the consumer does not record libtailor.so.$(ABI)"; exit 1; }
	@test -z "$$(nm -D --defined-only $(LIB) | awk '$$2 ~ /[A-Z]/ && $$3 !~ /^tailor_/')" || { echo "symbols other than tailor_* exported"; exit 1; }
	@if [ -d /opt/swift ] && unshare -m true 2>/dev/null; then \
	   unshare -m sh -c 'mount -t tmpfs none /opt/swift && cd $(OUT) && ./consumer_c >/dev/null' && \
	   echo "self-contained: consumer runs with /opt/swift hidden"; \
	 else ./$(OUT)/consumer_c >/dev/null && echo "self-contained: NEEDED and exports checked (no mount namespace here)"; fi
	@echo "libtailor.so: $$(stat -c %s $(LIB)) bytes; NEEDED: $$(readelf -d $(LIB) | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | paste -sd' ')"

# Everyday work: the library, the C consumer and the Python suite without the slow peer checks
# and stress runs (tests marked slow in python/tests/conftest.py). CI (`make test`) runs everything.
test-quick: lib
	@s=$$(date +%s); $(MAKE) --no-print-directory test-c-consumer && \
	 cd python && TAILOR_LIBRARY=$(abspath $(LIB)) python3 -m pytest -q -m "not slow" tests && \
	 echo "== make test-quick: $$(( $$(date +%s) - s )) s"

# The C consumer alone, linked against the build tree (test-c installs and runs every consumer).
test-c-consumer: lib
	@mkdir -p $(OUT)
	cc -std=c99 $(CWARN) -Iinclude Tests/c/consumer.c -L$(BUILD) -ltailor -lm -Wl,-rpath,$(abspath $(BUILD)) -o $(OUT)/consumer_quick
	cd $(OUT) && ./consumer_quick | tail -1

test-python: lib
	cd python && TAILOR_LIBRARY=$(abspath $(LIB)) python3 -m pytest -q --durations=10 tests
