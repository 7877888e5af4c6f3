# Helpers shared by the bench/ scripts that source it (scale.sh,
# network.sh, build.sh, registry.sh): the wharf binary, the reference
# docker, clocks and statistics, the common busybox rootfs, a local
# registry. Source it after `cd` to the repo
# root; it sets WHARF and DOCKER.

WHARF=${WHARF_BIN:-$(scripts/build.sh bench)}
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
"$DOCKER" version >/dev/null 2>&1 || { echo "start dockerd first" >&2; exit 1; }

# Times in microseconds from $EPOCHREALTIME, read in place: no process
# (`date`) and no subshell (`$(now)`: a bash fork, ~0.2 ms) inside a sample.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.0f\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# µs that COMMAND... took (its output dropped); the script stops if it fails.
timed() {
  local s; s=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  echo $((${EPOCHREALTIME/./} - s))
}
# µs that COMMAND... took, its output (stdout and stderr) in LOG; the
# script stops, showing the log's end, if it fails.
timed_log() { # LOG COMMAND...
  local log=$1 s; shift
  s=${EPOCHREALTIME/./}
  "$@" >"$log" 2>&1 || { echo "failed: $*" >&2; tail -n 30 "$log" >&2; exit 1; }
  echo $((${EPOCHREALTIME/./} - s))
}
# RUNS samples of COMMAND..., their median in µs.
median_of() {
  local t=() i
  for i in $(seq "$RUNS"); do t+=("$(timed "$@")"); done
  median "${t[@]}"
}
ms() { echo "$1/1000" | bc -l; }

# DIR: a reproducible tar of the host's static busybox with APPLETS...
# linked, /etc/passwd and /www/index.html; prints the tar's path.
bench_rootfs() {
  local dir=$1 a; shift
  mkdir -p "$dir/rootfs/"{bin,etc,tmp,proc,sys,dev,www}
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  for a in "$@"; do ln -sf busybox "$dir/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/rootfs/etc/passwd"
  echo hello >"$dir/rootfs/www/index.html"
  tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
  echo "$dir/rootfs.tar"
}

# Proportional set size (KiB) of PIDS..., shared pages split among their
# sharers: the fair sum for processes that share one binary.
pss_kib() {
  local p sum=0 v
  for p in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || v=0
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# The header line of a results file: script, parameters, machine, docker.
results_header() { # NAME PARAMS
  printf '# bench/%s, %s, %s CPUs, docker %s, load %s\n' "$1" "$2" "$(nproc)" \
    "$("$DOCKER" version --format '{{.Server.Version}}')" "$(cut -d' ' -f1 /proc/loadavg)"
}

# A fresh Debian docker-registry (scripts/deps.sh bench) on a free
# loopback port, its storage under DIR (emptied first): plain HTTP, which
# docker and wharf both allow on loopback. Sets REG (host:port) and
# REG_PID; registry_stop ends it (call it from the script's EXIT trap).
REG_PID=""
registry_start() { # DIR
  local dir=$1 port
  command -v docker-registry >/dev/null || { echo "install docker-registry (scripts/deps.sh bench)" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$dir"; mkdir -p "$dir"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}}
http: {addr: 127.0.0.1:$port}
YAML
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  REG_PID=$!
  REG=127.0.0.1:$port
  local i
  for i in $(seq 100); do
    curl -sf "http://$REG/v2/" >/dev/null && return 0
    sleep 0.1
  done
  echo "the registry did not answer on $REG: $(cat "$dir/log")" >&2
  exit 1
}
registry_stop() {
  if [[ -n $REG_PID ]]; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
  REG_PID=""
}
