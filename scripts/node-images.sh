#!/usr/bin/env bash
# Local stand-ins for the official node images (Docker Hub is unreachable),
# made by scripts/debian-image.sh:
#   node-18.tar       debootstrap --variant=minbase bookworm + nodejs + npm
#                     with Recommends (compilers, git: like the "fat" image)
#   node-18-slim.tar  minbase + nodejs + npm, --no-install-recommends
# Cached in $CACHE_DIR; a rerun with both tarballs present is instant.
# Prints the two tarball paths.
# Import with: wharf import --change 'ENV PATH=...' --change 'CMD ["node"]'.
set -euo pipefail
here=$(dirname "$0")
"$here/debian-image.sh" node-18 nodejs npm
"$here/debian-image.sh" node-18-slim --no-install-recommends nodejs npm
