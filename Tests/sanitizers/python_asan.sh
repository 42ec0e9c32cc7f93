#!/usr/bin/env bash
# The Python tests that cross the C boundary (predict, train, files, errors, hostile, estimate…)
# against a libtailor.so built with AddressSanitizer, the ASan runtime preloaded into the
# interpreter and CPython's own allocator off (PYTHONMALLOC=malloc), so every malloc/free on
# either side of the boundary is checked.
#
#   Tests/sanitizers/python_asan.sh [pytest args]    (default: the C-boundary test files)
#
# Memory errors (overflow, use after free, double free…) anywhere abort the process that hit them
# and fail the run. Leaks: LeakSanitizer runs in every interpreter (the children test_hostile
# starts too) and writes its report to .build-asan-py/reports/; CPython, numpy and torch keep
# objects alive until exit by design, so instead of a suppression list that would have to name
# every frame of theirs, leak_filter.py counts a leak as ours when its allocation stack reaches
# libtailor.so before it reaches the interpreter or an extension module, and the run fails on any
# such leak. Its summary line gives both counts.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
scratch=.build-asan-py
reports=$root/$scratch/reports

nice -n 10 swift build -c release --scratch-path "$scratch" -Xswiftc -sanitize=address 2>&1 | grep -v "Cannot export local symbol" | tail -3
lib=$root/$scratch/release/libtailor.so
nm -D "$lib" | grep __asan_init >/dev/null || { echo "python_asan: $lib is not instrumented"; exit 1; }
# The toolchain's ASan runtime (the one swiftc instrumented against).
runtime=$(ls "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.asan-x86_64.so | head -1)
[ -f "$runtime" ] || { echo "python_asan: no libclang_rt.asan-x86_64.so in the Swift toolchain"; exit 1; }

rm -rf "$reports" && mkdir -p "$reports"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/test_predict.py tests/test_train.py tests/test_files.py tests/test_errors.py
                                 tests/test_hostile.py tests/test_estimate.py tests/test_build.py tests/test_skips.py)
# exitcode=0: a leak must not change a child's exit status (test_hostile asserts it); leak_filter
# decides. alloc_dealloc_mismatch=0: torch/numpy's C++ mix new[]/free in ways unrelated to us.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:alloc_dealloc_mismatch=0:detect_odr_violation=0:log_path=$reports/asan:print_suppressions=0"
export LSAN_OPTIONS="exitcode=0:max_leaks=0:report_objects=0"
export PYTHONMALLOC=malloc
export SWIFT_BACKTRACE=enable=no
status=0
(cd python && LD_PRELOAD="$runtime" TAILOR_LIBRARY="$lib" python3 -m pytest -q -p no:cacheprovider "${tests[@]}") || status=$?
python3 Tests/sanitizers/leak_filter.py "$reports" || status=1
[ $status -eq 0 ] && echo "python_asan: clean (no memory errors, no leaks from libtailor)"
exit $status
