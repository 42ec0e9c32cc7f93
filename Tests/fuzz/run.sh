#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer (clang from the Swift toolchain) and runs
# each for SECONDS (default 60). Usage: Tests/fuzz/run.sh [SECONDS]. Exits non-zero on a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=.build/fuzz
mkdir -p "$out"
[ -f .build/release/libtailor.so ] || swift build -c release
# Sources without the C entry points (the target calls the Swift core directly).
mapfile -t srcs < <(find Sources/TailorSwift -name '*.swift' -not -path '*/CABI/*' | sort)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name TailorSwift \
    -I Tests/fuzz -I Sources/COpenBLAS "${srcs[@]}" Tests/fuzz/ModelFileFuzz.swift -lopenblas -o "$out/fuzz_modelfile"
rm -rf "$out/corpus_modelfile" && mkdir -p "$out/corpus_modelfile"
python3 Tests/fuzz/make_seeds.py .build/release/libtailor.so "$out/corpus_modelfile"
"$out/fuzz_modelfile" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
    "$out/corpus_modelfile" 2>&1 | tee "$out/modelfile.log" | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR)|Done" || true
grep -q "ERROR: libFuzzer\|ERROR: AddressSanitizer" "$out/modelfile.log" && { echo "fuzz_modelfile: crash found, see $out/modelfile.log"; exit 1; }
echo "fuzz_modelfile: no crash in ${secs}s"
