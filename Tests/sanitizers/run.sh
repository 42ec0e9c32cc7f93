#!/usr/bin/env bash
# The Swift test suite under a sanitizer: Tests/sanitizers/run.sh address|thread [swift test args].
# AddressSanitizer also checks leaks (LeakSanitizer); the only suppression is the toolchain's
# XCTest runner (lsan.supp). Each sanitizer builds in its own scratch path.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-address}; shift || true
case $kind in address|thread) ;; *) echo "usage: $0 address|thread"; exit 2 ;; esac
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$PWD/Tests/sanitizers/lsan.supp:print_suppressions=0
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
swift test --sanitize="$kind" --scratch-path ".build-$kind" "$@"
echo "sanitizer $kind: Swift tests clean"
