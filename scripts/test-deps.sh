#!/usr/bin/env bash
# Installs, idempotently and quietly, what the tests need on Debian 12, starts
# the services they use, and then checks that each one works: a missing or
# broken dependency fails here, by name, not later as a puzzling test failure.
# Run as root (make test does).
set -euo pipefail

# Debian packages the tests use, and why:
#   hashcat, pocl-opencl-icd  the real hashcat, on the CPU through PoCL (challenge tests)
#   ocl-icd-libopencl1        the OpenCL ICD loader (libOpenCL.so.1) hashcat loads to find PoCL;
#                             only a Recommends of hashcat, so --no-install-recommends drops it
#   libclblast1               CLBlast's SGEMM, run beside proof of GPU's kernel in its benchmark
#   systemd                   systemd-analyze verify and security of the packaged units (not run as init)
#   python3                   Python's hashlib as an independent BLAKE2b (pow fixtures)
#   python3-nacl              PyNaCl (libsodium) encrypts/decrypts $NACL coldkeys (wallet interop)
#   python3-cryptography      the Python renter's RSA-OAEP decryption of allocation credentials
#   docker.io                 the real Docker engine (allocation tests)
#   openssh-client            the real ssh client logging into allocated containers
#   debootstrap               builds the allocation image's Debian rootfs (internal/docker)
#   chromium                  headless browser test of the dashboard (chromedp)
#   fonts-dejavu-core         a font for chromium to render the dashboard with
#   lxcfs                     /proc files that show a rental its own limits (free, meminfo)
#   iptables, iproute2        the rental network's firewall rules; the LAN host test's netns and veth
#   nodejs (>= 20), npm       polkadot.js and chopsticks (../shared/localchain); Debian 12's
#                             nodejs is 18, so a machine without Node 20 gets a clear error
# and, not from Debian:
#   tools/openapi (npm ci)    the pinned @redocly/cli, swagger-parser, openapi-typescript,
#                             openapi-fetch and typescript of the renter API's OpenAPI tests
#                             (internal/renter/api TestOpenAPIToolchain)
packages=(hashcat pocl-opencl-icd ocl-icd-libopencl1 libclblast1 systemd python3 python3-nacl python3-cryptography docker.io openssh-client debootstrap chromium fonts-dejavu-core lxcfs iptables iproute2)

fail() { echo "test-deps: BROKEN: $*" >&2; exit 1; }
say() { echo "test-deps: $*" >&2; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing packages ${missing[*]}; run as root or install them"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update (is deb.debian.org reachable?)"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]}"
fi

# hashcat must see at least one backend device (PoCL's CPU device here). Without
# the ICD loader it prints "No OpenCL, Metal, HIP or CUDA installation found".
hcinfo="$(hashcat -I 2>&1 || true)"
if ! grep -q 'Backend Device ID #' <<<"$hcinfo"; then
  echo "$hcinfo" | tail -n 15 >&2
  fail "hashcat lists no backend device (need ocl-icd-libopencl1 and pocl-opencl-icd)"
fi

# hashcat compiles its OpenCL kernels on first use (about 40 s on 2 cores);
# warm the cache once so no test pays for it under a deadline. Exit 0 is
# "cracked", 1 "exhausted": both mean the kernel built and ran.
hc_warm() {
  local rc=0
  hashcat -m 610 -a 3 --potfile-disable --restore-disable --logfile-disable --quiet "$@" \
    '$BLAKE2$6923db371d9eff484ea9966add33a599526e59a7e513b997d1b4fa26c939ebd9169f042d177c19f701c079b793626736c1c0f19a863254738077ab5423c05290:0011223344556677' \
    -1 abc123 '?1?1?1?1?1?1' >/tmp/sn27-hashcat-warm.log 2>&1 || rc=$?
  if [ "$rc" -gt 1 ]; then
    tail -n 15 /tmp/sn27-hashcat-warm.log >&2
    fail "hashcat $* could not crack a mode-610 hash (exit $rc; log /tmp/sn27-hashcat-warm.log)"
  fi
}
if [ ! -d "${HOME}/.cache/hashcat/kernels" ] || [ -z "$(ls -A "${HOME}/.cache/hashcat/kernels" 2>/dev/null)" ]; then
  say "warming hashcat's kernel cache"
  hc_warm -O
  hc_warm
fi

/usr/bin/python3 -c 'import hashlib, nacl.secret, nacl.pwhash, cryptography.hazmat.primitives.asymmetric.rsa' 2>/dev/null ||
  fail "Debian's /usr/bin/python3 cannot import nacl and cryptography (python3-nacl, python3-cryptography; the tests use it, not a pyenv python3)"
command -v ssh >/dev/null || fail "ssh client not found (openssh-client)"
command -v debootstrap >/dev/null || fail "debootstrap not found"
chromium --version >/dev/null 2>&1 || fail "chromium --version failed (chromium)"

# polkadot.js (pinned in ../shared/localchain) for the sr25519/SS58 interop tests.
command -v node >/dev/null || fail "node not found: install Node.js 20 (polkadot.js, chopsticks)"
nm="$("$(dirname "$0")/node-deps.sh")" || fail "polkadot.js deps (scripts/node-deps.sh)"
for m in @polkadot/api @polkadot/keyring @polkadot/util-crypto @acala-network/chopsticks; do
  [ -f "$nm/$m/package.json" ] || fail "polkadot.js deps: $m missing in $nm"
done
(cd "$nm/.." && node -e 'require("@polkadot/api"); require("@polkadot/util-crypto")') >/dev/null 2>&1 ||
  fail "polkadot.js deps in $nm do not load under node $(node --version)"

# The OpenAPI tools (tools/openapi), installed from its package-lock.json when
# node_modules is missing or older than the lock file.
oa="$(cd "$(dirname "$0")/../tools/openapi" && pwd)" || fail "tools/openapi not found"
if [ ! -d "$oa/node_modules" ] || [ "$oa/package-lock.json" -nt "$oa/node_modules/.package-lock.json" ]; then
  say "installing the OpenAPI tools (npm ci in tools/openapi)"
  (cd "$oa" && npm ci --no-audit --no-fund --loglevel=error >/tmp/sn27-openapi-npm.log 2>&1) ||
    { tail -n 15 /tmp/sn27-openapi-npm.log >&2; fail "npm ci in tools/openapi (log /tmp/sn27-openapi-npm.log; is registry.npmjs.org reachable?)"; }
fi
REDOCLY_TELEMETRY=off "$oa/node_modules/.bin/redocly" --version >/dev/null 2>&1 ||
  fail "redocly (@redocly/cli in tools/openapi/node_modules) does not run under node $(node --version); rm -rf tools/openapi/node_modules and rerun"

# The allocation tests talk to a real dockerd; start one when none answers
# (no systemd in CI containers), and wait up to 30 s for its socket.
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "dockerd is not running; start it as root"
  fi
  say "starting dockerd (log: /tmp/dockerd.log)"
  nohup dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 15 /tmp/dockerd.log >&2 || true
    fail "dockerd did not come up in 30 s; see /tmp/dockerd.log"
  fi
fi
# LXCFS: rentals bind its /proc files (internal/docker TestLXCFSShowsLimits).
# No systemd in CI containers: start it when it is not mounted. A container
# without FUSE (fresh-check's) cannot run it: the test says it skipped.
lxcfs_state="lxcfs mounted"
if ! grep -q ' /var/lib/lxcfs .* - fuse.lxcfs ' /proc/self/mountinfo && [ ! -e /dev/fuse ]; then
  lxcfs_state="no lxcfs (no /dev/fuse here: rentals see the host's totals)"
elif ! grep -q ' /var/lib/lxcfs .* - fuse.lxcfs ' /proc/self/mountinfo; then
  [ "$(id -u)" -eq 0 ] || fail "lxcfs is not running; start it as root (lxcfs /var/lib/lxcfs)"
  mkdir -p /var/lib/lxcfs
  say "starting lxcfs (log: /tmp/lxcfs.log)"
  nohup lxcfs /var/lib/lxcfs >/tmp/lxcfs.log 2>&1 </dev/null &
  for _ in $(seq 1 20); do
    [ -r /var/lib/lxcfs/proc/meminfo ] && break
    sleep 0.25
  done
  [ -r /var/lib/lxcfs/proc/meminfo ] || { tail -n 15 /tmp/lxcfs.log >&2; fail "lxcfs did not mount /var/lib/lxcfs; see /tmp/lxcfs.log"; }
fi

say "ok: hashcat ($(grep -c 'Backend Device ID #' <<<"$hcinfo") device(s)), python3 nacl+cryptography, ssh, debootstrap, $(chromium --version 2>/dev/null | head -1), $lxcfs_state, node $(node --version) + polkadot.js, docker $(docker version --format '{{.Server.Version}}')"
