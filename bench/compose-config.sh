#!/usr/bin/env bash
# `compose config` of a 100-service project: wharf compose vs docker compose
# (v2.40, the docker CLI plugin), side by side, mean wall time of N runs.
# Target: wharf under 30 ms. Results go to bench/results/compose-config-*.txt.
# Usage: bench/compose-config.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
WHARF=${WHARF:-$(scripts/build.sh bench)}
DC=${DOCKER_COMPOSE:-$HOME/.docker/cli-plugins/docker-compose}
runs=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 100 services using the usual keys: build, ports, env, volumes, depends_on,
# healthcheck, networks, an anchor merged into each.
{
  echo 'x-common: &common'
  echo '  restart: unless-stopped'
  echo '  logging: {driver: json-file, options: {max-size: 10m}}'
  echo 'services:'
  for i in $(seq 1 100); do
    cat <<SVC
  svc$i:
    <<: *common
    image: "registry.local/app$i:\${TAG:-1.0}"
    build: {context: ./app$i, args: ["VERSION=\${TAG:-1.0}"]}
    ports: ["$((10000 + i)):80", "127.0.0.1::$((20000 + i))/udp"]
    environment: [PORT=80, NAME=svc$i, "DB_URL=postgres://db/\${DB:-app}"]
    volumes: [./data$i:/data:ro, cache$i:/cache, /tmp]
    depends_on: [db]
    healthcheck: {test: curl -f localhost, interval: 30s, retries: 3}
    networks: [front, back]
    labels: {com.example.svc: "$i"}
SVC
  done
  cat <<'TAIL'
  db:
    image: postgres:16
    networks: [back]
networks:
  front:
  back:
volumes:
TAIL
  for i in $(seq 1 100); do echo "  cache$i:"; done
} >"$work/compose.yaml"

time_ms() { # mean ms of $runs runs of "$@"
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$runs"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo $(((end - start) / runs / 1000000))
}

cd "$work"
# Same output first (the benchmark compares equal work).
"$WHARF" compose config --format json >wharf.json
"$DC" config --format json >docker.json
cmp -s wharf.json docker.json || { echo "outputs differ" >&2; diff docker.json wharf.json | head >&2; exit 1; }

d_yaml=$(time_ms "$DC" config)
w_yaml=$(time_ms "$WHARF" compose config)
d_json=$(time_ms "$DC" config --format json)
w_json=$(time_ms "$WHARF" compose config --format json)
out=$(
  printf '%-28s %10s %10s %7s\n' metric docker wharf ratio
  printf '%-28s %8sms %8sms %6sx\n' "config (yaml, 100 svc)" "$d_yaml" "$w_yaml" "$(echo "scale=1; $d_yaml / ($w_yaml + 0.0001)" | bc)"
  printf '%-28s %8sms %8sms %6sx\n' "config --format json" "$d_json" "$w_json" "$(echo "scale=1; $d_json / ($w_json + 0.0001)" | bc)"
)
cd - >/dev/null
echo "$out"
mkdir -p bench/results
{ echo "# bench/compose-config.sh, $runs runs each, $(date -u +%FT%TZ), $("$DC" version --short)"; echo "$out"; } \
  >"bench/results/compose-config-$(date -u +%Y%m%d-%H%M).txt"
