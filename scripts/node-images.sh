#!/usr/bin/env bash
# Local stand-ins for the official node images (Docker Hub is unreachable):
#   node-18.tar       debootstrap --variant=minbase bookworm + nodejs + npm
#                     with Recommends (compilers, git: like the "fat" image)
#   node-18-slim.tar  minbase + nodejs + npm, --no-install-recommends
# Both trust the host's extra CAs (/usr/local/share/ca-certificates), so
# `npm install` in a build reaches the registry through this machine's
# proxy. Cached in $CACHE_DIR; a rerun with both tarballs present is
# instant. Prints the two tarball paths.
# Import with: wharf import --change 'ENV PATH=...' --change 'CMD ["node"]'.
set -euo pipefail
CACHE_DIR=${CACHE_DIR:-/var/cache/wharf-bench}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
HOST_CA_DIR=${HOST_CA_DIR-/usr/local/share/ca-certificates}
mkdir -p "$CACHE_DIR/apt-archives/partial"

base=$CACHE_DIR/debootstrap/bookworm-minbase
if [[ ! -f $base/.complete ]]; then
  rm -rf "$base"; mkdir -p "$base"
  debootstrap --variant=minbase --cache-dir="$CACHE_DIR/apt-archives" bookworm "$base" "$MIRROR" >&2
  touch "$base/.complete"
fi

# make NAME APT-ARGS...: the tarball $CACHE_DIR/NAME.tar, unless present.
make() {
  local name=$1 tar=$CACHE_DIR/$1.tar work; shift
  if [[ -f $tar ]]; then echo "$tar"; return; fi
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
}
make node-18 nodejs npm
make node-18-slim --no-install-recommends nodejs npm
