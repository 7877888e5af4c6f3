#!/usr/bin/env bash
# Side by side: import, save and load of a ~1 GB rootfs, wharf vs docker.
# Prints the median of RUNS runs of each and the ratio docker/wharf
# (higher = wharf faster). Target (issue 2): >= 3x for each.
#
#   bench/image-store.sh            # builds wharf (release) and the rootfs if needed
#   RUNS=5 ROOTFS=/path/to/rootfs.tar bench/image-store.sh
#
# Fairness: every run imports its own copy of the rootfs with a unique
# marker file, so neither engine already holds the layer (docker shares
# layers with any image made from the same tar). Deletions happen only
# between phases, followed by a pause: on an ext4 without journal (these
# VMs) inode allocation crawls for ~35 s after mass deletes, whoever
# created or deleted the files.
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=$(scripts/build.sh bench)
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-3}
PAUSE=${PAUSE:-40}
ROOTFS=${ROOTFS:-$(scripts/node-images.sh | head -1)}

"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }
work=$(mktemp -d /var/tmp/wharf-bench.XXXXXX)
export WHARF_ROOT=$work/root
refs=()
for i in $(seq "$RUNS"); do refs+=("wharf-bench/store:$i-$$"); done
cleanup() {
  for r in "${refs[@]}"; do "$DOCKER" rmi -f "$r" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "preparing $RUNS copies of $ROOTFS ($(du -h "$ROOTFS" | cut -f1))" >&2
for i in $(seq "$RUNS"); do
  mkdir -p "$work/marker"
  echo "$i $$ $(date +%s%N)" >"$work/marker/wharf-bench-marker"
  cp "$ROOTFS" "$work/rootfs-$i.tar"
  tar -rf "$work/rootfs-$i.tar" -C "$work/marker" ./wharf-bench-marker
done

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
settle() { sync; sleep "$PAUSE"; }
declare -A results
# phase NAME TOOL CMD-TEMPLATE... ; "%i" in the arguments becomes the run number
phase() {
  local name=$1 tool=$2; shift 2
  local times=() i t0 t1 args
  for i in $(seq "$RUNS"); do
    args=("${@//%i/$i}")
    sync; echo 3 >/proc/sys/vm/drop_caches
    t0=$(now); "${args[@]}" >/dev/null; t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  results[$name.$tool]=$(median "${times[@]}")
  printf '%-7s %-7s %7.2f s   (%s)\n' "$name" "$tool" "${results[$name.$tool]}" "${times[*]}" >&2
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
settle
phase import docker "$DOCKER" import "$work/rootfs-%i.tar" "wharf-bench/store:%i-$$"
phase import wharf "$WHARF" import "$work/rootfs-%i.tar" "wharf-bench/store:%i-$$"
phase save docker "$DOCKER" save -o "$work/docker-%i.tar" "wharf-bench/store:%i-$$"
phase save wharf "$WHARF" save -o "$work/wharf-%i.tar" "wharf-bench/store:%i-$$"
for r in "${refs[@]}"; do "$DOCKER" rmi "$r" >/dev/null; "$WHARF" rmi "$r" >/dev/null; done
settle
phase load docker "$DOCKER" load -i "$work/docker-%i.tar"
phase load wharf "$WHARF" load -i "$work/wharf-%i.tar"

printf '\n%-7s %9s %9s %7s\n' op docker wharf ratio
for op in import save load; do
  d=${results[$op.docker]} w=${results[$op.wharf]}
  printf '%-7s %8.2fs %8.2fs %6.1fx\n' "$op" "$d" "$w" "$(echo "$d / $w" | bc -l)"
done
