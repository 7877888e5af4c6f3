#!/usr/bin/env bash
# wharf's second job, end to end on a fresh Debian 12: a multi-container
# app with `wharf compose`, shaped as the seed tutorial's (a Node.js
# service built from `.`, published on 3000, depending on a database with
# a named volume, both on `app-network`). The database is Redis from
# Debian's packages (Docker Hub is unreachable here) and the app counts
# its visits in it (Docker's Compose getting-started app, in Node):
#   up -d ; curl ; down ; up -d (the count survives: named volume) ;
#   logs ; ps ; build after an edit ; up -d --scale app=3 ; down -v
# Installs wharf as a tool like scripts/demo.sh (WHARF_BIN: a wharf
# already built, installed as it is), makes node:18 and redis:7 locally
# (scripts/debian-image.sh) and imports them into wharf's store.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
scripts/demo-install.sh wharf-compose-up   # WHARF_BIN: a wharf already built
wharf=/usr/local/bin/wharf

# Base images: node:18 (Debian's nodejs 18) and redis:7 (Debian's redis 7.0).
node_tar=$(scripts/node-images.sh | sed -n 1p)
redis_tar=$(scripts/debian-image.sh redis-7 --no-install-recommends redis-server)
if ! "$wharf" image inspect node:18 >/dev/null 2>&1; then
  step wharf import "$(basename "$node_tar")" node:18
  "$wharf" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$node_tar" node:18
fi
if ! "$wharf" image inspect redis:7 >/dev/null 2>&1; then
  step wharf import "$(basename "$redis_tar")" redis:7
  "$wharf" import --change 'EXPOSE 6379' \
    --change 'CMD ["redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]' \
    "$redis_tar" redis:7
fi

work=$(mktemp -d)
app=$work/my-app
cp -a examples/compose-visits "$app"
cd "$app"
compose() { "$wharf" compose "$@"; }
cleanup() { compose down -v >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# The app answers once it listens; poll for it rather than guess.
visit() { # visit PORT
  for _ in $(seq 1 100); do curl -fsS "http://localhost:$1" 2>/dev/null && return; sleep 0.1; done
  echo "no answer on port $1" >&2; return 1
}

step cat docker-compose.yml
cat docker-compose.yml
step wharf compose up -d
compose up -d
step curl http://localhost:3000 '(twice)'
visit 3000; visit 3000
step wharf compose down
compose down
step wharf compose up -d
compose up -d
step curl http://localhost:3000 '(the count lives in the redis-data volume)'
visit 3000
step wharf compose ps
compose ps
step wharf compose logs
compose logs --no-color
step "sed -i 's/Hello from/Hello again from/' app.js && wharf compose build"
sed -i 's/Hello from/Hello again from/' app.js
compose build
step wharf compose up -d '(recreates app: its image changed)'
compose up -d
visit 3000
step cat docker-compose.scale.yml
cat docker-compose.scale.yml
step wharf compose -f docker-compose.yml -f docker-compose.scale.yml up -d --scale app=3
compose -f docker-compose.yml -f docker-compose.scale.yml up -d --scale app=3
compose ps
step curl http://localhost:3000 http://localhost:3001 http://localhost:3002
visit 3000; visit 3001; visit 3002
step wharf compose down -v
compose down -v
trap - EXIT; rm -rf "$work"

cat <<'DONE'

Go on from here (examples/compose-visits holds the app):
  cd examples/compose-visits && wharf compose up -d && curl localhost:3000
  wharf compose logs -f      # Ctrl-C to stop following
  wharf compose down -v      # docker-compose, as wharf-compose, works too
DONE
