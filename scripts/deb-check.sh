#!/usr/bin/env bash
# scripts/deb-check.sh: the release as an operator gets it, on a clean
# Debian 12 (the image make fresh-check builds, sn27/fresh:bookworm-2).
#  1. Here: two releases of this tree (v0.0.1 and v0.0.2, linux/amd64),
#     signed with a throwaway key (tools/release -genkey), and a tampered
#     copy of the second (its manifest changed after signing).
#  2. In a clean container: apt-get install ./sn27_0.0.1_amd64.deb; sn27
#     version; every unit passes systemd-analyze verify; the sn27 user and
#     /etc/sn27 exist; sn27 devnet comes up from the package (rentals off);
#     sn27 update from a local HTTP server applies v0.0.2 and rolls back;
#     the tampered release is refused with /usr/bin/sn27 unchanged; an
#     upgrade to the v0.0.2 package keeps an edited config and the state;
#     purge removes what the package made and keeps state.
# Run alone with `make deb-check` (after one make fresh-check made the image).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${FRESH_IMAGE:-sn27/fresh:bookworm-2}"
t0=$SECONDS
say() { printf 'deb-check [%4ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
docker image inspect "$image" >/dev/null 2>&1 || die "no $image: run make fresh-check once (it builds the clean image)"

work="$(mktemp -d /tmp/sn27-deb-check.XXXXXX)"
name="sn27-deb-check-$$"
server=""
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cd "$here"
go build -o "$work/release" ./tools/release
mkdir -p "$work/key"
"$work/release" -genkey "$work/key"
for v in v0.0.1 v0.0.2; do
  RELEASE_KEY="$work/key/release.key" "$work/release" -version "$v" -out "$work/dist-$v" -arch amd64 -allow-dirty >&2
done
cp -a "$work/dist-v0.0.2" "$work/tampered"
sed -i 's/"channel": "stable"/"channel": "stable" /' "$work/tampered/manifest.json"
say "two signed releases and a tampered one built"

# The newer release over HTTP on loopback (the container shares the network).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$work/dist-v0.0.2" >/dev/null 2>&1 &
server=$!
chain=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
axon=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

docker run --name "$name" --rm --network host \
  -v "$work:/rel:ro" \
  -v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro \
  -e DEBIAN_FRONTEND=noninteractive \
  "$image" bash -c '
    set -euo pipefail
    step() { echo "inside: $*"; }
    update-ca-certificates >/dev/null 2>&1 || true
    apt-get update -qq >/dev/null
    # systemd only for systemd-analyze; --no-install-recommends keeps docker.io out
    apt-get install -y -qq --no-install-recommends systemd >/dev/null
    apt-get install -y -qq --no-install-recommends /rel/dist-v0.0.1/sn27_0.0.1_amd64.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
    step "installed: $(dpkg-query -W sn27)"
    sn27 version | head -1 | grep -qx "sn27 v0.0.1" || { sn27 version; exit 1; }
    step "sn27 version: $(sn27 version | head -1)"
    for u in /lib/systemd/system/sn27-*.service; do
      out=$(systemd-analyze verify "$u" 2>&1); [ -z "$out" ] || { echo "$u: $out"; exit 1; }
    done
    step "systemd-analyze verify: $(ls /lib/systemd/system/sn27-*.service | wc -l) units clean"
    getent passwd sn27 >/dev/null && [ -f /etc/sn27/miner.json ] && [ -f /etc/sn27/validator.json ]
    step "sn27 user and /etc/sn27 present"
    ( timeout 120 sn27 devnet --data.dir /tmp/devnet --ssh.port 0 --dashboard.addr 127.0.0.1:0 --feed.addr "" \
        --chain.port '"$chain"' --axon.port '"$axon"' >/tmp/devnet.out 2>/tmp/devnet.err & echo $! >/tmp/devnet.pid )
    for i in $(seq 1 100); do grep -q "SN27 devnet is up" /tmp/devnet.out 2>/dev/null && break; sleep 1; done
    grep -q "SN27 devnet is up" /tmp/devnet.out || { tail -20 /tmp/devnet.err; exit 1; }
    kill "$(cat /tmp/devnet.pid)" 2>/dev/null || true
    step "sn27 devnet came up from the package: $(grep -c miner- /tmp/devnet.out) miners"
    before=$(sha256sum /usr/bin/sn27 | cut -c1-64)
    if sn27 update --apply --update.url file:///rel/tampered --update.trusted-key /rel/key/release.pub >/tmp/t.out 2>&1; then
      cat /tmp/t.out; echo "a tampered release was applied"; exit 1
    fi
    [ "$(sha256sum /usr/bin/sn27 | cut -c1-64)" = "$before" ] || { echo "the tampered release changed /usr/bin/sn27"; exit 1; }
    step "tampered release refused, nothing replaced: $(tail -1 /tmp/t.out)"
    sn27 update --check --update.url http://127.0.0.1:'"$port"' --update.trusted-key /rel/key/release.pub
    sn27 update --apply --update.url http://127.0.0.1:'"$port"' --update.trusted-key /rel/key/release.pub
    sn27 version | head -1 | grep -qx "sn27 v0.0.2"
    step "updated over HTTP: $(sn27 version | head -1)"
    sn27 update --rollback
    sn27 version | head -1 | grep -qx "sn27 v0.0.1"
    step "rolled back: $(sn27 version | head -1)"
    # An upgrade of the package keeps an edited config and the state.
    sed -i "s|^  \"netuid\": 27|  \"netuid\": 99|" /etc/sn27/miner.json
    mkdir -p /var/lib/sn27/validator && echo keep >/var/lib/sn27/validator/state
    apt-get install -y -qq --no-install-recommends /rel/dist-v0.0.2/sn27_0.0.2_amd64.deb >/tmp/apt2.log 2>&1 || { cat /tmp/apt2.log; exit 1; }
    sn27 version | head -1 | grep -qx "sn27 v0.0.2"
    grep -q "\"netuid\": 99" /etc/sn27/miner.json && [ -f /var/lib/sn27/validator/state ] || { echo "the upgrade lost the edited config or the state"; exit 1; }
    step "package upgraded to $(dpkg-query -W -f="\${Version}" sn27): edited /etc/sn27/miner.json and state kept"
    apt-get purge -y -qq sn27 >/dev/null
    [ ! -e /usr/bin/sn27 ] && [ ! -e /usr/bin/sn27.previous ] && ! getent passwd sn27 >/dev/null && [ ! -e /etc/sn27 ] && [ -f /var/lib/sn27/validator/state ] || { ls -la /etc/sn27 /var/lib/sn27 2>&1; exit 1; }
    step "purged: binary (and the one update kept), user and /etc/sn27 gone, state kept"
  ' || die "the package failed on a clean Debian 12 (output above)"
say "PASS"
