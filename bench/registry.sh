#!/usr/bin/env bash
# Side by side: push and pull of a ~1 GB single-layer image (node:18's
# rootfs) to and from the same local registry (Debian's docker-registry on
# 127.0.0.1, plain HTTP: docker treats loopback as insecure), wharf vs
# docker. Prints the median of RUNS runs and the ratio wharf/docker
# (targets, issue 6: <= 0.2 for push and pull; a pull whose layers are
# all present < 100 ms).
#
#   bench/registry.sh                 # builds wharf (release) if needed
#   RUNS=3 ROOTFS=/path/to/rootfs.tar bench/registry.sh
#
# Fairness: each run gets a fresh registry, fresh stores and a unique
# layer (a marker file appended to the tar), so nobody
# finds a blob already there; both engines push their own import of the
# same tar (each compresses it: wharf gzips on all cores, docker with
# Go's gzip); both pull what docker pushed (the same bytes), cold: docker
# after `docker rmi`, wharf into a fresh --root. Results go to
# bench/results/registry-<date>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF_BIN=${WHARF:-${WHARF_BIN:-$(scripts/build.sh bench)}}
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS=${RUNS:-1}
PAUSE=${PAUSE:-15}
ROOTFS=${ROOTFS:-/var/cache/wharf-bench/node-18.tar}
[[ -f $ROOTFS ]] || ROOTFS=$(bench/make-rootfs.sh)

work=$(mktemp -d /var/tmp/wharf-bench-registry.XXXXXX)
docker_refs=()
cleanup() {
  registry_stop
  for r in "${docker_refs[@]}"; do "$DOCKER" rmi -f "$r" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Seconds here (over lib.sh's µs helpers of the same names).
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
settle() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep "$PAUSE"; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc -l; }
declare -A times

echo "rootfs $ROOTFS ($(du -h "$ROOTFS" | cut -f1)), load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$RUNS"); do
  # A marker file makes the layer unique: docker shares layers by diff ID
  # with any image made from the same tar (node:18 itself), and a shared
  # layer would survive `docker rmi` and make its pull a no-op.
  mkdir -p "$work/marker"
  echo "$i $$ $(date +%s%N)" >"$work/marker/wharf-bench-marker"
  cp "$ROOTFS" "$work/rootfs.tar"
  tar -rf "$work/rootfs.tar" -C "$work/marker" ./wharf-bench-marker
  registry_start "$work/registry"
  wimg=$REG/bench/node-wharf:18 dimg=$REG/bench/node-docker:18
  docker_refs+=("$dimg")
  rm -rf "$work/push-root" "$work/pull-root"
  "$WHARF" --root "$work/push-root" import "$work/rootfs.tar" "$wimg" >/dev/null
  "$DOCKER" import "$work/rootfs.tar" "$dimg" >/dev/null
  rm -f "$work/rootfs.tar"
  settle
  times[push.docker]+=" $(timed "$DOCKER" push "$dimg")"
  settle
  times[push.wharf]+=" $(timed "$WHARF" --root "$work/push-root" push "$wimg")"
  times[push-again.wharf]+=" $(timed "$WHARF" --root "$work/push-root" push "$wimg")"
  "$DOCKER" rmi "$dimg" >/dev/null
  settle
  times[pull.docker]+=" $(timed "$DOCKER" pull "$dimg")"
  settle
  times[pull.wharf]+=" $(timed "$WHARF" --root "$work/pull-root" pull "$dimg")"
  times[pull-present.wharf]+=" $(timed "$WHARF" --root "$work/pull-root" pull "$dimg")"
  times[pull-present.docker]+=" $(timed "$DOCKER" pull "$dimg")"
  "$DOCKER" rmi "$dimg" >/dev/null
  registry_stop
  rm -rf "$work/push-root" "$work/pull-root"
  for k in push.docker push.wharf push-again.wharf pull.docker pull.wharf pull-present.wharf pull-present.docker; do
    printf 'run %d  %-20s %s\n' "$i" "$k" "${times[$k]##* }" >&2
  done
done

{
  echo "registry bench $(date -Is), rootfs $(du -h "$ROOTFS" | cut -f1), $RUNS run(s), median seconds"
  printf '%-14s %9s %9s %8s\n' op docker wharf wharf/docker
  for op in push pull pull-present; do
    # shellcheck disable=SC2086
    d=$(median ${times[$op.docker]}) w=$(median ${times[$op.wharf]})
    printf '%-14s %8.3fs %8.3fs %8.3f\n' "$op" "$d" "$w" "$(echo "$w / $d" | bc -l)"
  done
  # shellcheck disable=SC2086
  printf '%-14s %9s %8.3fs\n' push-again - "$(median ${times[push-again.wharf]})"
  echo "runs (seconds):"
  for k in push.docker push.wharf pull.docker pull.wharf pull-present.docker pull-present.wharf push-again.wharf; do
    printf '  %-20s%s\n' "$k" "${times[$k]}"
  done
} | tee "bench/results/registry-$(date +%Y%m%d-%H%M).txt"
