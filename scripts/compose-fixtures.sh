#!/usr/bin/env bash
# Regenerates the expected outputs of the compose fixtures
# (crates/wharf-compose/tests/fixtures/<case>/) with the real Docker Compose:
#   expected.json  `config --format json` stdout
#   expected.yaml  `config` stdout
#   expected.stderr / expected.rc  what it printed on stderr and its exit code
# A case may hold `args` (project flags, e.g. `-f a.yaml --profile x`), `env`
# (KEY=VALUE lines, the only environment besides PATH and HOME) and `cwd`
# (the subdirectory to run in). Absolute paths of the case become {{DIR}},
# log timestamps are dropped.
# Usage: scripts/compose-fixtures.sh [CASE...]   (DOCKER_COMPOSE=path to override)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/crates/wharf-compose/tests/fixtures
dc=${DOCKER_COMPOSE:-$HOME/.docker/cli-plugins/docker-compose}
[[ -x $dc ]] || { echo "docker-compose not found at $dc (scripts/deps.sh test installs it)" >&2; exit 1; }

run_case() {
  local dir=$1 out=$2; shift 2
  local args=() envs=(PATH="$PATH" HOME="$HOME") cwd=$dir
  [[ -f $dir/args ]] && { read -r -a args <"$dir/args" || true; }
  if [[ -f $dir/env ]]; then while IFS= read -r l; do [[ -n $l ]] && envs+=("$l"); done <"$dir/env"; fi
  [[ -f $dir/cwd ]] && cwd=$dir/$(cat "$dir/cwd")
  local rc=0
  (cd "$cwd" && env -i "${envs[@]}" "$dc" "${args[@]}" config "$@") >"$out.tmp" 2>"$out.err.tmp" || rc=$?
  sed -e "s#$dir#{{DIR}}#g" "$out.tmp" >"$out"
  sed -e "s#$dir#{{DIR}}#g" -e 's/^time="[^"]*" //' "$out.err.tmp" >"$out.stderr"
  echo "$rc" >"$out.rc"
  rm -f "$out.tmp" "$out.err.tmp"
}

cases=("$@")
((${#cases[@]})) || mapfile -t cases < <(ls "$root")
for c in "${cases[@]}"; do
  dir=$root/$c
  run_case "$dir" "$dir/expected.json" --format json
  run_case "$dir" "$dir/expected.yaml"
  # One exit code and stderr per case: the JSON run's (the YAML run says the same).
  mv "$dir/expected.json.rc" "$dir/expected.rc"
  mv "$dir/expected.json.stderr" "$dir/expected.stderr"
  rm -f "$dir/expected.yaml.rc" "$dir/expected.yaml.stderr"
  if [[ $(cat "$dir/expected.rc") != 0 ]]; then rm -f "$dir/expected.json" "$dir/expected.yaml"; fi
  echo "$c: rc=$(cat "$dir/expected.rc")"
done
