#!/usr/bin/env bash
# Side by side: the Compose walkthrough's project (examples/compose-visits:
# a Node.js app built from . and Redis with a named volume, app scaled to
# 3 on ports 3000-3002) brought up and down by `wharf compose` and by
# `docker compose` (v2.40, the plugin) on dockerd, same images (made by
# scripts/debian-image.sh, the app built once by each tool, untimed).
# Prints medians and ratios docker/wharf; results go to bench/results/.
# Targets (issue 12): up -d and down >= 10x faster than docker compose, a
# second `up -d` with nothing changed under 50 ms.
# `down` waits for redis, which acts on SIGTERM at its next serverCron tick
# (10 Hz): 0-100 ms by the phase, the same under both tools. The floor
# rows measure that alone (bench/sigterm-exit.py, no engine between), and
# the ceiling it sets on down's ratio. A median of a uniform 0-100 ms wait
# moves by ~9 ms at 31 runs: run 61 or more to compare down's figures.
#
#   bench/compose.sh [RUNS]     # default 5; needs dockerd and docker compose
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
WHARF=${WHARF:-$(scripts/build.sh bench)}
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${1:-${RUNS:-5}}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }
"$DOCKER" compose version >/dev/null 2>&1 || { echo "docker compose is missing: scripts/deps.sh bench" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-compose.XXXXXX)
export WHARF_ROOT=$work/root
P=benchcompose
cp -a examples/compose-visits "$work/app"
FILES=(-f docker-compose.yml -f docker-compose.scale.yml -p "$P")
cleanup() {
  (cd "$work/app" && "$DOCKER" compose "${FILES[@]}" down -v -t 0 >/dev/null 2>&1 || true)
  "$DOCKER" rmi -f "$P-app" >/dev/null 2>&1 || true
  "$DOCKER" rm -f "$P-floor" >/dev/null 2>&1 || true
  "$DOCKER" volume rm "$P-floor" >/dev/null 2>&1 || true
  [[ -e $WHARF_ROOT/db.sqlite ]] && { "$WHARF" rm -f "$P-floor" >/dev/null 2>&1 || true; }
  # The root keeps its default bridge (the build's steps ran on it) while
  # it lives: `system prune` frees it, as bench/leaks.sh does.
  [[ -e $WHARF_ROOT/db.sqlite ]] && "$WHARF" system prune -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Base images in both stores (docker keeps them for the next run, as
# bench/build.sh does with node:18).
node_tar=$(scripts/node-images.sh | sed -n 1p)
redis_tar=$(scripts/debian-image.sh redis-7 --no-install-recommends redis-server)
NODE=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
REDIS=(--change 'EXPOSE 6379' --change 'CMD ["redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]')
"$WHARF" import "${NODE[@]}" "$node_tar" node:18 >/dev/null
"$WHARF" import "${REDIS[@]}" "$redis_tar" redis:7 >/dev/null
"$DOCKER" image inspect node:18 >/dev/null 2>&1 || "$DOCKER" import "${NODE[@]}" "$node_tar" node:18 >/dev/null
"$DOCKER" image inspect redis:7 >/dev/null 2>&1 || "$DOCKER" import "${REDIS[@]}" "$redis_tar" redis:7 >/dev/null

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# µs from $EPOCHREALTIME, read in place: a `date` started inside the
# sample added ~1 ms to both tools' figures.
timed() { local s; s=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ${EPOCHREALTIME/./} - s )); }
# Until the three apps answer: `down` then stops running apps (node
# ignores SIGTERM until its handler is installed, as PID 1 does).
ready() {
  for port in 3000 3001 3002; do
    for _ in $(seq 1 200); do curl -fsS "http://localhost:$port" >/dev/null 2>&1 && break; sleep 0.05; done
  done
}
declare -A res

cd "$work/app"
for tool in docker wharf; do
  compose=("$DOCKER" compose); [[ $tool == wharf ]] && compose=("$WHARF" compose)
  "${compose[@]}" "${FILES[@]}" build >/dev/null 2>&1
  up=() again=() down=()
  for _ in $(seq "$RUNS"); do
    up+=("$(timed "${compose[@]}" "${FILES[@]}" up -d --scale app=3)")
    again+=("$(timed "${compose[@]}" "${FILES[@]}" up -d --scale app=3)")
    ready
    # Redis acts on SIGTERM at its next serverCron tick (10 Hz): `down`
    # waits 0-100 ms for it, by the phase of redis's clock at the signal.
    # A loop this regular hits about the same phase every time (one run of
    # 9 had wharf's median at 35 ms, the next at 115); a random pause
    # (untimed) spreads the phase, for both tools alike.
    sleep "0.$(printf '%03d' $((RANDOM % 100)))"
    down+=("$(timed "${compose[@]}" "${FILES[@]}" down)")
  done
  "${compose[@]}" "${FILES[@]}" down -v >/dev/null 2>&1
  # The floor under `down`: redis alone, signalled by this script and its
  # exit seen through a pidfd, no engine between (bench/sigterm-exit.py);
  # same image, a named volume, a write first, the same random phase.
  cli=("$DOCKER"); [[ $tool == wharf ]] && cli=("$WHARF")
  floor=()
  for _ in $(seq "$RUNS"); do
    "${cli[@]}" run -d --name "$P-floor" -v "$P-floor:/data" redis:7 >/dev/null
    until "${cli[@]}" exec "$P-floor" redis-cli incr visits >/dev/null 2>&1; do sleep 0.02; done
    pid=$("${cli[@]}" inspect -f '{{.State.Pid}}' "$P-floor")
    sleep "0.$(printf '%03d' $((RANDOM % 100)))"
    floor+=("$(python3 "$here/bench/sigterm-exit.py" "$pid")")
    "${cli[@]}" rm -f "$P-floor" >/dev/null
  done
  "${cli[@]}" volume rm "$P-floor" >/dev/null
  res[floor.$tool]=$(median "${floor[@]}")
  res[up.$tool]=$(median "${up[@]}")
  res[again.$tool]=$(median "${again[@]}")
  res[down.$tool]=$(median "${down[@]}")
done
cd - >/dev/null

out=$(
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS"
  printf '\n%-40s %10s %10s %8s\n' metric docker wharf docker/wharf
  row() { # row LABEL METRIC: the medians in ms and their ratio
    local d=${res[$2.docker]} w=${res[$2.wharf]}
    printf '%-40s %10.1f %10.1f %7.1fx\n' "$1" "$(echo "$d/1000" | bc -l)" "$(echo "$w/1000" | bc -l)" "$(echo "$d/$w" | bc -l)"
  }
  row "up -d, app=3 + redis, from nothing (ms)" up
  row "up -d again, nothing changed (ms)" again
  row "down (ms)" down
  row "  redis alone: SIGTERM to exit (ms)" floor
  # A down waits for its db's exit whatever the engine: with an engine
  # that took no time at all (and the lower of the two floors), this is
  # the best ratio there could be.
  low=$(printf '%s\n' "${res[floor.docker]}" "${res[floor.wharf]}" | sort -g | head -1)
  printf '%-40s %10s %10s %7.1fx\n' "  down's ceiling: docker's down / redis" "" "" \
    "$(echo "${res[down.docker]}/$low" | bc -l)"
)
echo "$out"
mkdir -p bench/results
{ echo "# bench/compose.sh, $(date -u +%FT%TZ), $("$DOCKER" compose version --short)"; echo "$out"; } \
  >"bench/results/compose-$(date -u +%Y%m%d-%H%M).txt"
