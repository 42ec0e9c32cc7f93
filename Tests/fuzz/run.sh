#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer (clang from the Swift toolchain) and runs
# each for SECONDS (default 60):
#   modelfile — arbitrary bytes into the model-file loader;
#   capi      — bytes read as a program of C API calls on a few handles, training included.
# Each starts from the committed seeds (Tests/fuzz/seeds/TARGET, written by make_seeds.py) plus
# whatever earlier runs added to .build/fuzz/corpus_TARGET.
# Usage: Tests/fuzz/run.sh [SECONDS] [TARGET...]. Exits non-zero when a target crashes; replay a
# crash with TAILOR_FUZZ_TARGET=TARGET .build/fuzz/fuzz_tailor .build/fuzz/crash_TARGET_...
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}; shift || true
targets=("${@:-modelfile capi}")
read -r -a targets <<< "${targets[*]}"
out=.build/fuzz
mkdir -p "$out"
[ -f .build/release/libtailor.so ] || swift build -c release
mapfile -t srcs < <(find Sources/TailorSwift -name '*.swift' | sort)
status=0
# A crash is libFuzzer's to report: the Swift runtime's interactive backtracer would hold the
# process (and this script) up.
export SWIFT_BACKTRACE=enable=no
# One binary holds both targets (FuzzEntry.swift dispatches on TAILOR_FUZZ_TARGET): the library's
# sources are compiled with the fuzzer instrumentation once, not once per target.
rm -f "$out/fuzz_tailor"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name TailorSwift \
    -I Tests/fuzz -I Sources/COpenBLAS "${srcs[@]}" Tests/fuzz/FuzzEntry.swift Tests/fuzz/ModelFileFuzz.swift \
    Tests/fuzz/CAPIFuzz.swift -lopenblas -o "$out/fuzz_tailor" 2>&1 | grep -v "Cannot export local symbol" || true
# A binary that did not build must fail the run, not fall back to an old one.
[ -x "$out/fuzz_tailor" ] || { echo "fuzz_tailor: build failed"; exit 1; }
for t in "${targets[@]}"; do
    case $t in
        modelfile) maxlen=65536 ;;
        capi) maxlen=512 ;;
        *) echo "unknown fuzz target '$t' (modelfile, capi)"; exit 2 ;;
    esac
    corpus="$out/corpus_$t"
    mkdir -p "$corpus"
    for s in Tests/fuzz/seeds/"$t"/*; do [ -e "$corpus/${s##*/}" ] || cp "$s" "$corpus"/; done
    (cd "$out" && TAILOR_FUZZ_TARGET=$t ./fuzz_tailor -max_total_time="$secs" -max_len=$maxlen -rss_limit_mb=6000 -print_final_stats=1 \
        -artifact_prefix="crash_${t}_" "corpus_$t" > "$t.log" 2>&1) || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$out/$t.log" | tail -1)
    if grep -q "ERROR: libFuzzer\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|deadly signal\|Test unit written" "$out/$t.log"; then
        echo "fuzz_$t: CRASH after ${runs:-?} runs, see $out/$t.log and $out/crash_${t}_*"; status=1
    else
        echo "fuzz_$t: ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs, no crash"
    fi
done
exit $status
