#!/usr/bin/env bash
# Side by side: import, save and load of a ~1 GB rootfs, wharf vs docker.
# Prints the median of RUNS runs of each and the ratio docker/wharf
# (higher = wharf faster). Target (issue 2): >= 3x for each.
#
#   bench/image-store.sh            # builds wharf (release) and the rootfs if needed
#   RUNS=5 ROOTFS=/path/to/rootfs.tar bench/image-store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/wharf-target}
cargo build --release -q -p wharf
WHARF=$CARGO_TARGET_DIR/release/wharf
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-3}
ROOTFS=${ROOTFS:-$(bench/make-rootfs.sh)}

"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }
work=$(mktemp -d /var/tmp/wharf-bench.XXXXXX)
export WHARF_ROOT=$work/root
REF=wharf-bench/store:1
cleanup() {
  "$DOCKER" rmi -f "$REF" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
# time_it CMD... -> seconds on stdout
time_it() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A results
run_case() { # NAME TOOL PREP-FN CMD...
  local name=$1 tool=$2 prep=$3; shift 3
  local times=()
  for _ in $(seq "$RUNS"); do
    $prep
    sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
    times+=("$(time_it "$@")")
  done
  results[$name.$tool]=$(median "${times[@]}")
  printf '%-8s %-7s %8.2f s   (%s)\n' "$name" "$tool" "${results[$name.$tool]}" "${times[*]}" >&2
}

d_clean() { "$DOCKER" rmi -f "$REF" >/dev/null 2>&1 || true; }
w_clean() { "$WHARF" rmi -f "$REF" >/dev/null 2>&1 || true; "$WHARF" image prune -af >/dev/null 2>&1 || true; }
noop() { :; }

echo "rootfs: $ROOTFS ($(du -h "$ROOTFS" | cut -f1)), runs: $RUNS, load: $(cut -d' ' -f1 /proc/loadavg)" >&2
run_case import docker d_clean "$DOCKER" import "$ROOTFS" "$REF"
run_case import wharf w_clean "$WHARF" import "$ROOTFS" "$REF"
run_case save docker noop "$DOCKER" save -o "$work/d.tar" "$REF"
run_case save wharf noop "$WHARF" save -o "$work/w.tar" "$REF"
run_case load docker d_clean "$DOCKER" load -i "$work/d.tar"
run_case load wharf w_clean "$WHARF" load -i "$work/w.tar"

printf '\n%-8s %10s %10s %8s\n' op docker wharf ratio
for op in import save load; do
  d=${results[$op.docker]} w=${results[$op.wharf]}
  printf '%-8s %9.2fs %9.2fs %7.1fx\n' "$op" "$d" "$w" "$(echo "$d / $w" | bc -l)"
done
