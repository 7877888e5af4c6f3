#!/usr/bin/env bash
# opencontainers/runtime-tools' validation suite against Debian's runc and
# wharf-runc, side by side (issue 19). Each validation executable runs
# once per runtime (RUNTIME=<binary>, as the suite's own `make
# localvalidation` does), its TAP output kept under $OUT; the table says,
# per test, how many TAP points passed, failed and were skipped for each.
#
#   RUNTIME_TOOLS=/path/to/runtime-tools scripts/runtime-tools.sh [TEST...]
#
# RUNTIME_TOOLS: a runtime-tools checkout whose `runtimetest` and
# `validation/*/*.t` executables are already built (this script builds
# nothing; the suite is not part of this repository). TEST: names under
# validation/ (default: every built one). WHARF: the wharf binary
# (default: scripts/build.sh's release build). OUT: where the TAP logs
# and the table go (default: a temp dir, printed at the end).
# TIMEOUT: seconds per test and runtime (default 120).
# Exit status: 0 when wharf-runc fails no test that runc passes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
: "${RUNTIME_TOOLS:?set RUNTIME_TOOLS to a runtime-tools checkout with its validation executables built}"
RUNC=${RUNC:-/usr/sbin/runc}
TIMEOUT=${TIMEOUT:-120}
WHARF=${WHARF:-$(scripts/build.sh demo)}
OUT=${OUT:-$(mktemp -d /var/tmp/wharf-runtime-tools.XXXXXX)}
[[ $(id -u) == 0 ]] || { echo "scripts/runtime-tools.sh: run as root" >&2; exit 1; }
[[ -x $RUNTIME_TOOLS/runtimetest ]] || { echo "scripts/runtime-tools.sh: $RUNTIME_TOOLS/runtimetest is not built" >&2; exit 1; }
mkdir -p "$OUT/bin"
ln -sf "$(realpath "$WHARF")" "$OUT/bin/wharf-runc"

tests=("$@")
if [[ ${#tests[@]} == 0 ]]; then
  for t in "$RUNTIME_TOOLS"/validation/*/*.t; do tests+=("$(basename "$t" .t)"); done
fi

# TAP counts of one log: "passed failed skipped planned". The hook tests
# report a failure as a YAML "error" under an empty plan (1..0), with no
# test point: counted as one failed point.
count() {
  awk '
    /^ok / { if ($0 ~ /# [Ss][Kk][Ii][Pp]/) s++; else p++ }
    /^not ok / { if ($0 ~ /# [Tt][Oo][Dd][Oo]/) s++; else f++ }
    /^1\.\.[0-9]+/ { split($1, a, "\\.\\."); n = a[2] }
    /^    "error": "./ { e++ }
    END { if (p + f + s == 0 && e) f = 1; printf "%d %d %d %d\n", p, f, s, n }' "$1"
}

# One cell: passed/total, "-" markers for failures, skips and crashes.
cell() { # log rc
  local p f s n
  read -r p f s n < <(count "$1")
  local total=$((p + f + s)) text
  text="$p/$total"
  ((f)) && text+=" ${f}F"
  ((s)) && text+=" ${s}S"
  # Ran fewer points than planned, or died: the suite's own failure.
  if [[ $2 != 0 && $f == 0 ]] || ((n > total)); then text+=" rc=$2"; fi
  echo "$text"
}

# Passed: no failing point and the executable succeeded.
passed() { read -r _ f _ n < <(count "$1"); [[ $f == 0 && $2 == 0 ]]; }

runtimes=(runc wharf-runc)
declare -A bin=([runc]=$RUNC [wharf-runc]=$OUT/bin/wharf-runc)
table=$OUT/table.txt
printf '%-36s %-18s %-18s\n' test runc wharf-runc >"$table"
regressions=0 both=0 runc_only=0 wharf_only=0
for t in "${tests[@]}"; do
  exe=$RUNTIME_TOOLS/validation/$t/$t.t
  [[ -x $exe ]] || { printf '%-36s %-18s %-18s\n' "$t" "not built" "not built" >>"$table"; continue; }
  declare -A rc=()
  for r in "${runtimes[@]}"; do
    log=$OUT/$t.$r.tap
    set +e
    (cd "$RUNTIME_TOOLS" && RUNTIME=${bin[$r]} timeout -k 5 "$TIMEOUT" "$exe") >"$log" 2>&1 </dev/null
    rc[$r]=$?
    set -e
  done
  printf '%-36s %-18s %-18s\n' "$t" "$(cell "$OUT/$t.runc.tap" "${rc[runc]}")" \
    "$(cell "$OUT/$t.wharf-runc.tap" "${rc[wharf-runc]}")" >>"$table"
  rp=0 wp=0
  passed "$OUT/$t.runc.tap" "${rc[runc]}" && rp=1
  passed "$OUT/$t.wharf-runc.tap" "${rc[wharf-runc]}" && wp=1
  ((rp && wp)) && both=$((both + 1))
  ((rp && !wp)) && { runc_only=$((runc_only + 1)); regressions=$((regressions + 1)); }
  ((!rp && wp)) && wharf_only=$((wharf_only + 1))
  unset rc
done
{
  echo
  echo "tests: ${#tests[@]}; passed by both: $both; by runc only: $runc_only; by wharf-runc only: $wharf_only"
  echo "cells: passed/points run, nF failed, nS skipped, rc=N the executable's exit status when it died"
  echo "logs: $OUT/<test>.<runtime>.tap"
} >>"$table"
cat "$table"
cd "$repo"
((regressions == 0))
