#!/usr/bin/env bash
# Runs every libFuzzer target of a `make fuzz` build for SECONDS each on its
# seed corpus (fuzz/corpus/<target> from the tree plus the generated binary
# seeds), with the limits of fuzz/README.md, and prints one summary line per
# target (executions, coverage, corpus size). Exits non-zero on the first
# crash, leak, timeout or out-of-memory; libFuzzer writes the input to
# BUILD/fuzz/artifacts/. FUZZ_RUNS=N also stops a target after N executions
# (the long run: 10^7 executions or two hours, whichever comes first).
# FUZZ_TIMEOUT=S raises the per-input limit (default 2 s) for a run at low
# priority beside other work, where wall-clock time is not the input's.
#   scripts/run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]
set -euo pipefail
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
work="$build/fuzz/work"
mkdir -p "$work/seeds" "$build/fuzz/artifacts"
"$build/fuzz/encmol_fuzz_seeds" "$work/seeds" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$build"/fuzz/*_fuzz; do targets+=("$(basename "$t")"); done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  [ -d "$root/fuzz/corpus/$t" ] && cp -n "$root/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  [ -d "$work/seeds/$t" ] && cp -n "$work/seeds/$t"/* "$corpus"/ 2>/dev/null || true
  log="$work/$t.log"
  dict=()
  [ -f "$root/fuzz/$t.dict" ] && dict=("-dict=$root/fuzz/$t.dict")
  if "$build/fuzz/$t" "$corpus" "${dict[@]}" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-2}" \
      -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$t-" >"$log" 2>&1; then
    runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/.* cov: ([0-9]+).* ft: ([0-9]+).* corp: ([0-9]+).*/cov \1 ft \2 corpus \3/')
    printf '%-22s %10s runs  %s\n' "$t" "$runs" "$cov"
  else
    echo "$t: FAILED (log: $log)"
    grep -E 'ERROR|invariant|Test unit written|SUMMARY' "$log" | head -8
    status=1
  fi
done
exit $status
