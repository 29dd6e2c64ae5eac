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
# 4. Then scripts/deb-check.sh: a release of this tree as operators get it,
#    its .deb installed on another clean container of the same image, the
#    units verified, the devnet run from the package, a signed update over
#    HTTP applied and rolled back, a tampered one refused, purge.
#
# 5. Then the Docker tests (FRESH_DOCKERD_PKGS, default the packages whose
#    tests use a real dockerd: internal/docker, internal/miner, cmd/sn27) on
#    this machine against a throwaway dockerd in a network namespace of its
#    own, on its FIRST start (scripts/fresh-dockerd.sh): no docker0 before
#    it, no networks, chains, images or other state of earlier runs (Docker
#    20.10 reports the default bridge without a gateway on a data root's
#    first start only). The allocation image is built in it, as `make deps`
#    does on a new machine (FRESH_DOCKERD_IMAGE=copy copies this machine's
#    instead; the default with FRESH_DOCKERD_ONLY=1). The container above
#    cannot do this part: it cannot run a dockerd of its own, and its `make
#    deps` and tests talk to this machine's long-lived one, which has the
#    image, a docker0 and the rest a new machine lacks.
#    FRESH_DOCKERD_ONLY=1 (make fresh-dockerd-check) runs only this part;
#    FRESH_DOCKERD=0 skips it; FRESH_DOCKERD_RUN=regexp is passed to go
#    test -run. Full test log: /tmp/sn27-fresh-dockerd-tests.log.
#
# Prints each phase's time and "fresh-check: PASS" or exits non-zero.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${SN27_SHARED:-$here/../shared}"
# The tag names the recipe below: change it when the recipe changes.
image="${FRESH_IMAGE:-sn27/fresh:bookworm-2}"
mirror="${FRESH_MIRROR:-http://deb.debian.org/debian}"
full="${FRESH_FULL:-0}"
dockerd_only="${FRESH_DOCKERD_ONLY:-0}"
dockerd_part="${FRESH_DOCKERD:-1}"
[ "$dockerd_only" = 1 ] && dockerd_part=1
dockerd_pkgs="${FRESH_DOCKERD_PKGS:-./internal/docker/... ./internal/miner/... ./cmd/sn27/...}"
# The allocation image: built in the throwaway daemon (as `make deps` does on
# a new machine; the container's `make deps` finds it on this machine's
# daemon and builds nothing) for the whole check, copied from this
# machine's daemon for FRESH_DOCKERD_ONLY=1.
dockerd_image="${FRESH_DOCKERD_IMAGE:-$([ "$dockerd_only" = 1 ] && echo copy || echo build)}" # copy | build
fresh_dockerd="$here/scripts/fresh-dockerd.sh"
t0=$SECONDS
say() { printf 'fresh-check [%4ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
# Whatever a phase leaves (container, staging dir, throwaway dockerd) goes
# on any exit, Ctrl-C included.
cleanups=()
cleanup_all() {
  local i
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" || true; done
}
trap cleanup_all EXIT
trap 'say "interrupted: cleaning up"; exit 130' INT TERM
# Long phases run as `CMD & wait $!`: bash runs a trap only once the
# foreground command ends, but interrupts a wait.

[ "$(id -u)" -eq 0 ] || die "run as root (it uses debootstrap and dockerd)"
[ -d "$shared/localchain" ] || die "$shared/localchain not found (set SN27_SHARED)"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
goroot="$(go env GOROOT)" || die "Go not found"
node="$(command -v node)" || die "node not found"
nodelib="$(dirname "$(readlink -f "$(command -v npm)")")/../.."   # .../lib/node_modules
nodelib="$(cd "$nodelib" && pwd)"
[ -f "$nodelib/npm/bin/npm-cli.js" ] || die "npm not found next to node ($nodelib)"

# Part 4: the Docker tests against a throwaway dockerd on its first start.
dockerd_check() {
  local t pkgs rc=0 run_args=() log=/tmp/sn27-fresh-dockerd-tests.log
  read -r -a pkgs <<<"$dockerd_pkgs"
  [ -n "${FRESH_DOCKERD_RUN:-}" ] && run_args=(-run "$FRESH_DOCKERD_RUN")
  # This machine's test dependencies (the packages' other tests need them
  # too) and its dockerd (the images are copied from it).
  t=$SECONDS
  "$here/scripts/test-deps.sh" 2>&1 | tail -n 3 | sed 's/^/  /' >&2 || die "scripts/test-deps.sh"
  say "this machine's test dependencies checked in $((SECONDS - t)) s"
  if [ "$dockerd_image" = copy ] && ! docker image inspect sn27/allocation:bookworm-2 >/dev/null 2>&1; then
    say "building the allocation image on the host's dockerd (to copy it)"
    (cd "$here" && go run ./cmd/sn27 miner image build >/dev/null) || die "sn27 miner image build"
  fi
  # Compiled out here, with this machine's network, so go test in the
  # namespace only runs them.
  t=$SECONDS
  (cd "$here" && go test -count=1 -run '^$' "${pkgs[@]}" >/dev/null) || die "the Docker test packages do not build"
  say "compiled ${pkgs[*]} in $((SECONDS - t)) s"

  cleanups+=('"$fresh_dockerd" stop >/dev/null 2>&1 || "$fresh_dockerd" stop')
  t=$SECONDS
  "$fresh_dockerd" start 2>&1 | sed 's/^/  /' >&2 || die "could not start the throwaway dockerd (scripts/fresh-dockerd.sh)"
  say "throwaway dockerd up in $((SECONDS - t)) s: default bridge IPAM $(docker -H "$("$fresh_dockerd" env | cut -d= -f2-)" network inspect bridge --format '{{json .IPAM.Config}}')"
  t=$SECONDS
  case "$dockerd_image" in
    copy) "$fresh_dockerd" load 2>&1 | sed 's/^/  /' >&2 || die "copying the images" ;;
    build)
      # As `make deps` does on a new machine (the socket works from here).
      (cd "$here" && env "$("$fresh_dockerd" env)" go run ./cmd/sn27 miner image build >/tmp/sn27-fresh-image-build.log 2>&1) ||
        { tail -n 20 /tmp/sn27-fresh-image-build.log | sed 's/^/  /' >&2; die "sn27 miner image build on the throwaway dockerd"; }
      tail -n 1 /tmp/sn27-fresh-image-build.log | sed 's/^/  /' >&2
      ;;
    *) die "FRESH_DOCKERD_IMAGE=$dockerd_image: want copy or build" ;;
  esac
  say "allocation image in the throwaway dockerd ($dockerd_image) in $((SECONDS - t)) s"

  t=$SECONDS
  say "go test -count=1 ${run_args[*]} ${pkgs[*]} in netns sn27-fresh against it (log: $log)"
  (cd "$here" && exec "$fresh_dockerd" exec go test -count=1 -timeout 20m "${run_args[@]}" "${pkgs[@]}") >"$log" 2>&1 &
  wait $! || rc=$?
  if [ "$rc" -ne 0 ]; then
    # Each failing test with its messages (the indented lines after its
    # "--- FAIL"), panics, and the package lines; not the logs the
    # programs under test write to stderr.
    awk '/^ *--- FAIL/ { blk = 1; print; next }
      blk && /^    / { print; next }
      { blk = 0 }
      /^panic: / { pan = 40 }
      pan > 0 { print; pan--; next }
      /^(ok|FAIL)[ \t]/ { print }' "$log" | head -n 300 | sed 's/^/  /' >&2
    say "Docker tests FAILED against a dockerd on its first start after $((SECONDS - t)) s"
    die "the Docker tests fail on a brand-new dockerd (full log $log; the daemon's: /tmp/sn27-fresh-dockerd.log)"
  fi
  grep -E '^(ok|FAIL)[[:space:]]' "$log" | sed 's/^/  /' >&2 || true
  say "Docker tests passed against a dockerd on its first start in $((SECONDS - t)) s"
  # Alone (it restarts the daemon under every other test): the rental
  # network's rules survive a dockerd restart.
  if [ -z "${FRESH_DOCKERD_RUN:-}" ] || grep -q 'TestIsolationSurvivesDockerdRestart' <<<"${FRESH_DOCKERD_RUN:-}"; then
    t=$SECONDS
    local rlog=/tmp/sn27-fresh-dockerd-restart.log
    if ! (cd "$here" && exec "$fresh_dockerd" exec env SN27_TEST_RESTART_DOCKERD="$fresh_dockerd restart" \
      go test -count=1 -v -run '^TestIsolationSurvivesDockerdRestart$' ./internal/docker) >"$rlog" 2>&1; then
      grep -E '^( *--- |    |(ok|FAIL)[[:space:]])' "$rlog" | head -n 60 | sed 's/^/  /' >&2
      die "the rental network's rules did not survive a dockerd restart (log $rlog)"
    fi
    grep -q -- '--- PASS: TestIsolationSurvivesDockerdRestart' "$rlog" || die "TestIsolationSurvivesDockerdRestart did not run (log $rlog)"
    grep -E 'restarted|--- PASS' "$rlog" | sed 's/^/  /' >&2 || true
    say "rental isolation survived a dockerd restart ($((SECONDS - t)) s)"
  fi
  t=$SECONDS
  "$fresh_dockerd" stop 2>&1 | sed 's/^/  /' >&2 || die "could not remove the throwaway dockerd"
  say "throwaway dockerd removed in $((SECONDS - t)) s"
}

if [ "$dockerd_only" = 1 ]; then
  dockerd_check
  say "PASS (Docker tests on a throwaway dockerd's first start, in $((SECONDS - t0)) s)"
  echo "fresh-check: PASS"
  exit 0
fi

# The host needs only debootstrap and a running dockerd for this.
if ! command -v debootstrap >/dev/null || ! docker info >/dev/null 2>&1; then
  say "setting up the host (debootstrap, dockerd) with scripts/test-deps.sh"
  "$here/scripts/test-deps.sh"
fi

if [ "${FRESH_REBUILD:-0}" = 1 ] || ! docker image inspect "$image" >/dev/null 2>&1; then
  say "building $image: debootstrap --variant=minbase bookworm + ca-certificates make git"
  tmp="$(mktemp -d /var/tmp/sn27-fresh-XXXXXX)"
  cleanups+=('rm -rf "$tmp"')
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
  say "built $image"
fi

# The checkout as it is (what git would commit: tracked and untracked files,
# not ignored ones) and ../shared, as the CI clone sees them.
stage="$(mktemp -d /var/tmp/sn27-fresh-src-XXXXXX)"
name="sn27-fresh-$$"
cleanups+=('docker rm -f "$name" >/dev/null 2>&1; rm -rf "$stage"')
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
  ' &
wait $! || die "the README's set-up failed on a clean Debian 12 (output above)"
say "the README's set-up passed ($([ "$full" = 1 ] && echo 'make test' || echo 'make deps + smoke') on a clean Debian 12) in $((SECONDS - t0)) s"
# The release as operators get it: the .deb on a clean Debian 12 (the same
# image), its units, the devnet from it, a signed update and its rollback.
say "deb-check: a release's package on a clean Debian 12"
./scripts/deb-check.sh || die "deb-check failed (output above)"
[ "$dockerd_part" = 1 ] && dockerd_check
say "PASS in $((SECONDS - t0)) s"
echo "fresh-check: PASS"
