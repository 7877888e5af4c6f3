#!/usr/bin/env bash
# Install what PURPOSE (demo|test|bench) needs, build wharf in release mode,
# and print the binary's path. Usage: wharf=$(scripts/build.sh demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh "${1:-demo}"
export PATH=$HOME/.cargo/bin:$PATH
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/wharf-target}
cargo build --release -q -p wharf >&2
echo "$CARGO_TARGET_DIR/release/wharf"
