#!/usr/bin/env bash
# Build and run wharf's fuzz targets (fuzz/, cargo-fuzz on nightly, libFuzzer
# with AddressSanitizer), each for SECONDS (default 600), at most JOBS (default
# 2) at a time, under `nice -n 19`. Usage:
#   scripts/fuzz.sh [SECONDS] [TARGET...]   fuzz (all targets by default)
#   scripts/fuzz.sh --check                 only check that the targets compile
# Seeds are fuzz/corpus/TARGET (committed); what a run finds goes to
# fuzz/work/TARGET, crashes to fuzz/artifacts/TARGET, logs to fuzz/logs. The
# last line prints per target: execs, execs/s, coverage, and the result.
# Needs root (the file-writing targets confine themselves in a mount
# namespace, see fuzz/src/lib.rs) and `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-/var/tmp/wharf-target-fuzz}
export CARGO_INCREMENTAL=0
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}

if [[ ${1:-} == --check ]]; then
  exec cargo "+$TOOLCHAIN" check --manifest-path fuzz/Cargo.toml --bins -q
fi

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
seconds=${1:-600}
[[ $# -gt 0 ]] && shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo "+$TOOLCHAIN" fuzz list)
fi
jobs=${JOBS:-2}

nice -n 19 cargo "+$TOOLCHAIN" fuzz build -O
mkdir -p fuzz/logs

run_one() {
  local t=$1
  mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
  # The work dir comes first: libFuzzer writes what it finds there and only
  # reads the committed seeds.
  nice -n 19 cargo "+$TOOLCHAIN" fuzz run -O "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"fuzz/logs/$t.log" 2>&1
}

summary() {
  local t=$1 rc=$2 log=fuzz/logs/$1.log
  local cov execs rate
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | cut -d' ' -f2)
  rate=$(grep -o 'stat::average_exec_per_sec: [0-9]*' "$log" | cut -d' ' -f2)
  local result=ok
  [[ $rc -ne 0 ]] && result="FAILED (rc $rc; see $log and fuzz/artifacts/$t)"
  printf '%-14s execs %-10s exec/s %-7s cov %-6s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result"
}

declare -A pids=()
status=0
for t in "${targets[@]}"; do
  while [[ ${#pids[@]} -ge $jobs ]]; do
    wait -n || true
    for p in "${!pids[@]}"; do
      if ! kill -0 "$p" 2>/dev/null; then
        wait "$p" && rc=0 || rc=$?
        summary "${pids[$p]}" "$rc"
        [[ $rc -eq 0 ]] || status=1
        unset "pids[$p]"
      fi
    done
  done
  run_one "$t" &
  pids[$!]=$t
done
for p in "${!pids[@]}"; do
  wait "$p" && rc=0 || rc=$?
  summary "${pids[$p]}" "$rc"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
