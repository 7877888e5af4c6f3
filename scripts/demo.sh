#!/usr/bin/env bash
# wharf's main job, end to end on a fresh Debian 12: install what is needed,
# build wharf, and walk through the image store (import a busybox rootfs
# from the host's busybox-static, list, tag, inspect, history, save, load).
set -euo pipefail
cd "$(dirname "$0")/.."
wharf=$(scripts/build.sh demo)

export WHARF_ROOT=${WHARF_ROOT:-/var/tmp/wharf-demo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# A root filesystem made of the host's static busybox.
mkdir -p "$work/rootfs/"{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh echo cat ls env sleep id hostname httpd wget ps; do ln -s busybox "$work/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .

step wharf import rootfs.tar busybox:local --change 'CMD ["sh"]'
"$wharf" import "$work/rootfs.tar" busybox:local --change 'CMD ["sh"]' --change 'ENV PATH=/bin'
step wharf images
"$wharf" images
step wharf tag busybox:local me/bb:1.0
"$wharf" tag busybox:local me/bb:1.0
step "wharf image inspect --format '{{.Id}} {{.Config.Cmd}} {{.Size}}' me/bb:1.0"
"$wharf" image inspect --format '{{.Id}} {{.Config.Cmd}} {{.Size}}' me/bb:1.0
step wharf history me/bb:1.0
"$wharf" history me/bb:1.0
step wharf save -o bb.tar me/bb:1.0
"$wharf" save -o "$work/bb.tar" me/bb:1.0
ls -l "$work/bb.tar"
step wharf rmi me/bb:1.0 busybox:local
"$wharf" rmi me/bb:1.0 busybox:local
step wharf load -i bb.tar
"$wharf" load -i "$work/bb.tar"
step wharf images
"$wharf" images
step wharf system df
"$wharf" system df
