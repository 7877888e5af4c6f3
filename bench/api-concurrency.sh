#!/usr/bin/env bash
# Side by side: CLIENTS concurrent Engine API clients, each looping
# create -> start -> wait -> delete of a `true` container for DURATION
# seconds, against `wharf serve` and against dockerd. Prints throughput
# (loops/s), errors, lost containers (a 404 for one the server had
# created) and containers left behind afterwards, with the ratio
# wharf/docker, and writes them to bench/results/api-concurrency-DATE.txt.
# Target (issue 13): 50 clients for 60 s, no error, no lost container.
#
#   bench/api-concurrency.sh                          # CLIENTS=50 DURATION=60
#   CLIENTS=5 DURATION=3 bench/api-concurrency.sh     # a smoke run
#   WHARF=path/to/wharf bench/api-concurrency.sh      # skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=${WHARF:-$(scripts/build.sh bench)}
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
CLIENTS=${CLIENTS:-50}
DURATION=${DURATION:-60}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-api-concurrency.XXXXXX)
root=$work/root
sock=$work/api.sock
IMG=wharf-bench-api-concurrency/busybox:1
label=wharf-bench-api-concurrency=$$
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$WHARF" --root "$root" ps -aq --no-trunc 2>/dev/null | xargs -r "$WHARF" --root "$root" rm -f >/dev/null 2>&1 || true
  "$DOCKER" ps -aq --filter "label=$label" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" rmi -f "$IMG" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/"{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh true; do ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$WHARF" --root "$root" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null
"$DOCKER" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null

"$WHARF" --root "$root" serve -H "unix://$sock" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done

declare -A res left
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), clients: $CLIENTS, seconds: $DURATION" >&2
res[docker]=$(bench/api-clients.py /var/run/docker.sock "$IMG" "$label" "$CLIENTS" "$DURATION")
left[docker]=$("$DOCKER" ps -aq --filter "label=$label" | wc -l)
res[wharf]=$(bench/api-clients.py "$sock" "$IMG" "$label" "$CLIENTS" "$DURATION")
left[wharf]=$(DOCKER_HOST="unix://$sock" "$DOCKER" ps -aq --filter "label=$label" | wc -l)

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
out=bench/results/api-concurrency-$(date +%Y%m%d-%H%M).txt
{
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), clients: $CLIENTS, seconds: $DURATION, create/start/wait/rm of \`true\`"
  printf '%-8s %9s %9s %7s %6s %6s %8s %8s\n' tool loops loops/s errors lost left p50_ms p99_ms
  for t in docker wharf; do
    r=${res[$t]}
    printf '%-8s %9s %9s %7s %6s %6s %8s %8s\n' "$t" "$(field "$r" loops)" "$(field "$r" per_second)" \
      "$(field "$r" errors)" "$(field "$r" lost)" "${left[$t]}" "$(field "$r" p50_ms)" "$(field "$r" p99_ms)"
  done
  printf 'throughput wharf/docker: %.1fx\n' "$(echo "$(field "${res[wharf]}" per_second)/$(field "${res[docker]}" per_second)" | bc -l)"
  for t in docker wharf; do
    m=$(field "${res[$t]}" messages)
    [[ $m == "[]" ]] || echo "$t errors: $m"
  done
} | tee "$out"
