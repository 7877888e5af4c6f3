#!/usr/bin/env bash
# Remove what scripts/install.sh (and so scripts/demo.sh) installed: the
# binary, its debug info, wharf-compose, wharf-runc, completions and man pages.
# Usage: scripts/uninstall.sh [--purge]   (PREFIX and DESTDIR as for install.sh)
#   --purge also removes every container (forcibly), image, volume and
#   network of the default store, and the store itself (/var/lib/wharf,
#   or WHARF_ROOT).
set -euo pipefail
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
purge=false
case ${1:-} in
  "") ;;
  --purge) purge=true ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
[[ $(id -u) == 0 ]] || { echo "scripts/uninstall.sh: run as root" >&2; exit 1; }

wharf=$dest$prefix/bin/wharf
if $purge && [[ -x $wharf ]]; then
  root=${WHARF_ROOT:-/var/lib/wharf}
  if [[ -e $root/db.sqlite ]]; then
    mapfile -t ids < <("$wharf" ps -aq --no-trunc)
    ((${#ids[@]} == 0)) || "$wharf" rm -f -v "${ids[@]}" >/dev/null
    "$wharf" system prune -af --volumes >/dev/null
  fi
  rm -rf "$root"
  echo "removed $root"
fi

rm -f "$dest$prefix/bin/wharf" "$dest$prefix/bin/wharf-compose" "$dest$prefix/bin/wharf-runc" \
  "$dest/usr/lib/debug$prefix/bin/wharf.debug" \
  "$dest$prefix/share/bash-completion/completions/wharf" \
  "$dest$prefix/share/zsh/site-functions/_wharf" \
  "$dest$prefix/share/fish/vendor_completions.d/wharf.fish"
rm -f "$dest$prefix"/share/man/man1/wharf.1.gz "$dest$prefix"/share/man/man1/wharf-*.1.gz
echo "wharf is uninstalled from $prefix"
