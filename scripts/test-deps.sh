#!/usr/bin/env bash
# Installs, idempotently and quietly, what the tests need on Debian 12, and
# starts the services they use. Run as root (make test does).
set -euo pipefail

# Debian packages the tests use, and why:
#   hashcat, pocl-opencl-icd  the real hashcat, on the CPU through PoCL (challenge tests)
#   python3                   Python's hashlib as an independent BLAKE2b (pow fixtures)
#   python3-nacl              PyNaCl (libsodium) encrypts/decrypts $NACL coldkeys (wallet interop)
#   python3-cryptography      the Python renter's RSA-OAEP decryption of allocation credentials
#   docker.io                 the real Docker engine (allocation tests)
#   openssh-client            the real ssh client logging into allocated containers
#   debootstrap               builds the allocation image's Debian rootfs (internal/docker)
#   chromium                  headless browser test of the dashboard (chromedp)
packages=(hashcat pocl-opencl-icd python3 python3-nacl python3-cryptography docker.io openssh-client debootstrap chromium fonts-dejavu-core)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# hashcat compiles its OpenCL kernels on first use (about 40 s on 2 cores);
# warm the cache once so no test pays for it under a deadline.
if [ ! -d "${HOME}/.cache/hashcat/kernels" ] || [ -z "$(ls -A "${HOME}/.cache/hashcat/kernels" 2>/dev/null)" ]; then
  echo "test-deps: warming hashcat's kernel cache" >&2
  hashcat -m 610 -a 3 --potfile-disable --restore-disable --logfile-disable --quiet -O \
    '$BLAKE2$6923db371d9eff484ea9966add33a599526e59a7e513b997d1b4fa26c939ebd9169f042d177c19f701c079b793626736c1c0f19a863254738077ab5423c05290:0011223344556677' \
    -1 abc123 '?1?1?1?1?1?1' >/dev/null 2>&1 || true
  hashcat -m 610 -a 3 --potfile-disable --restore-disable --logfile-disable --quiet \
    '$BLAKE2$6923db371d9eff484ea9966add33a599526e59a7e513b997d1b4fa26c939ebd9169f042d177c19f701c079b793626736c1c0f19a863254738077ab5423c05290:0011223344556677' \
    -1 abc123 '?1?1?1?1?1?1' >/dev/null 2>&1 || true
fi

# polkadot.js (pinned in ../shared/localchain) for the sr25519/SS58 interop tests.
"$(dirname "$0")/node-deps.sh" >/dev/null

# The allocation tests talk to a real dockerd; start one when none answers
# (no systemd in CI containers), and wait up to 30 s for its socket.
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: dockerd is not running; start it as root" >&2
    exit 1
  fi
  echo "test-deps: starting dockerd (log: /tmp/dockerd.log)" >&2
  nohup dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    echo "test-deps: dockerd did not come up in 30 s; see /tmp/dockerd.log" >&2
    exit 1
  fi
fi
