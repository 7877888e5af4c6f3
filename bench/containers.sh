#!/usr/bin/env bash
# Side by side: container start/stop work, wharf vs docker, on the same busybox
# rootfs (the host's busybox-static), in the three states a user meets
# (issue 18):
#   fresh   a store root of its own (--root / WHARF_ROOT) with no other
#           container: its bridge is made by the first container
#   default the default root (/var/lib/wharf) with no other container
#   idle    one idle container on the bridge (a root of its own)
# docker has one daemon and one docker0: its `fresh` and `default` are the
# same state (no other container), measured once and shown in both rows.
# Prints medians (and the spread: min-max) and ratios docker/wharf.
# Targets (issues 3, 18): run --rm echo >= 15x (12 ms), stop+rm >= 5x,
# monitor RSS <= 1 MiB.
#
#   bench/containers.sh            # RUNS=20 by default; needs dockerd running
#   STATES="idle" bench/containers.sh   # a subset of the states
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=$(scripts/build.sh bench)
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-20}
STATES=${STATES:-fresh default idle}
DEFAULT_ROOT=/var/lib/wharf
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-ctr.XXXXXX)
PRIVATE_ROOT=$work/root
IMG=wharf-bench/busybox:1
wharf_in() { "$WHARF" --root "$root" "$@"; }
cleanup() {
  for r in "$PRIVATE_ROOT" "$DEFAULT_ROOT"; do
    [[ -e $r/db.sqlite ]] || continue
    "$WHARF" --root "$r" ps -aq --no-trunc --filter "ancestor=$IMG" 2>/dev/null |
      xargs -r "$WHARF" --root "$r" rm -f >/dev/null 2>&1 || true
    "$WHARF" --root "$r" rmi -f "$IMG" >/dev/null 2>&1 || true
  done
  # The private root's bridge and rules (kept between its containers).
  [[ -e $PRIVATE_ROOT/db.sqlite ]] && "$WHARF" --root "$PRIVATE_ROOT" system prune -f >/dev/null 2>&1 || true
  "$DOCKER" ps -aq --filter "ancestor=$IMG" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" rmi -f "$IMG" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same rootfs for both engines.
mkdir -p "$work/rootfs/"{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh echo sleep true; do ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$DOCKER" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null

# Times in microseconds from $EPOCHREALTIME, read in place: no process
# (`date`) and no subshell (`$(now)`: a bash fork, ~0.2 ms) inside a sample.
stats() { # SAMPLES... -> "median min max"
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m=(NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; print m, v[1], v[NR]}'
}

# Between two samples of a state "with no other container", the previous
# sample's container must be entirely gone: its monitor finishes tearing
# down (network, mounts) after the CLI returns. The monitors of the
# containers kept running on purpose (the idle state's, exec's target)
# do not count: waiting for them ran into the 2 s limit before every
# sample, where docker's samples follow each other at once; and after a
# quiet moment the kernel makes the next cgroup join wait out an RCU grace
# period (see wharf-runtime's cgroup_warmup.rs), which made those samples
# measure the pause, not the engine.
settle() { # TOOL
  [[ $1 == docker ]] && return 0
  local i id kept=(-e "monitor ${target:-none}")
  for id in "${keep[@]}"; do kept+=(-e "monitor $id"); done
  # The monitors, and the helpers deleting removed containers' files.
  for i in $(seq 200); do
    pgrep -af -- "--root $root (monitor|trash-delete)" | grep -q -v -F "${kept[@]}" || return 0
    sleep 0.01
  done
}

# One metric: RUNS samples of FUNCTION TOOL BIN, "median min max" in us.
measure() { # FUNCTION TOOL BIN
  local t=() i
  "$1" "$2" "$3" >/dev/null; settle "$2"
  for i in $(seq "$RUNS"); do t+=("$("$1" "$2" "$3")"); settle "$2"; done
  stats "${t[@]}"
}
in_tool() { # TOOL BIN ARGS...
  if [[ $1 == wharf ]]; then "$2" --root "$root" "${@:3}"; else "$2" "${@:3}"; fi
}
run_rm() {
  local s; s=${EPOCHREALTIME/./}; in_tool "$1" "$2" run --rm "$IMG" echo hi >/dev/null; echo $((${EPOCHREALTIME/./} - s))
}
run_d() {
  local s id e; s=${EPOCHREALTIME/./}; id=$(in_tool "$1" "$2" run -d "$IMG" sleep 100000); e=${EPOCHREALTIME/./}
  in_tool "$1" "$2" rm -f "$id" >/dev/null; echo $((e - s))
}
start() {
  local s id e; id=$(in_tool "$1" "$2" create "$IMG" sleep 100000)
  s=${EPOCHREALTIME/./}; in_tool "$1" "$2" start "$id" >/dev/null; e=${EPOCHREALTIME/./}
  in_tool "$1" "$2" rm -f "$id" >/dev/null; echo $((e - s))
}
exec_true() { # on the state's one running container ($target)
  local s; s=${EPOCHREALTIME/./}; in_tool "$1" "$2" exec "$target" true; echo $((${EPOCHREALTIME/./} - s))
}
stop_rm() { # a container that exits on SIGTERM, stopped and removed
  # `wait` returns as soon as the trapped signal arrives (a foreground
  # `sleep` would hold the trap back until it ends: that delay, up to the
  # sleep's length, would be the workload's, not the engine's).
  local s id
  id=$(in_tool "$1" "$2" run -d "$IMG" sh -c 'trap "exit 0" TERM; sleep 100000 & wait')
  sleep 0.2
  s=${EPOCHREALTIME/./}; in_tool "$1" "$2" stop "$id" >/dev/null; in_tool "$1" "$2" rm "$id" >/dev/null; echo $((${EPOCHREALTIME/./} - s))
}

declare -A res
METRICS="run_rm run_d start exec_true stop_rm"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS" >&2
for state in $STATES; do
  case $state in
    default) root=$DEFAULT_ROOT ;;
    *) root=$PRIVATE_ROOT ;;
  esac
  wharf_in import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null
  if [[ -n $(wharf_in ps -q) ]]; then
    echo "$state: $root has running containers; its figures are not those of an idle root" >&2
  fi
  # fresh: the root's bridge does not exist yet at each sample.
  [[ $state == fresh ]] && wharf_in system prune -f >/dev/null
  keep=() target=
  if [[ $state == idle ]]; then
    keep+=("$(wharf_in run -d "$IMG" sleep 100000)")
    "$DOCKER" run -d --name wharf-bench-keepalive "$IMG" sleep 100000 >/dev/null
  fi
  for tool in docker wharf; do
    bin=$DOCKER; [[ $tool == wharf ]] && bin=$WHARF
    # docker's `fresh` is its `default`.
    if [[ $tool == docker && $state == default && -n ${res[run_rm.fresh.docker]:-} ]]; then
      for m in $METRICS; do res[$m.default.docker]=${res[$m.fresh.docker]}; done
      continue
    fi
    for m in $METRICS; do
      [[ $m == exec_true ]] && target=$(in_tool "$tool" "$bin" run -d "$IMG" sleep 100000)
      if [[ $state == fresh && $tool == wharf && $m != exec_true ]]; then
        # Each sample on a root whose bridge is gone, as a new root's is.
        t=()
        for i in $(seq "$RUNS"); do
          wharf_in system prune -f >/dev/null; settle wharf
          t+=("$("$m" "$tool" "$bin")"); settle wharf
        done
        res[$m.$state.$tool]=$(stats "${t[@]}")
      else
        res[$m.$state.$tool]=$(measure "$m" "$tool" "$bin")
      fi
      [[ $m == exec_true ]] && in_tool "$tool" "$bin" rm -f "$target" >/dev/null
    done
  done
  for id in "${keep[@]}"; do wharf_in rm -f "$id" >/dev/null; done
  [[ $state == idle ]] && "$DOCKER" rm -f wharf-bench-keepalive >/dev/null
  [[ $state == default ]] && wharf_in rmi -f "$IMG" >/dev/null
done

# Memory of the per-container process once the container is idle (after a
# second): wharf's monitor vs containerd-shim.
root=$PRIVATE_ROOT
id=$(wharf_in run -d "$IMG" sleep 1000)
sleep 1
mon=$(pgrep -f "monitor $id" | head -1)
w_rss=$(awk '/VmRSS/ {print $2}' "/proc/$mon/status")
wharf_in rm -f "$id" >/dev/null
did=$("$DOCKER" run -d "$IMG" sleep 1000)
sleep 1
shim=$(pgrep -f "containerd-shim.*$did" | head -1 || true)
d_rss=$( [[ -n $shim ]] && awk '/VmRSS/ {print $2}' "/proc/$shim/status" || echo 0)
"$DOCKER" rm -f "$did" >/dev/null

ms() { echo "$1/1000" | bc -l; }
printf '\n%-18s %-8s %10s %15s %10s %15s %7s\n' metric state docker "(min-max)" wharf "(min-max)" ratio
for m in $METRICS; do
  case $m in
    run_rm) label="run --rm echo" ;; run_d) label="run -d" ;; start) label="start" ;;
    exec_true) label="exec true" ;; stop_rm) label="stop + rm" ;;
  esac
  for state in $STATES; do
    read -r d dmin dmax <<<"${res[$m.$state.docker]}"
    read -r w wmin wmax <<<"${res[$m.$state.wharf]}"
    printf '%-18s %-8s %10.1f %15s %10.1f %15s %6.1fx\n' "$label (ms)" "$state" \
      "$(ms "$d")" "$(printf '%.1f-%.1f' "$(ms "$dmin")" "$(ms "$dmax")")" \
      "$(ms "$w")" "$(printf '%.1f-%.1f' "$(ms "$wmin")" "$(ms "$wmax")")" "$(echo "$d/$w" | bc -l)"
  done
done
printf '%-18s %-8s %10.1f %15s %10.1f %15s %6.1fx\n' "monitor RSS (MiB)" "" "$(echo "$d_rss/1024" | bc -l)" "" "$(echo "$w_rss/1024" | bc -l)" "" "$(echo "$d_rss/$w_rss" | bc -l)"
