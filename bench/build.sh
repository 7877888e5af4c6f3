#!/usr/bin/env bash
# Side by side: the seed-002 app (examples/node-multi-stage) built by wharf
# and by docker+BuildKit, same base images (scripts/node-images.sh), same
# context. Prints medians and ratios docker/wharf.
# Targets (issue 5): cached rebuild >= 5x faster, rebuild after editing
# server.js <= 0.3x docker's time, cold build no slower, image no larger.
#
#   bench/build.sh          # RUNS=5 by default; needs dockerd running
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=$(scripts/build.sh bench)
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-5}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }
export DOCKER_BUILDKIT=1

work=$(mktemp -d /var/tmp/wharf-bench-build.XXXXXX)
export WHARF_ROOT=$work/root
TAG=wharf-bench/seed-node:multi
cleanup() {
  "$DOCKER" rmi -f "$TAG" >/dev/null 2>&1 || true
  "$DOCKER" image prune -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

CHANGES=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
mapfile -t tars < <(scripts/node-images.sh)
"$WHARF" import "${CHANGES[@]}" "${tars[0]}" node:18 >/dev/null
"$WHARF" import "${CHANGES[@]}" "${tars[1]}" node:18-slim >/dev/null
for ref in node:18 node:18-slim; do
  "$DOCKER" image inspect "$ref" >/dev/null 2>&1 ||
    "$DOCKER" import "${CHANGES[@]}" "${tars[$([[ $ref == node:18 ]] && echo 0 || echo 1)]}" "$ref" >/dev/null
done
cp -a examples/node-multi-stage "$work/ctx"

now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
timed() { local s; s=$(now); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ($(now) - s) / 1000 )); }
declare -A res

for tool in docker wharf; do
  bin=$DOCKER; [[ $tool == wharf ]] && bin=$WHARF
  cold=() cached=() edit=()
  for i in $(seq "$RUNS"); do
    cold+=("$(timed "$bin" build --no-cache -t "$TAG" "$work/ctx")")
    cached+=("$(timed "$bin" build -t "$TAG" "$work/ctx")")
    echo "// edit $tool $i" >>"$work/ctx/server.js"
    edit+=("$(timed "$bin" build -t "$TAG" "$work/ctx")")
  done
  res[cold.$tool]=$(median "${cold[@]}")
  res[cached.$tool]=$(median "${cached[@]}")
  res[edit.$tool]=$(median "${edit[@]}")
  res[size.$tool]=$("$bin" image inspect --format '{{.Size}}' "$TAG")
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS"
printf '\n%-34s %10s %10s %8s\n' metric docker wharf docker/wharf
for m in cold cached edit; do
  d=${res[$m.docker]} w=${res[$m.wharf]}
  case $m in
    cold) label="cold build, --no-cache (s)" ;;
    cached) label="rebuild, all cached (s)" ;;
    edit) label="rebuild after editing server.js (s)" ;;
  esac
  printf '%-34s %10.3f %10.3f %7.1fx\n' "$label" "$(echo "$d/1000000" | bc -l)" "$(echo "$w/1000000" | bc -l)" "$(echo "$d/$w" | bc -l)"
done
printf '%-34s %10.1f %10.1f\n' "final image size (MB)" "$(echo "${res[size.docker]}/1000000" | bc -l)" "$(echo "${res[size.wharf]}/1000000" | bc -l)"
