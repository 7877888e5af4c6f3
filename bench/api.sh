#!/usr/bin/env bash
# Side by side: the docker CLI through `wharf serve` vs the same CLI
# against dockerd. Prints medians and ratios docker/wharf, and writes them
# to bench/results/api-DATE.txt.
# Targets (issue 13): `docker run --rm bb echo hi` >= 5x faster, `docker ps`
# with 200 containers >= 3x, `wharf serve` idle RSS <= 10 MiB (dockerd +
# containerd measured beside it). The ps line is split into the API call
# alone and the CLI's own floor (bench/api-ps-floor.py).
#
#   bench/api.sh                  # RUNS=20 PS_CONTAINERS=200; needs dockerd
#   RUNS=3 PS_CONTAINERS=5 bench/api.sh   # a smoke run
#   WHARF=path/to/wharf bench/api.sh      # skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=${WHARF:-$(scripts/build.sh bench)}
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-20}
N=${PS_CONTAINERS:-200}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-api.XXXXXX)
root=$work/root
sock=$work/api.sock
IMG=wharf-bench-api/busybox:1
label=wharf-bench-api=$$
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$WHARF" --root "$root" ps -aq --no-trunc 2>/dev/null | xargs -r "$WHARF" --root "$root" rm -f >/dev/null 2>&1 || true
  # The root's kept default bridge.
  "$WHARF" --root "$root" system prune -f >/dev/null 2>&1 || true
  "$DOCKER" ps -aq --filter "label=$label" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" rmi -f "$IMG" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/"{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh echo sleep true; do ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$WHARF" --root "$root" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null
"$DOCKER" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null

"$WHARF" --root "$root" serve -H "unix://$sock" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
W="unix://$sock"
D="unix:///var/run/docker.sock"

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A res

run_echo() { # DOCKER_HOST
  local t=() i s
  for i in 1 2; do DOCKER_HOST=$1 "$DOCKER" run --rm "$IMG" echo hi >/dev/null; done
  for i in $(seq "$RUNS"); do
    s=${EPOCHREALTIME/./}; DOCKER_HOST=$1 "$DOCKER" run --rm "$IMG" echo hi >/dev/null; t+=($(( ${EPOCHREALTIME/./} - s )))
  done
  median "${t[@]}"
}
ps_many() { # DOCKER_HOST: `docker ps -a` with N containers present
  local t=() i s
  for i in $(seq "$RUNS"); do
    s=${EPOCHREALTIME/./}; DOCKER_HOST=$1 "$DOCKER" ps -a >/dev/null; t+=($(( ${EPOCHREALTIME/./} - s )))
  done
  median "${t[@]}"
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS, ps containers: $N" >&2
res[run.docker]=$(run_echo "$D")
res[run.wharf]=$(run_echo "$W")
for i in $(seq "$N"); do
  DOCKER_HOST=$W "$DOCKER" create --label "$label" "$IMG" true >/dev/null
  DOCKER_HOST=$D "$DOCKER" create --label "$label" "$IMG" true >/dev/null
done
res[ps.docker]=$(ps_many "$D")
res[ps.wharf]=$(ps_many "$W")
# The same listing split into the server's share (the API call alone) and
# the CLI's own floor (against a replay server that takes no time).
while read -r k v; do res[$k]=$v; done < <(python3 bench/api-ps-floor.py "$DOCKER" "$RUNS" \
  docker=/var/run/docker.sock wharf="$sock")

# Idle memory: the server after a few seconds of quiet, vs dockerd plus
# containerd (what serves the same API on the docker side).
sleep 3
w_rss=$(rss_kib "$server")
d_rss=0
for p in $(pgrep -x dockerd) $(pgrep -x containerd); do d_rss=$(( d_rss + $(rss_kib "$p") )); done

out=bench/results/api-$(date +%Y%m%d-%H%M).txt
{
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS, ps containers: $N, client: $("$DOCKER" version --format '{{.Client.Version}}')"
  printf '%-30s %10s %10s %7s\n' metric docker wharf ratio
  for m in run ps; do
    d=${res[$m.docker]} w=${res[$m.wharf]}
    name=$([[ $m == run ]] && echo "run --rm echo hi (ms)" || echo "ps -a, $N containers (ms)")
    printf '%-30s %10.1f %10.1f %6.1fx\n' "$name" "$(echo "$d/1000" | bc -l)" "$(echo "$w/1000" | bc -l)" "$(echo "$d/$w" | bc -l)"
  done
  ms() { echo "$1/1000" | bc -l; }
  printf '%-30s %10.1f %10.1f %6.1fx\n' "  GET /containers/json alone" "${res[api.docker]}" "${res[api.wharf]}" "$(echo "${res[api.docker]}/${res[api.wharf]}" | bc -l)"
  printf '%-30s %10.1f %10.1f\n' "  CLI floor (replayed reply)" "${res[floor.docker]}" "${res[floor.wharf]}"
  printf '%-30s %10s %10s %6.1fx\n' "  best ps ratio via this CLI" "" "" "$(echo "$(ms "${res[ps.docker]}")/${res[floor.wharf]}" | bc -l)"
  printf '%-30s %10.1f %10.1f %6.1fx\n' "idle server RSS (MiB)" "$(echo "$d_rss/1024" | bc -l)" "$(echo "$w_rss/1024" | bc -l)" "$(echo "$d_rss/$w_rss" | bc -l)"
} | tee "$out"
