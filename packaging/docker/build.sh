#!/usr/bin/env bash
# packaging/docker/build.sh TARBALL [TAG]: the sn27 container image (see
# README.md here) from a release tarball, sn27_<version>_linux_<arch>.tar.gz
# of make release, built on this machine with nothing pulled: FROM scratch,
# the tarball's sn27, and the ELF loader and C libraries that binary needs,
# copied from this host (so the tarball's arch must be this host's).
# TAG defaults to sn27:<version>, which is then also tagged sn27:latest.
# Prints the image ID on stdout when done.
set -euo pipefail

uid=65532 # the image's user sn27 (and its group)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf 'image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 sn27_<version>_linux_<arch>.tar.gz [TAG]"
tarball="$1"
[ -f "$tarball" ] || die "no tarball $tarball (make release VERSION=vX.Y.Z writes dist/vX.Y.Z/sn27_X.Y.Z_linux_<arch>.tar.gz)"
name="$(basename "$tarball")"
[[ "$name" =~ ^sn27_([0-9A-Za-z.~+-]+)_linux_(amd64|arm64)\.tar\.gz$ ]] ||
  die "$name: want a release tarball named sn27_<version>_linux_<amd64|arm64>.tar.gz"
version="${BASH_REMATCH[1]}"
arch="${BASH_REMATCH[2]}"
tags=("sn27:${version//[~+]/-}" "sn27:latest")
[ $# -eq 2 ] && tags=("$2")

case "$(uname -m)" in
  x86_64) host=amd64 ;;
  aarch64 | arm64) host=arm64 ;;
  *) host="$(uname -m)" ;;
esac
[ "$arch" = "$host" ] || die "$name is linux/$arch but this host is linux/$host: the image takes the ELF loader and libc from the host that builds it, so build it on a linux/$arch machine"
for tool in docker tar ldd; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
certs=/etc/ssl/certs/ca-certificates.crt # validators dial wss:// chain endpoints
[ -s "$certs" ] || die "no $certs on this host (apt-get install ca-certificates)"

work="$(mktemp -d "${TMPDIR:-/tmp}/sn27-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/x" "$work/root" "$work/state" "$work/context"
tar -xzf "$tarball" -C "$work/x" || die "cannot unpack $tarball"
top="$work/x/${name%.tar.gz}"
[ -f "$top/sn27" ] || die "$name has no ${name%.tar.gz}/sn27"

# The binary must say the tarball's version (v prefixed, ~ as in the .deb).
info="$("$top/sn27" version --json)" || die "the tarball's sn27 does not run here"
field() { sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\",*\$/\\1/p" <<<"$info"; }
bin_version="$(field version)"
[ "$bin_version" = "v$version" ] || die "$name holds sn27 $bin_version, not v$version"
commit="$(field commit)"
date="$(field date)"
epoch="$(stat -c %Y "$top/sn27")" # the release's file time: the commit's

r="$work/root"
install -D -m 0755 "$top/sn27" "$r/usr/bin/sn27"
# The loader and the libraries, at the paths this host's loader finds them
# (none if a release is ever fully static).
n=0
if libs="$(ldd "$top/sn27" 2>&1)"; then
  if grep -q 'not found' <<<"$libs"; then
    die "libraries of sn27 missing on this host: $(grep 'not found' <<<"$libs" | tr -s ' \t' ' ')"
  fi
  for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs"); do
    install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || die "ldd found no loader and libc for sn27:"$'\n'"$libs"
elif ! grep -q 'not a dynamic executable' <<<"$libs"; then
  die "ldd $top/sn27: $libs"
fi
install -D -m 0644 "$certs" "$r/etc/ssl/certs/ca-certificates.crt"
for role in api devnet miner validator; do
  [ -f "$top/etc/sn27/$role.json" ] || die "$name has no etc/sn27/$role.json"
  install -D -m 0644 "$top/etc/sn27/$role.json" "$r/etc/sn27/$role.json"
done
install -D -m 0644 "$top/README.md" "$r/usr/share/doc/sn27/README.md"
printf 'root:x:0:0:root:/root:/sbin/nologin\nsn27:x:%d:%d:sn27:/var/lib/sn27/validator:/sbin/nologin\n' "$uid" "$uid" >"$r/etc/passwd"
printf 'root:x:0:\nsn27:x:%d:\n' "$uid" >"$r/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
chmod 0644 "$r/etc/passwd" "$r/etc/group" "$r/etc/nsswitch.conf"
install -d -m 1777 "$r/tmp"
install -d -m 0755 "$r/var/lib/sn27"
install -d -m 0700 "$work/state/var/lib/sn27/validator"

# One tar, in a fixed order with fixed times: root's files, then sn27's
# state directory.
tarflags=(--sort=name --numeric-owner --mtime="@$epoch" --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
tar -cf "$work/context/rootfs.tar" "${tarflags[@]}" --owner=0 --group=0 -C "$r" .
tar -rf "$work/context/rootfs.tar" "${tarflags[@]}" --owner="$uid" --group="$uid" -C "$work/state" ./var/lib/sn27/validator
cp "$here/Dockerfile" "$work/context/Dockerfile"

# The classic builder when buildx is not installed (Debian's docker.io):
# BuildKit without it is an error. Either way FROM scratch pulls nothing.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! docker buildx version >/dev/null 2>&1; then
  export DOCKER_BUILDKIT=0
fi
args=(--pull=false --iidfile "$work/iid"
  --label "org.opencontainers.image.title=sn27"
  --label "org.opencontainers.image.description=Bittensor SN27 compute subnet: validator and renter API"
  --label "org.opencontainers.image.version=$bin_version"
  --label "org.opencontainers.image.revision=$commit"
  --label "org.opencontainers.image.created=$date")
for t in "${tags[@]}"; do
  args+=(-t "$t")
done
say "building ${tags[*]} from $name (sn27 $bin_version, $n loader and library files from this host)"
docker build "${args[@]}" "$work/context" >&2 || die "docker build failed"
id="$(cat "$work/iid")"
size="$(docker image inspect --format '{{.Size}}' "$id")"
say "built ${tags[*]}: $id, $((size / 1024 / 1024)) MiB"
echo "$id"
