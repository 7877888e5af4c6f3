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
#  - throughput vs the kernel (iperf3, TPUT_SECONDS each, the median of
#    RUNS capped at 3): container to container on one bridge (each engine's
#    default bridge), container to host (its bridge's gateway), and
#    container to container on a macvlan network (issue 16: within 10% of
#    the kernel's); the kernel's baseline is the same shape made by hand
#    (two network namespaces on a bridge with veths; two namespaces with
#    macvlan links on the same veth parent). iperf3 is the host's, run in
#    the containers' network namespaces (nsenter), so the image needs none.
# Only loopback traffic and traffic between the namespaces this script or
# the engines make (none leaves the host). Prints medians and ratios;
# saves to bench/results/.
#
#   bench/network.sh               # RUNS=10 by default; needs dockerd running
#   SECTIONS=macvlan RUNS=3 bench/network.sh   # one part only
#   WHARF_BIN=target/debug/wharf ...           # a wharf already built
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
SECTIONS=${SECTIONS:-bridge macvlan throughput}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
RUNS=${RUNS:-10}
TPUT_SECONDS=${TPUT_SECONDS:-5}
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

work=$(mktemp -d /var/tmp/wharf-bench-net.XXXXXX)
export WHARF_ROOT=$work/root
IMG=wharf-bench/busybox-net:1
NET=wharf-bench-net-$$
MV=wharf-bench-mv-$$
PARENT=wbmv$$
PARENT=${PARENT:0:12}
TP_BR=wbtb$$ TP_PARENT=wbtp$$ TP_NS=wharf-bench-tp$$- TP_LABEL=wharf.bench.tput=$$
TP_BR=${TP_BR:0:12} TP_PARENT=${TP_PARENT:0:12}
cleanup() {
  "$DOCKER" ps -aq --filter "network=$MV" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" network rm "$MV" >/dev/null 2>&1 || true
  "$WHARF" network rm "$MV" >/dev/null 2>&1 || true
  ip link del "$PARENT" >/dev/null 2>&1 || true
  "$DOCKER" ps -aq --filter "label=$TP_LABEL" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
  "$DOCKER" network rm "$MV-tp" >/dev/null 2>&1 || true
  "$WHARF" ps -aq --no-trunc --filter "label=$TP_LABEL" 2>/dev/null | xargs -r "$WHARF" rm -f >/dev/null 2>&1 || true
  "$WHARF" network rm "$MV-tp" >/dev/null 2>&1 || true
  iptables -D FORWARD -i "$TP_BR" -o "$TP_BR" -j ACCEPT >/dev/null 2>&1 || true
  ip link del "$TP_BR" >/dev/null 2>&1 || true
  ip link del "$TP_PARENT" >/dev/null 2>&1 || true
  for n in a b c d; do ip netns del "$TP_NS$n" >/dev/null 2>&1 || true; done
  "$WHARF" ps -aq --no-trunc 2>/dev/null | xargs -r "$WHARF" rm -f >/dev/null 2>&1 || true
  # The root's kept default bridge.
  "$WHARF" system prune -f >/dev/null 2>&1 || true
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

declare -A res

first_200() { # TOOL PORT: µs from `run -d -p` to the first HTTP 200
  local s id
  s=${EPOCHREALTIME/./}
  id=$("$1" run -d -p "127.0.0.1:$2:80" "$IMG" httpd -f -p 80 -h /www)
  until curl -sf -o /dev/null "http://127.0.0.1:$2/"; do :; done
  echo $((${EPOCHREALTIME/./} - s))
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
    s=${EPOCHREALTIME/./}; "$1" network create "$NET" >/dev/null; "$1" network rm "$NET" >/dev/null
    t+=($((${EPOCHREALTIME/./} - s)))
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
    s=${EPOCHREALTIME/./}
    "$1" network create -d macvlan --subnet "$MV_SUBNET" -o parent="$PARENT" "$MV" >/dev/null
    "$1" network rm "$MV" >/dev/null
    t+=($((${EPOCHREALTIME/./} - s)))
  done
  median "${t[@]}"
}

mv_run() { # TOOL: µs for `run -d` on a macvlan network (until it returns)
  local t=() i s id
  "$1" network create -d macvlan --subnet "$MV_SUBNET" -o parent="$PARENT" "$MV" >/dev/null
  id=$("$1" run -d --network "$MV" "$IMG" sleep 60); "$1" rm -f "$id" >/dev/null   # warm
  for i in $(seq "$RUNS"); do
    s=${EPOCHREALTIME/./}
    id=$("$1" run -d --network "$MV" "$IMG" sleep 60)
    t+=($((${EPOCHREALTIME/./} - s)))
    "$1" rm -f "$id" >/dev/null
  done
  "$1" network rm "$MV" >/dev/null
  median "${t[@]}"
}

# --- throughput vs the kernel ------------------------------------------------
# Gbit/s received by an iperf3 server run with prefix SERVER (a command that
# enters a namespace, or none) on ADDR, from a client run with prefix CLIENT.
iperf_once() { # SERVER CLIENT ADDR
  local sp out i
  $1 iperf3 -s -1 -B "$3" -p 5201 >/dev/null 2>&1 &
  sp=$!
  for i in $(seq 40); do   # until the server listens
    # iperf3 -J may exit 0 on a refused connection: look for the result.
    out=$($2 iperf3 -c "$3" -p 5201 --connect-timeout 1000 -t "$TPUT_SECONDS" -J 2>/dev/null) || true
    [[ $out == *'"sum_received"'* ]] && break
    out=; sleep 0.05
  done
  [[ -n $out ]] || { kill "$sp" 2>/dev/null; echo "iperf3 to $3 failed" >&2; exit 1; }
  wait "$sp" || true
  python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)' <<<"$out"
}
iperf_median() { # SERVER CLIENT ADDR: the median of min(RUNS, 3) runs
  local t=() i n=$((RUNS < 3 ? RUNS : 3))
  for i in $(seq "$n"); do t+=("$(iperf_once "$@")"); done
  printf '%s\n' "${t[@]}" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
# A container of TOOL for iperf3: prints "PID ADDR GATEWAY".
tp_container() { # BIN [NETWORK]
  local id
  id=$("$1" run -d --label "$TP_LABEL" ${2:+--network "$2"} "$IMG" sleep 1000000)
  "$1" inspect -f '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{.Gateway}}{{end}}' "$id"
}
tp_engine() { # NAME BIN: bridge c2c, c2host, macvlan c2c
  local a b pa ia ga pb ib gb
  read -r pa ia ga < <(tp_container "$2")
  read -r pb ib gb < <(tp_container "$2")
  res[tp.c2c.$1]=$(iperf_median "nsenter -t $pa -n" "nsenter -t $pb -n" "$ia")
  res[tp.c2h.$1]=$(iperf_median "" "nsenter -t $pb -n" "$ga")
  "$2" ps -aq --no-trunc --filter "label=$TP_LABEL" | xargs -r "$2" rm -f >/dev/null
  "$2" network create -d macvlan --subnet 10.213.252.0/24 -o parent="$TP_PARENT" "$MV-tp" >/dev/null
  read -r pa ia ga < <(tp_container "$2" "$MV-tp")
  read -r pb ib gb < <(tp_container "$2" "$MV-tp")
  res[tp.mv.$1]=$(iperf_median "nsenter -t $pa -n" "nsenter -t $pb -n" "$ia")
  "$2" ps -aq --no-trunc --filter "label=$TP_LABEL" | xargs -r "$2" rm -f >/dev/null
  "$2" network rm "$MV-tp" >/dev/null
}
tp_kernel() { # the same shapes by hand: netns + veth + bridge, netns + macvlan
  local n i=2
  ip link add "$TP_BR" type bridge
  ip addr add 10.215.0.1/24 dev "$TP_BR"
  ip link set "$TP_BR" up
  # dockerd's FORWARD policy is DROP and bridged frames pass iptables
  # (br_netfilter): accept this bridge's own traffic, as docker does for
  # its bridges, so the baseline also crosses one rule.
  iptables -I FORWARD -i "$TP_BR" -o "$TP_BR" -j ACCEPT
  for n in a b; do
    ip netns add "$TP_NS$n"
    ip link add "$TP_BR$n" type veth peer name eth0 netns "$TP_NS$n"
    ip link set "$TP_BR$n" master "$TP_BR" up
    ip -n "$TP_NS$n" addr add "10.215.0.$i/24" dev eth0
    ip -n "$TP_NS$n" link set eth0 up
    ip -n "$TP_NS$n" link set lo up
    i=$((i + 1))
  done
  res[tp.c2c.kernel]=$(iperf_median "ip netns exec ${TP_NS}a" "ip netns exec ${TP_NS}b" 10.215.0.2)
  res[tp.c2h.kernel]=$(iperf_median "" "ip netns exec ${TP_NS}b" 10.215.0.1)
  for n in c d; do
    ip netns add "$TP_NS$n"
    ip link add "$TP_PARENT$n" link "$TP_PARENT" type macvlan mode bridge
    ip link set "$TP_PARENT$n" netns "$TP_NS$n"
    ip -n "$TP_NS$n" addr add "10.213.253.$i/24" dev "$TP_PARENT$n"
    ip -n "$TP_NS$n" link set "$TP_PARENT$n" up
    i=$((i + 1))
  done
  res[tp.mv.kernel]=$(iperf_median "ip netns exec ${TP_NS}c" "ip netns exec ${TP_NS}d" 10.213.253.4)
  for n in a b c d; do ip netns del "$TP_NS$n"; done
  iptables -D FORWARD -i "$TP_BR" -o "$TP_BR" -j ACCEPT
  ip link del "$TP_BR"
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

if has throughput; then
  command -v iperf3 >/dev/null || { echo "iperf3 is needed (apt-get install iperf3)" >&2; exit 1; }
  # The macvlan parent: a veth pair, both ends up (a parent without carrier
  # keeps its macvlan children down).
  ip link add "$TP_PARENT" type veth peer name "${TP_PARENT}q"
  ip link set "$TP_PARENT" up
  ip link set "${TP_PARENT}q" up
  tp_kernel
  tp_engine docker "$DOCKER"
  tp_engine wharf "$WHARF"
  ip link del "$TP_PARENT"
fi

out=$(
  results_header network.sh "RUNS=$RUNS, sections: $SECTIONS"
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
  if [[ -n ${res[tp.c2c.kernel]:-} ]]; then
    printf '\n%-34s %10s %10s %10s %8s %8s\n' "iperf3, ${TPUT_SECONDS}s (Gbit/s)" kernel docker wharf d/kern w/kern
    for m in c2c c2h mv; do
      case $m in
        c2c) label="container to container, bridge" ;;
        c2h) label="container to host (gateway)" ;;
        mv) label="container to container, macvlan" ;;
      esac
      k=${res[tp.$m.kernel]} d=${res[tp.$m.docker]} w=${res[tp.$m.wharf]}
      printf '%-34s %10.2f %10.2f %10.2f %7.2fx %7.2fx\n' "$label" "$k" "$d" "$w" \
        "$(echo "$d/$k" | bc -l)" "$(echo "$w/$k" | bc -l)"
    done
    echo "(kernel: namespaces, veths, a bridge or macvlan links made by hand; x/kern: 1.00 = the kernel's)"
  fi
)
echo "$out"
mkdir -p bench/results
echo "$out" >"bench/results/network-$(date +%Y%m%d-%H%M).txt"
