#!/usr/bin/env bash
# Side by side: wharf-runc vs Debian's runc as the OCI runtime of the real
# engines. `ctr run --rm` of busybox on a private containerd 1.6 with
# `--runc-binary` each, and `docker run --rm` on a private dockerd 20.10
# with `--runtime wharf` vs its default runc. Prints medians and ratios
# runc/wharf-runc, and writes them to bench/results/runc-DATE.txt.
# Targets (issue 19): ctr run --rm >= 2x faster; docker run --runtime wharf
# faster than dockerd's runc.
# The floor: the same runs with bench/noop-runtime.c (built here with cc),
# a runtime that does nothing but what the shim needs. What is left is
# containerd's, the shim's and the client's own time, and runc/no-op is
# the best ratio any runtime can reach ("best" column).
#
#   bench/runc.sh                 # RUNS=20; needs containerd, ctr, dockerd, runc, cc
#   RUNS=3 bench/runc.sh          # a smoke run
#   WHARF=path/to/wharf bench/runc.sh   # skip the release build
# The main dockerd is not touched: both engines run on temp roots and
# sockets (dockerd with its own bridge and no iptables), stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=${WHARF:-$(scripts/build.sh bench)}
RUNS=${RUNS:-20}
RUNC=${RUNC:-/usr/sbin/runc}
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
for t in containerd ctr dockerd cc "$RUNC"; do
  command -v "$t" >/dev/null || { echo "bench/runc.sh: $t is missing" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/wharf-bench-runc.XXXXXX)
ln -s "$(realpath "$WHARF")" "$work/wharf-runc"
NOOP=$work/noop-runtime
cc -O2 -o "$NOOP" bench/noop-runtime.c
ns=bench$$
bridge=wrb$(( $$ % 100000 ))
ctrd= dockerd=
cleanup() {
  if [[ -n $ctrd ]]; then
    for t in $(ctr -a "$work/c.sock" -n "$ns" task ls -q 2>/dev/null); do
      ctr -a "$work/c.sock" -n "$ns" task delete -f "$t" >/dev/null 2>&1 || true
    done
    for c in $(ctr -a "$work/c.sock" -n "$ns" container ls -q 2>/dev/null); do
      ctr -a "$work/c.sock" -n "$ns" container delete "$c" >/dev/null 2>&1 || true
    done
    kill "$ctrd" 2>/dev/null && wait "$ctrd" 2>/dev/null || true
    rmdir /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns" 2>/dev/null || true
  fi
  if [[ -n $dockerd ]]; then
    "$DOCKER" -H "unix://$work/d.sock" ps -aq 2>/dev/null | xargs -r "$DOCKER" -H "unix://$work/d.sock" rm -f >/dev/null 2>&1 || true
    kill "$dockerd" 2>/dev/null && wait "$dockerd" 2>/dev/null || true
  fi
  ip link del "$bridge" 2>/dev/null || true
  umount -R "$work/state" "$work/exec" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The busybox rootfs, as an image for both engines.
mkdir -p "$work/rootfs/"{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh echo sleep true; do ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$WHARF" --root "$work/wroot" import --change 'ENV PATH=/bin' "$work/rootfs.tar" bench/busybox:1 >/dev/null
"$WHARF" --root "$work/wroot" save -o "$work/image.tar" bench/busybox:1

cat >"$work/containerd.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
ctrd=$!
CTR=(ctr -a "$work/c.sock" -n "$ns")
for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${CTR[@]}" image import --base-name docker.io/bench/busybox "$work/image.tar" >/dev/null
IMG=docker.io/bench/busybox:1

ip link add "$bridge" type bridge
# A subnet no test uses (theirs are 10.213-10.219/16, runc.rs's 10.233).
ip addr add "10.232.$(( $$ % 250 )).1/24" dev "$bridge"
ip link set "$bridge" up
echo '{}' >"$work/daemon.json"
dockerd --config-file "$work/daemon.json" --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/docker.pid" \
  -H "unix://$work/d.sock" --bridge "$bridge" --iptables=false --ip6tables=false \
  --add-runtime "wharf=$work/wharf-runc" --add-runtime "noop=$NOOP" >"$work/dockerd.log" 2>&1 &
dockerd=$!
D=("$DOCKER" -H "unix://$work/d.sock")
for _ in $(seq 300); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${D[@]}" import --change 'ENV PATH=/bin' "$work/rootfs.tar" busybox-import >/dev/null

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A res
time_runs() { # command...: median microseconds over RUNS, after 2 warm-ups
  local t=() i s
  for i in 1 2; do "$@" >/dev/null; done
  for i in $(seq "$RUNS"); do
    s=${EPOCHREALTIME/./}; "$@" >/dev/null; t+=($(( ${EPOCHREALTIME/./} - s )))
  done
  median "${t[@]}"
}
ctr_run() { "${CTR[@]}" run --rm --runc-binary "$1" --runc-root "$work/runc-$(basename "$1")" "$IMG" "b$RANDOM$RANDOM" echo hi; }
docker_run() { "${D[@]}" run --rm --runtime "$1" busybox-import echo hi; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS" >&2
res[ctr.runc]=$(time_runs ctr_run "$RUNC")
res[ctr.wharf]=$(time_runs ctr_run "$work/wharf-runc")
res[docker.runc]=$(time_runs docker_run runc)
res[docker.wharf]=$(time_runs docker_run wharf)
res[ctr.noop]=$(time_runs ctr_run "$NOOP")
res[docker.noop]=$(time_runs docker_run noop)

out=bench/results/runc-$(date +%Y%m%d-%H%M).txt
{
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $RUNS, $("$RUNC" --version | head -1), containerd $(containerd --version | awk '{print $3}')"
  printf '%-36s %10s %10s %7s %10s %7s\n' metric runc wharf-runc ratio no-op best
  for m in ctr docker; do
    r=${res[$m.runc]} w=${res[$m.wharf]} n=${res[$m.noop]}
    name=$([[ $m == ctr ]] && echo "ctr run --rm echo hi (ms)" || echo "docker run --rm [--runtime] (ms)")
    printf '%-36s %10.1f %10.1f %6.2fx %10.1f %6.2fx\n' "$name" "$(echo "$r/1000" | bc -l)" "$(echo "$w/1000" | bc -l)" \
      "$(echo "$r/$w" | bc -l)" "$(echo "$n/1000" | bc -l)" "$(echo "$r/$n" | bc -l)"
  done
} | tee "$out"
