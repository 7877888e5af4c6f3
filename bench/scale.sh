#!/usr/bin/env bash
# Side by side, wharf vs docker, at scale (issue 15): how each engine's cost
# grows with what it holds. Three curves, each a table with one row per
# step and the ratio docker/wharf:
#
#  containers  N idle containers (busybox `sleep`) on one user-defined
#              bridge network (so its DNS too), N in SCALE_N: the engine's
#              total memory (PSS of dockerd + containerd + the containers'
#              shims; of wharf's monitors + the network's DNS server — no
#              daemon), the time to `run -d` the (N+1)th, `ps -a` latency.
#  images      M images, M in SCALE_IMAGES: `images` latency. Each image is
#              its own `import` of the same tiny tar with a distinct LABEL:
#              distinct image IDs and configs (what `images` must read per
#              row) sharing one layer, so that both engines store the same
#              and making 1000 stays cheap. Tags of one image would test
#              only the tag table (both engines read that image once).
#  cache       a build cache of C entries, C in SCALE_CACHE: the cached
#              rebuild time of a small Dockerfile (COPY, RUN, COPY). The
#              entries come from builds of `FROM scratch` + SCALE_STEPS
#              COPY steps of files whose content differs per build: one
#              cache entry per step in both engines (BuildKit for docker),
#              no container run, the same builds for both.
#
# Each table also gives what the engine holds at the step (containers,
# images, cache entries) as it counts them: docker's include what other
# users of this dockerd left (printed in the first row's count).
#
#   nice -n 19 bench/scale.sh          # the full run (see below); needs dockerd
#   SCALE_N="0 5" SCALE_IMAGES="0 10" SCALE_CACHE="0 200" RUNS=2 bench/scale.sh  # smoke
#   SECTIONS="images" bench/scale.sh   # one curve only
#   WHARF_BIN=target/release/wharf ... # a wharf already built
#   ENGINES=wharf SCALE_N="0 200" ...  # one engine's curve only
#
# Full run: ~25-35 min on 2 CPUs, most of it docker's setup (500 `run -d`,
# 1000 `import`, 100 builds of 100 COPY steps) and teardown.
# Everything it makes carries this run's names and is removed at the end;
# docker's build cache entries made by the run are pruned by their IDs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
SCALE_N=${SCALE_N:-0 100 250 500}
SCALE_IMAGES=${SCALE_IMAGES:-0 250 500 1000}
SCALE_CACHE=${SCALE_CACHE:-0 1000 5000 10000}
SCALE_STEPS=${SCALE_STEPS:-100}
SECTIONS=${SECTIONS:-containers images cache}
ENGINES=${ENGINES:-docker wharf}   # one only, to study a curve (no ratio then)
RUNS=${RUNS:-5}
JOBS=${SCALE_JOBS:-4}   # parallel setup commands (not timed)
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
engine() { [[ " $ENGINES " == *" $1 "* ]]; }
export DOCKER_BUILDKIT=1
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-scale.XXXXXX)
export WHARF_ROOT=$work/root
TOKEN=wbscale$$
IMG=wharf-bench/$TOKEN:base
REPO=wharf-bench/$TOKEN-img
FILL=wharf-bench/$TOKEN-fill
PROBE=wharf-bench/$TOKEN-probe
LABEL=wharf.bench.scale=$TOKEN
NET=$TOKEN
declare -A res

# docker's build cache record IDs (BuildKit's, from the API: the CLI of
# docker 20.10 neither lists them nor filters them by anything of ours).
docker_cache_ids() {
  curl -s --unix-socket "$DOCKER_SOCK" http://localhost/system/df |
    python3 -c 'import json, sys; print("\n".join(b["ID"] for b in json.load(sys.stdin)["BuildCache"] or []))'
}
# Prune the records listed in FILE: the `id` filter takes one regular
# expression, so batches of IDs go as one alternation each.
docker_cache_prune() { # FILE
  local batch
  while read -r batch; do
    [[ -n $batch ]] || continue
    curl -s -X POST --unix-socket "$DOCKER_SOCK" -G http://localhost/build/prune \
      --data-urlencode "filters={\"id\":[\"^($batch)\$\"]}" >/dev/null
  done < <(paste -sd'|' <(cat "$1") | fold -w 12000 | sed 's/^|//; s/|$//') || true
}

cleanup() {
  set +e
  "$WHARF" ps -aq --no-trunc 2>/dev/null | xargs -r -n 50 "$WHARF" rm -f >/dev/null 2>&1
  "$WHARF" network rm "$NET" >/dev/null 2>&1
  "$WHARF" system prune -f >/dev/null 2>&1
  "$DOCKER" ps -aq --no-trunc --filter "label=$LABEL" | xargs -r -n 50 -P "$JOBS" "$DOCKER" rm -f >/dev/null 2>&1
  "$DOCKER" ps -aq --no-trunc --filter "ancestor=$IMG" | xargs -r -n 50 "$DOCKER" rm -f >/dev/null 2>&1
  "$DOCKER" network rm "$NET" >/dev/null 2>&1
  "$DOCKER" images --format '{{.Repository}}:{{.Tag}}' | grep "^wharf-bench/$TOKEN" |
    xargs -r -n 100 "$DOCKER" rmi -f >/dev/null 2>&1
  if [[ -e $work/cache-before ]]; then
    docker_cache_ids | sort >"$work/cache-after"
    comm -13 <(sort "$work/cache-before") "$work/cache-after" >"$work/cache-ours"
    docker_cache_prune "$work/cache-ours"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

tar=$(bench_rootfs "$work" sh echo sleep true)
for t in "$WHARF" "$DOCKER"; do "$t" import --change 'ENV PATH=/bin' "$tar" "$IMG" >/dev/null; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS, sections: $SECTIONS" >&2

# --- containers -------------------------------------------------------------
# The engine's own processes, not the containers' (the same `sleep` in both).
engine_pids() { # TOOL
  if [[ $1 == wharf ]]; then
    pgrep -f -- "--root $WHARF_ROOT " || true
  else
    # The dockerd behind DOCKER_SOCK and the containerd it started (other
    # containerd instances may run on the machine).
    local d; d=$(cat "${DOCKER_PIDFILE:-/var/run/docker.pid}")
    echo "$d"; pgrep -P "$d" -x containerd || true
    "$DOCKER" ps -q --no-trunc --filter "label=$LABEL" >"$work/ids"
    # One shim per container: `containerd-shim-runc-v2 -namespace moby -id ID ...`.
    [[ -s $work/ids ]] && ps -eo pid=,args= | grep 'containerd-shim.* -namespace moby ' | grep -Ff "$work/ids" | awk '{print $1}'
    true
  fi
}
settle() { # TOOL ID: wait for the container's monitor to finish tearing down
  [[ $1 == wharf ]] || return 0
  local i
  for i in $(seq 300); do pgrep -f -- "monitor $2" >/dev/null || return 0; sleep 0.01; done
}
start_next() { # TOOL BIN: µs to `run -d` one more container (then removed)
  local s e id
  s=${EPOCHREALTIME/./}; id=$("$2" run -d --network "$NET" "$IMG" sleep 1000000); e=${EPOCHREALTIME/./}
  "$2" rm -f "$id" >/dev/null; settle "$1" "$id"
  echo $((e - s))
}
containers_curve() { # TOOL BIN SUBNET
  local tool=$1 bin=$2 have=0 n t i
  "$bin" network create --subnet "$3" "$NET" >/dev/null
  for n in $SCALE_N; do
    if ((n > have)); then
      seq $((have + 1)) "$n" | xargs -P "$JOBS" -I{} \
        "$bin" run -d --name "$TOKEN-{}" --label "$LABEL" --network "$NET" "$IMG" sleep 1000000 >/dev/null
      have=$n
    fi
    sleep 2   # let the last ones' starts settle before weighing the engine
    res[ctr.count.$n.$tool]=$("$bin" ps -q | wc -l)
    # shellcheck disable=SC2046
    res[ctr.mem.$n.$tool]=$(pss_kib $(engine_pids "$tool"))
    start_next "$tool" "$bin" >/dev/null   # warm
    t=(); for i in $(seq "$RUNS"); do t+=("$(start_next "$tool" "$bin")"); done
    res[ctr.start.$n.$tool]=$(median "${t[@]}")
    res[ctr.ps.$n.$tool]=$(median_of "$bin" ps -a)
    echo "containers $tool N=$n done" >&2
  done
  "$bin" ps -aq --no-trunc --filter "label=$LABEL" | xargs -r -n 50 -P "$JOBS" "$bin" rm -f >/dev/null
  # dockerd can still hold a removed container's endpoint for a moment
  # after 500 parallel `rm -f` ("has active endpoints"): retry until it
  # lets the network go (30 s at most). dockerd 20.10 can also keep a
  # stale endpoint for good (seen once: `Containers` empty, removal refused
  # until dockerd restarts): then say so and go on, the curve is measured.
  for i in $(seq 300); do "$bin" network rm "$NET" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "warning: $tool kept network $NET: $("$bin" network rm "$NET" 2>&1)" >&2
}

# --- images -----------------------------------------------------------------
images_curve() { # TOOL BIN
  local tool=$1 bin=$2 have=0 m
  for m in $SCALE_IMAGES; do
    if ((m > have)); then
      seq $((have + 1)) "$m" | xargs -P "$JOBS" -I{} \
        "$bin" import --change "LABEL $LABEL.n={}" "$tar" "$REPO:{}" >/dev/null
      have=$m
    fi
    res[img.count.$m.$tool]=$("$bin" images -q | wc -l)
    "$bin" images >/dev/null   # warm
    res[img.ls.$m.$tool]=$(median_of "$bin" images)
    echo "images $tool M=$m done" >&2
  done
  "$bin" images --format '{{.Repository}}:{{.Tag}}' | grep "^$REPO:" | xargs -r -n 100 "$bin" rmi -f >/dev/null
}

# --- build cache ------------------------------------------------------------
# Build number I of the filler: FROM scratch + SCALE_STEPS COPY steps of
# files whose content names the build (so none is a cache hit).
fill_build() { # BIN I
  local d=$work/fill/$2 j
  mkdir -p "$d"
  { echo "FROM scratch"; for j in $(seq "$SCALE_STEPS"); do echo "COPY f$j /f$j"; done; } >"$d/Dockerfile"
  for j in $(seq "$SCALE_STEPS"); do echo "$TOKEN $2 $j" >"$d/f$j"; done
  "$1" build -q -t "$FILL:$2" "$d" >/dev/null
}
cache_count() { # TOOL
  if [[ $1 == wharf ]]; then
    sqlite3 "file:$WHARF_ROOT/db.sqlite?mode=ro" 'SELECT count(*) FROM build_cache'
  else
    "$DOCKER" system df --format '{{.Type}} {{.TotalCount}}' | awk '/^Build Cache/ {print $3}'
  fi
}
cache_curve() { # TOOL BIN
  local tool=$1 bin=$2 have=0 c builds b
  mkdir -p "$work/probe"
  echo probe-a >"$work/probe/a"; echo probe-b >"$work/probe/b"
  printf 'FROM %s\nCOPY a /a\nRUN echo built >/built\nCOPY b /b\n' "$IMG" >"$work/probe/Dockerfile"
  "$bin" build -q -t "$PROBE" "$work/probe" >/dev/null
  for c in $SCALE_CACHE; do
    builds=$(((c + SCALE_STEPS - 1) / SCALE_STEPS))
    if ((builds > have)); then
      for b in $(seq $((have + 1)) "$builds"); do fill_build "$bin" "$b"; done
      have=$builds
    fi
    res[cache.count.$c.$tool]=$(cache_count "$tool")
    res[cache.build.$c.$tool]=$(median_of "$bin" build -q -t "$PROBE" "$work/probe")
    echo "cache $tool C=$c done" >&2
  done
  "$bin" images --format '{{.Repository}}:{{.Tag}}' | grep -E "^($FILL|$PROBE):" | xargs -r -n 100 "$bin" rmi -f >/dev/null
}

if has containers; then
  # Subnets no test uses (theirs are 10.213-10.219/16): dockerd once kept
  # this network after the run, and its route broke two network tests.
  engine docker && containers_curve docker "$DOCKER" 10.230.0.0/16
  engine wharf && containers_curve wharf "$WHARF" 10.231.0.0/16
fi
if has images; then
  engine docker && images_curve docker "$DOCKER"
  engine wharf && images_curve wharf "$WHARF"
fi
if has cache; then
  docker_cache_ids >"$work/cache-before"
  engine docker && cache_curve docker "$DOCKER"
  engine wharf && cache_curve wharf "$WHARF"
fi

# One table per curve: STEP, then per metric docker | wharf | docker/wharf.
table() { # TITLE PREFIX STEPS "KEY:LABEL:UNIT"...
  local title=$1 p=$2 steps=$3 col s k label unit d w
  shift 3
  printf '\n%s\n%8s' "$title" step
  for col in "$@"; do IFS=: read -r k label unit <<<"$col"; printf ' %30s' "$label"; done
  printf '\n%8s' ""
  for col in "$@"; do printf ' %9s %9s %10s' docker wharf docker/wharf; done
  printf '\n'
  for s in $steps; do
    printf '%8s' "$s"
    for col in "$@"; do
      IFS=: read -r k label unit <<<"$col"
      d=${res[$p.$k.$s.docker]:-0} w=${res[$p.$k.$s.wharf]:-0}
      case $unit in
        ms) d=$(ms "$d") w=$(ms "$w") ;;
        MiB) d=$(echo "$d/1024" | bc -l) w=$(echo "$w/1024" | bc -l) ;;
      esac
      if [[ $unit == n ]]; then
        printf ' %9d %9d %10s' "$d" "$w" ""
      else
        printf ' %9.1f %9.1f %9.1fx' "$d" "$w" "$(echo "if ($w > 0) $d/$w else 0" | bc -l)"
      fi
    done
    printf '\n'
  done
}
out=$(
  results_header scale.sh "RUNS=$RUNS SCALE_N='$SCALE_N' SCALE_IMAGES='$SCALE_IMAGES' SCALE_CACHE='$SCALE_CACHE' SCALE_STEPS=$SCALE_STEPS"
  has containers && table "N idle containers on one user network" ctr "$SCALE_N" \
    "count:running (engine's ps):n" "mem:engine memory, PSS (MiB):MiB" \
    "start:run -d the (N+1)th (ms):ms" "ps:ps -a (ms):ms"
  has images && table "M images (distinct imports of one tiny tar)" img "$SCALE_IMAGES" \
    "count:images (engine's images -q):n" "ls:images (ms):ms"
  has cache && table "C build cache entries" cache "$SCALE_CACHE" \
    "count:cache entries (engine's count):n" "build:cached rebuild (ms):ms"
  echo
  echo "(docker/wharf: higher is better for wharf; docker's counts include what others left in its daemon)"
)
echo "$out"
mkdir -p bench/results
echo "$out" >"bench/results/scale-$(date +%Y%m%d-%H%M).txt"
