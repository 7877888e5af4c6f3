#!/usr/bin/env bash
# Validates Kubernetes manifests against the API's schemas with PyPI's
# kubernetes-validate (strict: unknown fields fail), as the kube tests do.
# The tool lives in a venv under $KUBE_VALIDATE_VENV (default
# /var/tmp/wharf-kube-validate-venv), made on first use.
#   scripts/kube-validate.sh FILE...     validate
#   scripts/kube-validate.sh --install   only make the venv
set -euo pipefail

venv=${KUBE_VALIDATE_VENV:-/var/tmp/wharf-kube-validate-venv}
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    # Tests run in parallel: one makes the venv, the others wait for it.
    exec 9>"$venv.lock"
    flock 9
    if [ ! -x "$venv/bin/kubernetes-validate" ]; then
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q kubernetes-validate >&2
    fi
    flock -u 9
fi
[ "${1:-}" = --install ] && exit 0
exec "$venv/bin/kubernetes-validate" --strict --quiet "$@"
