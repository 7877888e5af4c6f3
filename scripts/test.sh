#!/usr/bin/env bash
# The whole test suite, as root, against the real kernel and the real docker
# (dockerd is started for the interop tests and stopped again if we started it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/wharf-target}
export DOCKER_BIN=${DOCKER_BIN:-/usr/bin/docker}

dockerd_pid=""
stop_dockerd() {
  if [[ -n $dockerd_pid ]]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
}
trap stop_dockerd EXIT
if ! "$DOCKER_BIN" version >/dev/null 2>&1; then
  dockerd >/var/tmp/wharf-test-dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do "$DOCKER_BIN" version >/dev/null 2>&1 && break; sleep 0.5; done
  "$DOCKER_BIN" version >/dev/null || { tail -20 /var/tmp/wharf-test-dockerd.log >&2; echo "dockerd did not start" >&2; exit 1; }
fi

cargo fmt --all -- --check
cargo clippy -q --workspace --all-targets -- -D warnings
# What docker holds before the tests: whatever is new after them, a test
# left behind (each test removes what it made, even when it fails).
docker_objects() {
  { "$DOCKER_BIN" images -aq --no-trunc | sed 's/^/image /'
    "$DOCKER_BIN" ps -aq --no-trunc | sed 's/^/container /'
    "$DOCKER_BIN" volume ls -q | sed 's/^/volume /'
    "$DOCKER_BIN" network ls -q --no-trunc | sed 's/^/network /'; } | sort -u
}
before=$(docker_objects)
status=0
cargo nextest run --workspace --no-fail-fast || status=$?
left=$(comm -13 <(echo "$before") <(docker_objects))
if [[ -n $left ]]; then
  echo "the tests left these in docker:" >&2
  echo "$left" >&2
  status=1
fi
exit "$status"
