#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer (clang from the Swift toolchain) and runs
# each for SECONDS (default 60):
#   modelfile — arbitrary bytes into the model-file loader;
#   capi      — bytes read as a program of C API calls on a few handles, training included.
# Each starts from the committed seeds (Tests/fuzz/seeds/TARGET, written by make_seeds.py) plus
# whatever earlier runs added to .build/fuzz/corpus_TARGET.
# Usage: Tests/fuzz/run.sh [SECONDS] [TARGET...]. Exits non-zero when a target crashes.
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
for t in "${targets[@]}"; do
    case $t in
        modelfile) file=ModelFileFuzz.swift; maxlen=65536 ;;
        capi) file=CAPIFuzz.swift; maxlen=512 ;;
        *) echo "unknown fuzz target '$t' (modelfile, capi)"; exit 2 ;;
    esac
    rm -f "$out/fuzz_$t"
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name TailorSwift \
        -I Tests/fuzz -I Sources/COpenBLAS "${srcs[@]}" "Tests/fuzz/$file" -lopenblas -o "$out/fuzz_$t" 2>&1 \
        | grep -v "Cannot export local symbol" || true
    # A target that did not build must fail the run, not fall back to an old binary.
    [ -x "$out/fuzz_$t" ] || { echo "fuzz_$t: build failed"; exit 1; }
    corpus="$out/corpus_$t"
    mkdir -p "$corpus"
    for s in Tests/fuzz/seeds/"$t"/*; do [ -e "$corpus/${s##*/}" ] || cp "$s" "$corpus"/; done
    (cd "$out" && "./fuzz_$t" -max_total_time="$secs" -max_len=$maxlen -rss_limit_mb=6000 -print_final_stats=1 \
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
