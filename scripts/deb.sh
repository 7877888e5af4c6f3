#!/usr/bin/env bash
# Build a Debian package of wharf (cargo deb's layout, made with dpkg-deb):
# /usr/bin/wharf (stripped; its debug info in /usr/lib/debug), wharf-compose,
# wharf-runc, completions and man pages, as scripts/install.sh installs them.
# Usage: scripts/deb.sh [OUTDIR]   (default: target/debian under the build dir)
# WHARF_BIN packages that binary instead of building one; DEB_COMPRESS is
# dpkg-deb's -Z (default xz; gzip or none are much faster).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${WHARF_BIN:-$(scripts/build.sh demo)}
out=${1:-$(dirname "$(dirname "$bin")")/debian}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
pkg=$(mktemp -d)
chmod 0755 "$pkg"
trap 'rm -rf "$pkg"' EXIT
DESTDIR=$pkg PREFIX=/usr scripts/install.sh "$bin" >/dev/null
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/doc/wharf"
cp README.md "$pkg/usr/share/doc/wharf/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: wharf
Version: $version
Architecture: $arch
Maintainer: wharf developers <wharf@localhost>
Installed-Size: $size
Depends: libc6, libgcc-s1, libseccomp2, nftables
Recommends: tini
Section: admin
Priority: optional
Description: Docker-compatible container engine without a daemon
 wharf runs docker's verbs, flags, output and file formats (images,
 containers, builds, volumes, networks, registries, compose) directly,
 without a daemon.
CONTROL
mkdir -p "$out"
deb=$out/wharf_${version}_$arch.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" --build "$pkg" "$deb" >/dev/null
echo "$deb"
