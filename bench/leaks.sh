#!/usr/bin/env bash
# N `run --rm` in a row (default 1000), then check that nothing leaked:
# mounts, cgroups, processes, open fds of the store, container rows/dirs.
# Prints the time per run and one line per check; exits 1 on a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=$(scripts/build.sh bench)
N=${N:-1000}
work=$(mktemp -d /var/tmp/wharf-leaks.XXXXXX)
export WHARF_ROOT=$work/root
# The root keeps its default bridge while it lives: `system prune` frees it.
trap '"$WHARF" system prune -f >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin"; cp /bin/busybox "$work/rootfs/bin/"; ln -s busybox "$work/rootfs/bin/true"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$WHARF" import "$work/rootfs.tar" leak:1 >/dev/null

count_cgroups() { find /sys/fs/cgroup -maxdepth 3 -path '*/wharf/*' -type d 2>/dev/null | wc -l; }
count_zombies() { ps -e -o stat= | grep -c '^Z' || true; }
cg0=$(count_cgroups); zombies0=$(count_zombies)
t0=$(date +%s%N)
for _ in $(seq "$N"); do "$WHARF" run --rm leak:1 /bin/true; done
t1=$(date +%s%N)
echo "$N runs: $(( (t1 - t0) / N / 1000 )) us per run" >&2

# The last monitor may still be deleting its trashed directory after its
# CLI returned (by design), and monitors outlive their CLI, so PID 1 reaps
# them (this VM's init does so lazily): give both a moment, then look.
for _ in $(seq 250); do
  pgrep -f -- "$WHARF_ROOT" >/dev/null || (( $(count_zombies) > zombies0 )) || break
  sleep 0.02
done

fail=0
check() { if [[ $2 == "$3" ]]; then echo "ok    $1"; else echo "LEAK  $1: $2 (expected $3)"; fail=1; fi; }
check "mounts under the store" "$(grep -c "$WHARF_ROOT" /proc/mounts || true)" 0
check "container cgroups" "$(count_cgroups)" "$cg0"
check "monitors and container processes" "$(pgrep -f -- "$WHARF_ROOT" | wc -l)" 0
# Fewer zombies than at the start is fine (PID 1 reaped unrelated ones).
z=$(count_zombies); (( z < zombies0 )) && z=$zombies0
check "zombies" "$z" "$zombies0"
check "container rows" "$("$WHARF" ps -aq | wc -l)" 0
check "container dirs" "$(find "$WHARF_ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0
check "temp files" "$(find "$WHARF_ROOT/tmp" "$WHARF_ROOT/trash" -mindepth 1 | wc -l)" 0
exit $fail
