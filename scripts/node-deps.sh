#!/usr/bin/env bash
# Prints the folder holding the pinned polkadot.js/chopsticks node_modules of
# ../shared/localchain, installing them first if needed (npm ci, ~15 s).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${SN27_LOCALCHAIN:-$here/../../shared/localchain}"
[ -f "$shared/lib.sh" ] || { echo "node-deps: $shared/lib.sh not found (set SN27_LOCALCHAIN)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$shared/lib.sh"
lc_ensure_deps
echo "$LC_DEPS/node_modules"
