#!/usr/bin/env bash
# docker-py's integration suite (tests/integration of a docker/docker-py
# checkout, which the project does not vendor) against `wharf serve` and
# against the local dockerd, with pass counts and the share of the tests
# that pass on dockerd which also pass on wharf.
#
#   scripts/docker-py-tests.sh PATH_TO_DOCKER_PY_CHECKOUT [pytest args...]
#
# Needs root, python3 (a venv with docker-py's test requirements is made
# under $DOCKER_PY_VENV, default /var/tmp/wharf-docker-py-venv), the
# host's busybox (the stand-ins for alpine:3.10, alpine:latest and
# busybox:latest that the suite expects: no registry is reachable), a
# built wharf ($WHARF, default target/release/wharf, else target/debug)
# and dockerd. Tests named *prune* are left out on both sides: against a
# shared dockerd they would delete other users' objects, and so are the
# three network tests that init a swarm. The swarm,
# service, node, plugin, secret and config files need swarm mode or
# plugins and are left out too. Logs and junit files go to
# $DOCKER_PY_LOGS (default /tmp).
set -euo pipefail

checkout=${1:?usage: $0 PATH_TO_DOCKER_PY_CHECKOUT [pytest args...]}
shift
checkout=$(cd "$checkout" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
wharf=${WHARF:-}
if [ -z "$wharf" ]; then
    for w in "${CARGO_TARGET_DIR:-$here/target}/release/wharf" "${CARGO_TARGET_DIR:-$here/target}/debug/wharf"; do
        [ -x "$w" ] && { wharf=$w; break; }
    done
fi
[ -x "${wharf:-}" ] || { echo "no wharf binary: build it or set WHARF" >&2; exit 1; }
venv=${DOCKER_PY_VENV:-/var/tmp/wharf-docker-py-venv}
if [ ! -x "$venv/bin/pytest" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "requests>=2.26.0" "urllib3>=1.26.0" "paramiko>=2.4.3" \
        "websocket-client>=1.3.0" "pytest==7.4.2" "pytest-timeout==2.1.0"
fi

work=$(mktemp -d /tmp/wharf-docker-py.XXXXXX)
before=" $(docker ps -aq --no-trunc | tr '\n' ' ') "
server=
made_in_docker=()
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    if [ -d "$work/root" ]; then
        for c in $("$wharf" --root "$work/root" ps -aq 2>/dev/null); do
            "$wharf" --root "$work/root" rm -f "$c" >/dev/null 2>&1 || true
        done
        # The root's kept default bridge.
        "$wharf" --root "$work/root" system prune -f >/dev/null 2>&1 || true
    fi
    # The suite leaves some containers behind on dockerd: those that are
    # new since the start and run a stand-in image are its.
    for c in $(docker ps -aq --no-trunc 2>/dev/null); do
        case " $before " in *" $c "*) continue ;; esac
        img=$(docker inspect -f '{{.Config.Image}}' "$c" 2>/dev/null || true)
        case "$img" in alpine|alpine:*|busybox|busybox:*) docker rm -f "$c" >/dev/null 2>&1 || true ;; esac
    done
    for i in "${made_in_docker[@]}"; do docker rmi "$i" >/dev/null 2>&1 || true; done
    # And volumes named by its helpers.
    docker volume ls -q 2>/dev/null | grep '^dockerpytest_' | xargs -r docker volume rm >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# A busybox root filesystem with every applet, as the stand-in images.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,root,home,proc,sys,dev,var/tmp}
cp /bin/busybox "$rootfs/bin/busybox"
for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
images=(alpine:3.10 alpine:latest busybox:latest)
"$wharf" --root "$work/root" import -c 'CMD ["sh"]' "$work/rootfs.tar" "${images[0]}" >/dev/null
for i in "${images[@]:1}"; do "$wharf" --root "$work/root" tag "${images[0]}" "$i"; done
for i in "${images[@]}"; do
    if ! docker image inspect "$i" >/dev/null 2>&1; then
        docker import -c 'CMD ["sh"]' "$work/rootfs.tar" "$i" >/dev/null
        made_in_docker+=("$i")
    fi
done

# The network tests that init a swarm would do so on the shared dockerd.
deselect=(-k "not prune and not test_create_network_attachable and not test_create_network_ingress and not test_create_inspect_network_with_scope")
for f in api_swarm api_plugin api_secret api_config api_service models_services models_swarm models_nodes; do
    deselect+=(--ignore "tests/integration/${f}_test.py")
done
suite() { # NAME DOCKER_HOST [pytest args...]
    local name=$1 host=$2
    shift 2
    echo "== docker-py against $name"
    (cd "$checkout" && DOCKER_HOST=$host PYTHONPATH=$checkout timeout 3600 "$venv/bin/pytest" \
        -p no:cacheprovider --timeout 120 -q "${deselect[@]}" \
        --junitxml "$work/$name.xml" tests/integration "$@" >"$work/$name.log" 2>&1) || true
    tail -n 1 "$work/$name.log"
    cp "$work/$name.log" "${DOCKER_PY_LOGS:-/tmp}/docker-py-$name.log" 2>/dev/null || true
    cp "$work/$name.xml" "${DOCKER_PY_LOGS:-/tmp}/docker-py-$name.xml" 2>/dev/null || true
}

sock=$work/api.sock
"$wharf" --root "$work/root" serve -H "unix://$sock" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
suite wharf "unix://$sock" "$@"
kill "$server"; wait "$server" 2>/dev/null || true; server=
# DOCKER_PY_DOCKERD_XML: the junit file of an earlier dockerd run, to
# compare with instead of running the suite against dockerd again.
if [ -n "${DOCKER_PY_DOCKERD_XML:-}" ] && [ -f "$DOCKER_PY_DOCKERD_XML" ]; then
    cp "$DOCKER_PY_DOCKERD_XML" "$work/dockerd.xml"
else
    suite dockerd "unix:///var/run/docker.sock" "$@"
fi

python3 - "$work/wharf.xml" "$work/dockerd.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
def outcomes(path):
    out = {}
    for tc in ET.parse(path).iter("testcase"):
        name = tc.get("classname", "") + "::" + tc.get("name", "")
        kinds = {c.tag for c in tc}
        out[name] = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
    return out
w, d = outcomes(sys.argv[1]), outcomes(sys.argv[2])
for name, o in (("wharf", w), ("dockerd", d)):
    c = {k: sum(1 for v in o.values() if v == k) for k in ("passed", "failed", "skipped")}
    print(f"{name}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
base = [t for t, v in d.items() if v == "passed"]
both = [t for t in base if w.get(t) == "passed"]
share = 100.0 * len(both) / len(base) if base else 0.0
print(f"of the {len(base)} tests passing on dockerd, {len(both)} pass on wharf ({share:.1f}%)")
for t in sorted(set(base) - set(both)):
    print("  not on wharf:", t)
PY
