#!/usr/bin/env bash
# The walkthroughs' first step (scripts/demo.sh, scripts/compose-demo.sh):
# build wharf (or take WHARF_BIN, a wharf already built) and install it
# like a packaged tool (scripts/install.sh), saying what was installed.
# Usage: scripts/demo-install.sh [MAN-PAGE-EXAMPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
built=${WHARF_BIN:-$(scripts/build.sh demo)}
printf '\n\033[1m$ %s\033[0m\n' scripts/install.sh
installed=$(scripts/install.sh "$built")
grep -v '/man1/' <<<"$installed" | sed 's/^/  installed /'
echo "  installed $(grep -c '/man1/' <<<"$installed") man pages (man wharf, man ${1:-wharf-run} ...)"
