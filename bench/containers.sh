#!/usr/bin/env bash
# Side by side: container start/stop work, wharf vs docker, on the same busybox
# rootfs (the host's busybox-static). Prints medians and ratios docker/wharf.
# Targets (issue 3): run --rm echo >= 15x, stop+rm >= 5x, monitor RSS <= 1 MiB.
#
#   bench/containers.sh            # RUNS=20 by default; needs dockerd running
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=$(scripts/build.sh bench)
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-20}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-ctr.XXXXXX)
export WHARF_ROOT=$work/root
IMG=wharf-bench/busybox:1
cleanup() {
  "$WHARF" ps -aq --no-trunc 2>/dev/null | xargs -r "$WHARF" rm -f >/dev/null 2>&1 || true
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
for t in "$WHARF" "$DOCKER"; do "$t" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null; done

# Times in microseconds from $EPOCHREALTIME: no `date` fork inside a sample.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A res

run_echo() { # TOOL
  local t=() i s
  for i in 1 2; do "$1" run --rm "$IMG" echo hi >/dev/null; done
  for i in $(seq "$RUNS"); do s=${EPOCHREALTIME/./}; "$1" run --rm "$IMG" echo hi >/dev/null; t+=($(( ${EPOCHREALTIME/./} - s ))); done
  median "${t[@]}"
}
stop_rm() { # TOOL: a container that exits on SIGTERM, stopped and removed
  # `wait` returns as soon as the trapped signal arrives (a foreground
  # `sleep` would hold the trap back until it ends: that delay, up to the
  # sleep's length, would be the workload's, not the engine's).
  local t=() i s id
  for i in $(seq "$RUNS"); do
    id=$("$1" run -d "$IMG" sh -c 'trap "exit 0" TERM; sleep 100000 & wait')
    sleep 0.2
    s=${EPOCHREALTIME/./}; "$1" stop "$id" >/dev/null; "$1" rm "$id" >/dev/null; t+=($(( ${EPOCHREALTIME/./} - s )))
  done
  median "${t[@]}"
}

# docker keeps docker0 up between containers; wharf brings a root's default
# bridge up with its first container and down with its last. One idle
# container keeps it up, so both engines run on a warm bridge.
"$WHARF" run -d --name bench-keepalive "$IMG" sleep 100000 >/dev/null

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS" >&2
for tool in docker wharf; do
  bin=$DOCKER; [[ $tool == wharf ]] && bin=$WHARF
  res[run.$tool]=$(run_echo "$bin")
  res[stop.$tool]=$(stop_rm "$bin")
done

# Memory of the per-container process once the container is idle (after a
# second): wharf's monitor vs containerd-shim.
id=$("$WHARF" run -d "$IMG" sleep 1000)
sleep 1
mon=$(pgrep -f "monitor $id" | head -1)
w_rss=$(awk '/VmRSS/ {print $2}' "/proc/$mon/status")
"$WHARF" rm -f "$id" >/dev/null
did=$("$DOCKER" run -d "$IMG" sleep 1000)
sleep 1
shim=$(pgrep -f "containerd-shim.*$did" | head -1 || true)
d_rss=$( [[ -n $shim ]] && awk '/VmRSS/ {print $2}' "/proc/$shim/status" || echo 0)
"$DOCKER" rm -f "$did" >/dev/null

printf '\n%-22s %10s %10s %7s\n' metric docker wharf ratio
for m in run stop; do
  d=${res[$m.docker]} w=${res[$m.wharf]}
  label=$([[ $m == run ]] && echo "run --rm echo (ms)" || echo "stop + rm (ms)")
  printf '%-22s %10.1f %10.1f %6.1fx\n' "$label" "$(echo "$d/1000" | bc -l)" "$(echo "$w/1000" | bc -l)" "$(echo "$d/$w" | bc -l)"
done
printf '%-22s %10.1f %10.1f %6.1fx\n' "monitor RSS (MiB)" "$(echo "$d_rss/1024" | bc -l)" "$(echo "$w_rss/1024" | bc -l)" "$(echo "$d_rss/$w_rss" | bc -l)"
