#!/usr/bin/env bash
# Side by side: the seed-002 app (examples/node-multi-stage) built by wharf
# and by docker+BuildKit, same base images (scripts/node-images.sh), same
# context. Prints medians and ratios docker/wharf. Two sections:
#
# rebuild (issue 5): cold build, cached rebuild, rebuild after editing
#   server.js, image size. Targets: cached rebuild >= 5x faster, rebuild
#   after an edit <= 0.3x docker's time, cold build no slower, image no
#   larger. RUNS samples (default 5).
#
# cache (issue 17): the build cache carried through a registry to a second,
#   empty machine. "Root A" builds the app once and exports its cache to a
#   local docker-registry on 127.0.0.1; then, from an empty state each
#   time, a cold build and a build with --cache-from that registry.
#   Targets: wharf's cache-from build <= 0.2x its cold build, and faster
#   than docker's. CACHE_RUNS samples (default: RUNS, else 3).
#   - wharf: root A builds with `--cache-to type=registry,ref=...,mode=max`
#     and `--cache-to type=inline` and pushes the image; the empty state is
#     a fresh --root holding only the two node images (loaded from a `save`
#     of one import, so their IDs — where cache keys start — are root A's;
#     not timed). Timed: the registry cache (mode=max), and the pushed
#     image's inline cache (what docker can do too).
#   - docker 20.10 without buildx (none here) can export only an inline
#     cache: root A builds with `--build-arg BUILDKIT_INLINE_CACHE=1` and
#     pushes; the empty state is `docker builder prune -af` plus `docker
#     rmi` of the app images (the node images stay, as a fresh root keeps
#     its base). Timed: `--cache-from IMAGE`.
#   Every cache-from build is checked: plain progress must show its
#   final stage's steps (for mode=max, every step) CACHED, and the image ID
#   must be root A's; otherwise the script fails. All cache-from builds
#   export an inline cache again (as root A did, so the config — and ID —
#   can match; it costs a JSON field).
#
#   bench/build.sh                           # both sections; needs dockerd
#   SECTIONS=cache CACHE_RUNS=3 bench/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
SECTIONS=${SECTIONS:-rebuild cache}
export DOCKER_BUILDKIT=1

work=$(mktemp -d /var/tmp/wharf-bench-build.XXXXXX)
TAG=wharf-bench/seed-node:multi
docker_refs=("$TAG")
# A root's RUN steps may leave its default bridge and nftables table:
# `system prune` releases them before the root goes.
drop_root() { # DIR
  [[ -e $1/db.sqlite ]] && "$WHARF" --root "$1" system prune -f >/dev/null 2>&1
  rm -rf "$1"
}
cleanup() {
  registry_stop
  for r in "$work"/base-root "$work"/root-*; do [[ -d $r ]] && drop_root "$r"; done
  for r in "${docker_refs[@]}"; do "$DOCKER" rmi -f "$r" >/dev/null 2>&1 || true; done
  "$DOCKER" image prune -f >/dev/null 2>&1 || true
  # A root's build leaves nothing mounted; this is for one stopped midway.
  grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

CHANGES=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
mapfile -t tars < <(scripts/node-images.sh)
base=$work/base-root
"$WHARF" --root "$base" import "${CHANGES[@]}" "${tars[0]}" node:18 >/dev/null
"$WHARF" --root "$base" import "${CHANGES[@]}" "${tars[1]}" node:18-slim >/dev/null
for ref in node:18 node:18-slim; do
  "$DOCKER" image inspect "$ref" >/dev/null 2>&1 ||
    "$DOCKER" import "${CHANGES[@]}" "${tars[$([[ $ref == node:18 ]] && echo 0 || echo 1)]}" "$ref" >/dev/null
done
secs() { echo "$1/1000000" | bc -l; }

# --- rebuild -----------------------------------------------------------------
rebuild_section() {
  local tool bin i cold cached edit m d w label
  local -A res
  cp -a examples/node-multi-stage "$work/ctx"
  for tool in docker wharf; do
    bin=("$DOCKER"); [[ $tool == wharf ]] && bin=("$WHARF" --root "$base")
    cold=() cached=() edit=()
    for i in $(seq "${RUNS:-5}"); do
      cold+=("$(timed "${bin[@]}" build --no-cache -t "$TAG" "$work/ctx")")
      cached+=("$(timed "${bin[@]}" build -t "$TAG" "$work/ctx")")
      echo "// edit $tool $i" >>"$work/ctx/server.js"
      edit+=("$(timed "${bin[@]}" build -t "$TAG" "$work/ctx")")
    done
    res[cold.$tool]=$(median "${cold[@]}")
    res[cached.$tool]=$(median "${cached[@]}")
    res[edit.$tool]=$(median "${edit[@]}")
    res[size.$tool]=$("${bin[@]}" image inspect --format '{{.Size}}' "$TAG")
  done

  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: ${RUNS:-5}"
  printf '\n%-34s %10s %10s %8s\n' metric docker wharf docker/wharf
  for m in cold cached edit; do
    d=${res[$m.docker]} w=${res[$m.wharf]}
    case $m in
      cold) label="cold build, --no-cache (s)" ;;
      cached) label="rebuild, all cached (s)" ;;
      edit) label="rebuild after editing server.js (s)" ;;
    esac
    printf '%-34s %10.3f %10.3f %7.1fx\n' "$label" "$(secs "$d")" "$(secs "$w")" "$(echo "$d/$w" | bc -l)"
  done
  printf '%-34s %10.1f %10.1f\n' "final image size (MB)" "$(echo "${res[size.docker]}/1000000" | bc -l)" "$(echo "${res[size.wharf]}/1000000" | bc -l)"
}

# --- cache -------------------------------------------------------------------

# The layer steps in a plain progress LOG (BuildKit's and wharf's shape:
# `#N [stage i/n] INSTR` ... `#N CACHED`), FROM excluded: one line each,
# "CACHED <name>" or "RAN <name>".
step_states() { # LOG
  awk '
    $1 ~ /^#[0-9]+$/ && match($0, /\[([^]]* )?[0-9]+\/[0-9]+\] /) {
      name = substr($0, RSTART)
      if (name !~ /\] FROM / && !($1 in steps)) { steps[$1] = name; order[++n] = $1 }
    }
    $1 ~ /^#[0-9]+$/ && $2 == "CACHED" { cached[$1] = 1 }
    END { for (i = 1; i <= n; i++) print (order[i] in cached ? "CACHED " : "RAN ") steps[order[i]] }
  ' "$1"
}

# Fail unless every step of LOG whose name starts with STEPS (an ERE)
# was CACHED and the image in IIDFILE is WANT; prints "cached/all" steps.
check_cache_hit() { # WHAT LOG IIDFILE WANT STEPS
  local what=$1 log=$2 iid states bad
  iid=$(cat "$3")
  states=$(step_states "$log")
  bad=$(grep -E "^RAN $5" <<<"$states" || true)
  if [[ -z $states || -n $bad ]]; then
    echo "$what: steps not CACHED: ${bad:-no steps found}" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  if [[ $iid != "$4" ]]; then
    echo "$what: image $iid, not root A's $4" >&2
    exit 1
  fi
  echo "$(grep -c '^CACHED' <<<"$states")/$(wc -l <<<"$states")"
}

# A new wharf root holding only the node images (root A's, same IDs).
fresh_root() { # DIR
  drop_root "$1"
  "$WHARF" --root "$1" load -i "$work/base.tar" >/dev/null
}

# Docker with no build cache and none of the app images; the node images stay.
docker_empty() {
  local r
  for r in "${docker_refs[@]}"; do "$DOCKER" rmi -f "$r" >/dev/null 2>&1 || true; done
  "$DOCKER" builder prune -af >/dev/null
}

cache_section() {
  local runs=${CACHE_RUNS:-${RUNS:-3}} ctx=$work/ctx-cache i k root log
  local wimg wcache dimg id_w id_d w_steps='' wi_steps='' d_steps=''
  local -A t
  cp -a examples/node-multi-stage "$ctx"
  "$WHARF" --root "$base" save -o "$work/base.tar" node:18 node:18-slim
  registry_start "$work/registry"
  wimg=$REG/bench/seed:wharf wcache=$REG/bench/seed-cache:wharf dimg=$REG/bench/seed:docker
  docker_refs+=("$dimg")

  # Root A of each tool: build, export the cache, push.
  fresh_root "$work/root-a"
  timed_log "$work/a-wharf.log" "$WHARF" --root "$work/root-a" build --progress plain \
    --iidfile "$work/a-wharf.iid" --cache-to type=inline \
    --cache-to "type=registry,ref=$wcache,mode=max" -t "$wimg" "$ctx" >/dev/null
  "$WHARF" --root "$work/root-a" push "$wimg" >/dev/null
  id_w=$(cat "$work/a-wharf.iid")
  drop_root "$work/root-a"
  docker_empty
  timed_log "$work/a-docker.log" "$DOCKER" build --progress plain --iidfile "$work/a-docker.iid" \
    --build-arg BUILDKIT_INLINE_CACHE=1 -t "$dimg" "$ctx" >/dev/null
  "$DOCKER" push "$dimg" >/dev/null
  id_d=$(cat "$work/a-docker.iid")

  root=$work/root-b
  for i in $(seq "$runs"); do
    docker_empty
    t[cold.docker]+=" $(timed "$DOCKER" build --no-cache -t "$TAG" "$ctx")"
    docker_empty
    log=$work/from-docker.log
    t[from.docker]+=" $(timed_log "$log" "$DOCKER" build --progress plain --iidfile "$work/b.iid" \
      --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from "$dimg" -t "$TAG" "$ctx")"
    d_steps=$(check_cache_hit "docker --cache-from $dimg" "$log" "$work/b.iid" "$id_d" '\[stage-1 ')

    fresh_root "$root"
    t[cold.wharf]+=" $(timed "$WHARF" --root "$root" build --no-cache -t "$TAG" "$ctx")"
    fresh_root "$root"
    log=$work/from-wharf.log
    t[from.wharf]+=" $(timed_log "$log" "$WHARF" --root "$root" build --progress plain \
      --iidfile "$work/b.iid" --cache-to type=inline \
      --cache-from "type=registry,ref=$wcache" -t "$TAG" "$ctx")"
    w_steps=$(check_cache_hit "wharf --cache-from type=registry,ref=$wcache" "$log" "$work/b.iid" "$id_w" '')
    fresh_root "$root"
    log=$work/from-wharf-inline.log
    t[inline.wharf]+=" $(timed_log "$log" "$WHARF" --root "$root" build --progress plain \
      --iidfile "$work/b.iid" --cache-to type=inline --cache-from "$wimg" -t "$TAG" "$ctx")"
    wi_steps=$(check_cache_hit "wharf --cache-from $wimg" "$log" "$work/b.iid" "$id_w" '\[stage-1 ')
    drop_root "$root"
    for k in cold.docker from.docker cold.wharf from.wharf inline.wharf; do
      printf 'run %d  %-13s %8.3f s\n' "$i" "$k" "$(secs "${t[$k]##* }")" >&2
    done
  done
  docker_empty
  registry_stop

  local cd fd cw fw iw
  # shellcheck disable=SC2086
  {
    cd=$(median ${t[cold.docker]}) fd=$(median ${t[from.docker]})
    cw=$(median ${t[cold.wharf]}) fw=$(median ${t[from.wharf]}) iw=$(median ${t[inline.wharf]})
  }
  echo
  echo "cache from a registry on an empty root: load average $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs"
  echo "  docker $("$DOCKER" version --format '{{.Server.Version}}'), no buildx: its BuildKit exports an inline cache only"
  printf '\n%-44s %10s %10s %8s\n' metric docker wharf docker/wharf
  printf '%-44s %10.3f %10.3f %7.1fx\n' "cold build, empty state (s)" "$(secs "$cd")" "$(secs "$cw")" "$(echo "$cd/$cw" | bc -l)"
  printf '%-44s %10.3f %10.3f %7.1fx\n' "--cache-from image, inline cache (s)" "$(secs "$fd")" "$(secs "$iw")" "$(echo "$fd/$iw" | bc -l)"
  printf '%-44s %10s %10.3f %7.1fx\n' "--cache-from registry cache, mode=max (s)" - "$(secs "$fw")" "$(echo "$fd/$fw" | bc -l)"
  printf '%-44s %10.3f %10.3f\n' "inline cache-from / cold" "$(echo "$fd/$cd" | bc -l)" "$(echo "$iw/$cw" | bc -l)"
  printf '%-44s %10s %10.3f   (target <= 0.2)\n' "registry (max) cache-from / cold" - "$(echo "$fw/$cw" | bc -l)"
  printf '%-44s %10s %10s\n' "steps CACHED, inline" "$d_steps" "$wi_steps"
  printf '%-44s %10s %10s\n' "steps CACHED, registry mode=max" - "$w_steps"
  echo "(docker/wharf of the mode=max row: docker's inline cache-from, the best docker 20.10 does, over wharf's)"
  echo "runs (seconds):"
  for k in cold.docker from.docker cold.wharf from.wharf inline.wharf; do
    printf '  %-14s' "$k"
    for i in ${t[$k]}; do printf ' %.3f' "$(secs "$i")"; done
    echo
  done
}

for s in $SECTIONS; do
  case $s in
    rebuild) rebuild_section ;;
    cache) cache_section ;;
    *) echo "unknown section $s (rebuild, cache)" >&2; exit 1 ;;
  esac
done
