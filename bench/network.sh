#!/usr/bin/env bash
# Side by side, wharf vs docker, on the same busybox rootfs:
#  - run -d -p of busybox httpd until the first HTTP 200 on 127.0.0.1
#    (target: wharf <= 0.5x docker's time)
#  - network create + rm (target: >= 5x faster)
#  - loopback throughput through a published port, curl to /dev/null of a
#    200 MiB file (target: within 10% of docker)
#  - macvlan: network create + rm (target: >= 5x faster), and `run -d` on
#    it until the command returns; the parent is a veth pair this script
#    makes (never a real NIC), deleted at the end
# Only loopback traffic (and none on the macvlan). Prints medians and
# ratios; saves to bench/results/.
#
#   bench/network.sh               # RUNS=10 by default; needs dockerd running
#   SECTIONS=macvlan RUNS=3 bench/network.sh   # one part only
#   WHARF_BIN=target/debug/wharf ...           # a wharf already built
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=${WHARF_BIN:-$(scripts/build.sh bench)}
SECTIONS=${SECTIONS:-bridge macvlan}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
RUNS=${RUNS:-10}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-net.XXXXXX)
export WHARF_ROOT=$work/root
IMG=wharf-bench/busybox-net:1
NET=wharf-bench-net-$$
MV=wharf-bench-mv-$$
PARENT=wbmv$$
PARENT=${PARENT:0:12}
cleanup() {
  "$DOCKER" ps -aq --filter "network=$MV" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" network rm "$MV" >/dev/null 2>&1 || true
  "$WHARF" network rm "$MV" >/dev/null 2>&1 || true
  ip link del "$PARENT" >/dev/null 2>&1 || true
  "$WHARF" ps -aq --no-trunc 2>/dev/null | xargs -r "$WHARF" rm -f >/dev/null 2>&1 || true
  "$DOCKER" ps -aq --filter "ancestor=$IMG" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" network rm "$NET" >/dev/null 2>&1 || true
  "$DOCKER" rmi -f "$IMG" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/"{bin,etc,tmp,proc,sys,dev,www}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh echo sleep true httpd dd; do ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
echo hello >"$work/rootfs/www/index.html"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
for t in "$WHARF" "$DOCKER"; do "$t" import --change 'ENV PATH=/bin' "$work/rootfs.tar" "$IMG" >/dev/null; done

now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A res

first_200() { # TOOL PORT: µs from `run -d -p` to the first HTTP 200
  local s id
  s=$(now)
  id=$("$1" run -d -p "127.0.0.1:$2:80" "$IMG" httpd -f -p 80 -h /www)
  until curl -sf -o /dev/null "http://127.0.0.1:$2/"; do :; done
  echo $(( ($(now) - s) / 1000 ))
  "$1" rm -f "$id" >/dev/null
}

run_p() { # TOOL BASEPORT
  local t=() i
  first_200 "$1" "$2" >/dev/null   # warm: caches, the default bridge
  for i in $(seq "$RUNS"); do t+=($(first_200 "$1" $(( $2 + i )))); done
  median "${t[@]}"
}

net_create_rm() { # TOOL
  local t=() i s
  for i in $(seq "$RUNS"); do
    s=$(now); "$1" network create "$NET" >/dev/null; "$1" network rm "$NET" >/dev/null
    t+=($(( ($(now) - s) / 1000 )))
  done
  median "${t[@]}"
}

serve_big() { # TOOL PORT: a container serving a 200 MiB file; prints its ID
  local id
  id=$("$1" run -d -p "127.0.0.1:$2:80" "$IMG" sh -c 'dd if=/dev/zero of=/www/big bs=1M count=200 2>/dev/null && exec httpd -f -p 80 -h /www')
  until curl -sf -o /dev/null "http://127.0.0.1:$2/big"; do sleep 0.1; done
  echo "$id"
}

throughput() { # MiB/s through each engine's published port, downloads interleaved
  local d w dv=() wv=() i          # so that load from elsewhere hits both alike
  d=$(serve_big "$DOCKER" 43000)
  w=$(serve_big "$WHARF" 43001)
  for i in $(seq 9); do
    dv+=($(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:43000/big"))
    wv+=($(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:43001/big"))
  done
  "$DOCKER" rm -f "$d" >/dev/null
  "$WHARF" rm -f "$w" >/dev/null
  res[tput.docker]=$(median "${dv[@]}" | awk '{print $1 / 1048576}')
  res[tput.wharf]=$(median "${wv[@]}" | awk '{print $1 / 1048576}')
}

MV_SUBNET=10.213.250.0/24
mv_create_rm() { # TOOL: µs for a macvlan network create + rm
  local t=() i s
  for i in $(seq "$RUNS"); do
    s=$(now)
    "$1" network create -d macvlan --subnet "$MV_SUBNET" -o parent="$PARENT" "$MV" >/dev/null
    "$1" network rm "$MV" >/dev/null
    t+=($(( ($(now) - s) / 1000 )))
  done
  median "${t[@]}"
}

mv_run() { # TOOL: µs for `run -d` on a macvlan network (until it returns)
  local t=() i s id
  "$1" network create -d macvlan --subnet "$MV_SUBNET" -o parent="$PARENT" "$MV" >/dev/null
  id=$("$1" run -d --network "$MV" "$IMG" sleep 60); "$1" rm -f "$id" >/dev/null   # warm
  for i in $(seq "$RUNS"); do
    s=$(now)
    id=$("$1" run -d --network "$MV" "$IMG" sleep 60)
    t+=($(( ($(now) - s) / 1000 )))
    "$1" rm -f "$id" >/dev/null
  done
  "$1" network rm "$MV" >/dev/null
  median "${t[@]}"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS, sections: $SECTIONS" >&2
if has bridge; then
  res[run.docker]=$(run_p "$DOCKER" 41000)
  res[run.wharf]=$(run_p "$WHARF" 42000)
  res[net.docker]=$(net_create_rm "$DOCKER")
  res[net.wharf]=$(net_create_rm "$WHARF")
  throughput
fi
if has macvlan; then
  ip link add "$PARENT" type veth peer name "${PARENT}q"
  ip link set "$PARENT" up
  res[mvnet.docker]=$(mv_create_rm "$DOCKER")
  res[mvnet.wharf]=$(mv_create_rm "$WHARF")
  res[mvrun.docker]=$(mv_run "$DOCKER")
  res[mvrun.wharf]=$(mv_run "$WHARF")
fi

out=$(
  printf '# bench/network.sh, RUNS=%s, %s CPUs, docker %s, load %s\n' "$RUNS" "$(nproc)" \
    "$("$DOCKER" version --format '{{.Server.Version}}')" "$(cut -d' ' -f1 /proc/loadavg)"
  printf '%-34s %10s %10s %8s\n' metric docker wharf ratio
  for m in run net mvnet mvrun; do
    [[ -n ${res[$m.docker]:-} ]] || continue
    d=${res[$m.docker]} w=${res[$m.wharf]}
    case $m in
      run) label="run -d -p to first 200 (ms)" ;;
      net) label="network create + rm (ms)" ;;
      mvnet) label="macvlan network create + rm (ms)" ;;
      mvrun) label="run -d on macvlan (ms)" ;;
    esac
    printf '%-34s %10.1f %10.1f %7.2fx\n' "$label" "$(echo "$d/1000" | bc -l)" "$(echo "$w/1000" | bc -l)" "$(echo "$w/$d" | bc -l)"
  done
  if [[ -n ${res[tput.docker]:-} ]]; then
    d=${res[tput.docker]} w=${res[tput.wharf]}
    printf '%-34s %10.0f %10.0f %7.2fx\n' "loopback via -p (MiB/s)" "$d" "$w" "$(echo "$w/$d" | bc -l)"
  fi
  echo "(ratio = wharf / docker: lower is better for times, higher for throughput)"
)
echo "$out"
mkdir -p bench/results
echo "$out" >"bench/results/network-$(date +%Y%m%d-%H%M).txt"
