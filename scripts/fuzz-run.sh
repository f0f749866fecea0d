#!/usr/bin/env bash
# The run half of `make fuzz`: each fuzz target (built into .build-fuzz/release by `make
# fuzz-build`, seeds from scripts/fuzz-corpus.sh) runs until FUZZ_RUNS executions (default
# 1,000,000) or FUZZ_SECONDS seconds (default 300), whichever comes first, with a 10 s limit per
# input (a slow input is a finding) and 2 GiB of memory. The corpus each target grows stays in
# .build-fuzz/corpus/<target> for the next run; crashing, slow and memory-hungry inputs go to
# fuzz/findings/<target>/. Prints executions and findings per target, writes the table into the
# "Fuzzing (make fuzz)" section of docs/RELIABILITY.md, and fails when anything was found.
# FUZZ_TARGETS picks targets (default: all four), FUZZ_DOC another document (or /dev/null),
# FUZZ_TABLE where the table goes (two runs side by side each need their own).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.build-fuzz/release
seeds=.build-fuzz/seeds
corpus=.build-fuzz/corpus
logs=.build-fuzz/logs
findings=fuzz/findings
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-300}
targets=${FUZZ_TARGETS:-fuzz-config-json fuzz-scenario fuzz-manifest fuzz-sidecar}
doc=${FUZZ_DOC:-docs/RELIABILITY.md}
table=${FUZZ_TABLE:-.build-fuzz/fuzz-summary.md}
mkdir -p "$logs"
# No leak checks (the Swift runtime keeps caches LeakSanitizer would report) and no allocation
# stack traces (a quarter of the time of the YAML targets went into recording them); Swift's own
# crash backtracer stays off, since it trips over ASan's shadow memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:malloc_context_size=0}
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT

final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

{
    echo "Each target ran until $runs executions or $seconds s, whichever came first (\`-runs=$runs"
    echo "-max_total_time=$seconds -timeout=10 -rss_limit_mb=2048\`, \`-max_len=4096\` for the YAML targets),"
    echo "built with \`--sanitize=fuzzer --sanitize=address\` in release mode, from the seeds of"
    echo "scripts/fuzz-corpus.sh plus the corpus earlier runs left in .build-fuzz/corpus."
    echo
    echo "| target | executions | exec/s | seconds | corpus (files) | edges covered / instrumented | peak RSS (MB) | findings |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$table"
total_findings=0
for target in $targets; do
    mkdir -p "$corpus/$target" "$findings/$target"
    options=()
    [ -f "$seeds/$target.dict" ] && options+=(-dict="$seeds/$target.dict")
    # Parsing YAML costs about 2 ms per KiB under the sanitizers: the YAML targets get small inputs
    # (their seeds are cut to fit, scripts/fuzz-corpus.sh).
    case $target in fuzz-scenario|fuzz-manifest) options+=(-max_len=4096) ;; esac
    log="$logs/$target.log"
    # A binary whose Swift code lacks coverage counters fuzzes blind (seen once from a first build
    # in a fresh scratch path): refuse it rather than report its numbers.
    counters=$("$bin/$target" -runs=0 2>&1 | sed -n 's/.*Loaded [0-9]* modules *(\([0-9]*\) inline 8-bit counters).*/\1/p' | head -1)
    if [ "${counters:-0}" -lt 10000 ]; then
        echo "fuzz: $target has ${counters:-no} coverage counters: not instrumented; rebuild it (rm -rf .build-fuzz; make fuzz-build)" >&2
        exit 2
    fi
    echo "fuzz: $target (log $log)"
    start=$(date +%s)
    "$bin/$target" "$corpus/$target" "$seeds/$target" "${options[@]}" \
        -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$findings/$target/" > "$log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - start ))
    executions=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    rss=$(final_stat peak_rss_mb "$log")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    files=$(find "$corpus/$target" -type f | wc -l)
    found=$(find "$findings/$target" -type f -newer "$marker" | wc -l)
    if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi # stopped without an artifact: still a finding
    total_findings=$((total_findings + found))
    echo "| $target | ${executions:-?} | ${rate:-?} | $elapsed | $files | ${coverage:-?} / $counters | ${rss:-?} | $found |" >> "$table"
    echo "fuzz: $target: ${executions:-?} executions, ${rate:-?}/s, $files corpus files, $found findings (exit $status)"
    find "$findings/$target" -type f -newer "$marker" | sed 's/^/fuzz:   /'
done

if [ "$doc" != /dev/null ]; then ./scripts/splice-benchmarks.py "Fuzzing (make fuzz)" "make fuzz" "$table" "$doc"; fi
cat "$table"
[ "$total_findings" -eq 0 ]
