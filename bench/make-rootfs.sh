#!/usr/bin/env bash
# A ~1 GB Debian rootfs tarball for the image-store benchmark: bookworm
# minbase (debootstrap) + Debian's nodejs and npm, like the node:18 image
# tutorials use. Cached in $CACHE_DIR; a rerun with the tarball present is
# instant. Output path on stdout.
set -euo pipefail
CACHE_DIR=${CACHE_DIR:-/var/cache/wharf-bench}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TAR=$CACHE_DIR/node-18.tar
if [[ -f $TAR ]]; then echo "$TAR"; exit 0; fi

mkdir -p "$CACHE_DIR/apt-archives/partial"
base=$CACHE_DIR/debootstrap/bookworm-minbase
if [[ ! -f $base/.complete ]]; then
  rm -rf "$base"; mkdir -p "$base"
  debootstrap --variant=minbase --cache-dir="$CACHE_DIR/apt-archives" bookworm "$base" "$MIRROR" >&2
  touch "$base/.complete"
fi
work=$(mktemp -d "$CACHE_DIR/node-18.XXXXXX")
cleanup() {
  for m in proc var/cache/apt/archives; do mountpoint -q "$work/$m" && umount -l "$work/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$base/." "$work/"; rm -f "$work/.complete"
cp /etc/resolv.conf "$work/etc/resolv.conf"
mount -t proc proc "$work/proc"
mount --bind "$CACHE_DIR/apt-archives" "$work/var/cache/apt/archives"
chroot "$work" env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && apt-get install -y -qq nodejs npm' >&2
umount "$work/var/cache/apt/archives" "$work/proc"
rm -rf "$work"/var/lib/apt/lists/* "$work"/var/cache/apt/*.bin; : >"$work/etc/resolv.conf"
tar --numeric-owner -C "$work" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
echo "$TAR"
