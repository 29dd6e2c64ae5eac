#!/usr/bin/env bash
# fresh-check: proves the README's set-up on a clean Debian 12, not on this
# machine (where a package once installed by hand can hide a missing step).
#
# 1. Builds, once, a clean Debian 12 (bookworm) image from the project's own
#    debootstrap rootfs: minbase plus what the README asks of a new machine
#    (ca-certificates, make, git), with bookworm, bookworm-updates and
#    bookworm-security sources as an installed system has. No registry is
#    used. FRESH_REBUILD=1 builds it again.
# 2. Starts a container of it on the host network with this machine's docker
#    socket (it cannot run a dockerd of its own: see below), gives it Go and
#    Node.js 20 from this machine read-only (the README's prerequisites), and
#    copies the checkout (tracked and untracked, not ignored files) and
#    ../shared in.
# 3. Inside, as a new user would: `make deps` (the install part of `make
#    test`: packages, checks, dockerd, the allocation image), then a smoke:
#    `sn27 demo --solver both`, one real hashcat test, one Python interop
#    test. With FRESH_FULL=1 (make fresh-check FULL=1) it runs `make test`
#    instead of the smoke, exactly as CI does.
#
# The container also gets this machine's network trust, as any machine on
# this network has it: the extra CA certificates of
# /usr/local/share/ca-certificates (this workplace's egress proxy signs TLS)
# and NODE_EXTRA_CA_CERTS, so npm and the Go proxy verify as they do here.
#
# Prints each phase's time and "fresh-check: PASS" or exits non-zero.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${SN27_SHARED:-$here/../shared}"
# The tag names the recipe below: change it when the recipe changes.
image="${FRESH_IMAGE:-sn27/fresh:bookworm-2}"
mirror="${FRESH_MIRROR:-http://deb.debian.org/debian}"
full="${FRESH_FULL:-0}"
t0=$SECONDS
say() { printf 'fresh-check [%4ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it uses debootstrap and dockerd)"
[ -d "$shared/localchain" ] || die "$shared/localchain not found (set SN27_SHARED)"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
goroot="$(go env GOROOT)" || die "Go not found"
node="$(command -v node)" || die "node not found"
nodelib="$(dirname "$(readlink -f "$(command -v npm)")")/../.."   # .../lib/node_modules
nodelib="$(cd "$nodelib" && pwd)"
[ -f "$nodelib/npm/bin/npm-cli.js" ] || die "npm not found next to node ($nodelib)"

# The host needs only debootstrap and a running dockerd for this.
if ! command -v debootstrap >/dev/null || ! docker info >/dev/null 2>&1; then
  say "setting up the host (debootstrap, dockerd) with scripts/test-deps.sh"
  "$here/scripts/test-deps.sh"
fi

if [ "${FRESH_REBUILD:-0}" = 1 ] || ! docker image inspect "$image" >/dev/null 2>&1; then
  say "building $image: debootstrap --variant=minbase bookworm + ca-certificates make git"
  tmp="$(mktemp -d /var/tmp/sn27-fresh-XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase --include=ca-certificates,make,git bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap"; }
  # As an installed Debian 12: updates and security updates too.
  cat >"$tmp/rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar -C "$tmp/rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
  rm -rf "$tmp"
  trap - EXIT
  say "built $image"
fi

# The checkout as it is (what git would commit: tracked and untracked files,
# not ignored ones) and ../shared, as the CI clone sees them.
stage="$(mktemp -d /var/tmp/sn27-fresh-src-XXXXXX)"
name="sn27-fresh-$$"
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$stage"; }
trap cleanup EXIT
mkdir -p "$stage/main"
(cd "$here" && git ls-files -z -co --exclude-standard | tar --null -T - -c) | tar -C "$stage/main" -x
(cd "$here" && git rev-parse HEAD >"$stage/main/.fresh-rev" 2>/dev/null || true)
cp -a "$shared" "$stage/shared"
rm -rf "$stage/shared/localchain/node_modules"
# A clean machine's clone has git metadata: make vet lists files with git.
(cd "$stage/main" && git init -q && git add -A && git -c user.name=fresh -c user.email=fresh@localhost commit -qm fresh)

if [ "$full" = 1 ]; then
  inside='make test'
else
  inside='make deps && make build && ./bin/sn27 demo --solver both --difficulty 5 &&
    go test -count=1 -run "^TestRealHashcatSolves$" -v ./internal/hashcat | tail -n 3 &&
    go test -count=1 -run "^TestInteropPyNaCl$" -v ./internal/wallet | tail -n 3 &&
    go test -count=1 -run "^TestCredentialsDecryptInPython$" -v ./internal/allocation | tail -n 3'
fi
say "running in a clean container of $image: $(tr -s ' \n' ' ' <<<"$inside")"
# Docker inside: this machine's dockerd, through its socket. A container
# here cannot be privileged (the sandbox lacks the capabilities), so it
# cannot run a dockerd of its own; the docker.io client it installs, the
# `docker info` check and the tests talk to the host's engine. The host
# network lets tests reach the ports their containers publish on loopback.
docker run --name "$name" --rm --init --network host \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$goroot:/usr/local/go:ro" \
  -v "$node:/usr/bin/node:ro" -v "$nodelib:/usr/lib/node_modules:ro" \
  -v "$stage:/work" -w /work/main \
  -v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro \
  -e NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  -e HOME=/root -e PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  "$image" bash -c '
    set -eo pipefail
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm
    update-ca-certificates >/dev/null 2>&1
    echo "inside: $(. /etc/os-release; echo "$PRETTY_NAME"), $(go version), node $(node --version), packages: $(dpkg-query -W | wc -l)"
    for p in hashcat ocl-icd-libopencl1 python3-nacl docker.io chromium; do
      if dpkg-query -W "$p" >/dev/null 2>&1; then echo "not clean: $p is installed"; exit 1; fi
    done
    start=$SECONDS
    if ! ( set -e; '"$inside"' ); then
      echo "inside: FAILED after $((SECONDS - start)) s"
      exit 1
    fi
    echo "inside: done in $((SECONDS - start)) s"
  ' || die "the README's set-up failed on a clean Debian 12 (output above)"
say "PASS ($([ "$full" = 1 ] && echo 'make test' || echo 'make deps + smoke') on a clean Debian 12 in $((SECONDS - t0)) s)"
echo "fresh-check: PASS"
