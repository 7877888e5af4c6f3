#!/usr/bin/env bash
# A root filesystem tarball from Debian 12 packages, as a local stand-in
# for an image of Docker Hub (unreachable here):
#   scripts/debian-image.sh NAME APT-ARGS...
# debootstrap --variant=minbase bookworm, then `apt-get install APT-ARGS`;
# the host's extra CAs are trusted (/usr/local/share/ca-certificates), so
# `npm install` and the like reach their registries through this
# machine's proxy. Cached as $CACHE_DIR/NAME.tar (a rerun is instant);
# prints its path. Import with `wharf import --change ... TAR REF`.
set -euo pipefail
CACHE_DIR=${CACHE_DIR:-/var/cache/wharf-bench}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
HOST_CA_DIR=${HOST_CA_DIR-/usr/local/share/ca-certificates}
name=$1; shift
tar=$CACHE_DIR/$name.tar
if [[ -f $tar ]]; then echo "$tar"; exit 0; fi
mkdir -p "$CACHE_DIR/apt-archives/partial"

base=$CACHE_DIR/debootstrap/bookworm-minbase
if [[ ! -f $base/.complete ]]; then
  rm -rf "$base"; mkdir -p "$base"
  debootstrap --variant=minbase --cache-dir="$CACHE_DIR/apt-archives" bookworm "$base" "$MIRROR" >&2
  touch "$base/.complete"
fi

work=$(mktemp -d "$CACHE_DIR/$name.XXXXXX")
# shellcheck disable=SC2064
trap "for m in proc var/cache/apt/archives; do mountpoint -q '$work/'\$m && umount -l '$work/'\$m; done; rm -rf '$work'" EXIT
cp -a "$base/." "$work/"; rm -f "$work/.complete"
cp /etc/resolv.conf "$work/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"; chmod 0755 "$work/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$work/etc/dpkg/dpkg.cfg.d/unsafe-io"
mount -t proc proc "$work/proc"
mount --bind "$CACHE_DIR/apt-archives" "$work/var/cache/apt/archives"
chroot "$work" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
  sh -c 'apt-get update -qq && apt-get install -y -qq "$@"' apt "$@" >&2
umount "$work/var/cache/apt/archives" "$work/proc"
if [[ -n $HOST_CA_DIR ]] && compgen -G "$HOST_CA_DIR/*.crt" >/dev/null; then
  mkdir -p "$work/usr/local/share/ca-certificates/host"
  cp "$HOST_CA_DIR"/*.crt "$work/usr/local/share/ca-certificates/host/"
  chroot "$work" update-ca-certificates >/dev/null 2>&1 || true
fi
(cd "$work" && rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* \
   var/log/apt/* tmp/* root/.npm usr/sbin/policy-rc.d etc/dpkg/dpkg.cfg.d/unsafe-io &&
 mkdir -p var/lib/apt/lists/partial && : >etc/resolv.conf)
tar --numeric-owner --sort=name -C "$work" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
for m in proc var/cache/apt/archives; do mountpoint -q "$work/$m" && umount -l "$work/$m"; done
rm -rf "$work"; trap - EXIT
echo "$tar"
