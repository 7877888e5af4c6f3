#!/usr/bin/env bash
# wharf's main job, end to end on a fresh Debian 12: the multi-stage
# build-and-run walkthrough (a Node.js app built in node:18, shipped in
# node:18-slim), as the tutorial does it with docker:
#   build -t node-multi-stage-app . ; run -d -p 3000:3000 ; curl ; images
# Installs what it needs, builds wharf and installs it as a tool
# (/usr/local/bin/wharf, wharf-compose, completions, man pages;
# scripts/uninstall.sh takes it away), makes the node base images locally
# (debootstrap; Docker Hub is not needed) and imports them into wharf's
# default store, so that `wharf images` afterwards shows what the
# walkthrough made.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
scripts/demo-install.sh wharf-run   # WHARF_BIN: a wharf already built
wharf=/usr/local/bin/wharf
PORT=${PORT:-3000}

# Base images: node:18 and node:18-slim from Debian bookworm's nodejs 18.
mapfile -t tars < <(scripts/node-images.sh)
for i in 0 1; do
  ref=(node:18 node:18-slim); ref=${ref[$i]}
  if ! "$wharf" image inspect "$ref" >/dev/null 2>&1; then
    step wharf import "$(basename "${tars[$i]}")" "$ref"
    "$wharf" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' "${tars[$i]}" "$ref"
  fi
done
"$wharf" rm -f my_node_app >/dev/null 2>&1 || true

app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp -a examples/node-multi-stage/. "$app/"
cd "$app"
step cat Dockerfile
cat Dockerfile
step wharf build -t node-multi-stage-app .
"$wharf" build -t node-multi-stage-app .
step wharf run -d -p "$PORT:3000" --name my_node_app node-multi-stage-app
"$wharf" run -d -p "$PORT:3000" --name my_node_app node-multi-stage-app
step curl "http://localhost:$PORT"
for _ in $(seq 1 100); do curl -fsS "http://localhost:$PORT" 2>/dev/null && break; sleep 0.1; done
step wharf build -t node-single-stage-app -f Dockerfile.single .
"$wharf" build -q -t node-single-stage-app -f Dockerfile.single .
step wharf images
"$wharf" images
step wharf stop my_node_app '&&' wharf rm my_node_app
"$wharf" stop my_node_app && "$wharf" rm my_node_app

cat <<'DONE'

wharf is installed (man wharf, tab completion in new shells). Go on from here:
  wharf images                                  # the images the walkthrough built
  wharf run -d -p 3000:3000 --name my_node_app node-multi-stage-app
  wharf ps ; wharf logs my_node_app ; wharf rm -f my_node_app
Uninstall: scripts/uninstall.sh (add --purge to remove the store, /var/lib/wharf).
DONE
