#!/usr/bin/env bash
# fresh-dockerd: a throwaway dockerd whose state is brand new, as on a new
# machine, for the Docker tests (scripts/fresh-check.sh runs them on it).
#
# The host's long-lived dockerd has state a new machine lacks: its docker0
# already exists (so, from its second start on, Docker 20.10 reports the
# default bridge's gateway; on a first start, or after a reboot, it does
# not), its iptables chains, networks and images are there. This daemon has
# none of it:
#   - its own network namespace (sn27-fresh): its own docker0, iptables
#     tables, loopback and published ports; the host's bridge and rules are
#     never touched;
#   - its own containerd, data root, exec root, pidfile and socket, with
#     the default configuration (no /etc/docker/daemon.json);
#   - a data root wiped at each start: every start is the daemon's first;
#   - egress (FRESH_DOCKERD_EGRESS=1, the default): a veth pair to the host
#     and NAT there, so its containers reach the internet as the host's do;
#     the namespace's side is named eth0 and plays the host's LAN address.
# Everything runs in the host's mount namespace (nsenter --net, not ip netns
# exec), so loop mounts a test makes are seen by the daemon.
#
# Usage (as root):
#   fresh-dockerd.sh start            wipe, then start it (prints the time)
#   fresh-dockerd.sh load [IMAGE...]  copy images from the host's daemon
#                                     (default: the allocation image)
#   fresh-dockerd.sh exec CMD [ARG...] run CMD in its namespace, DOCKER_HOST
#                                     set, TMPDIR a directory stop empties
#                                     (mounts and loop devices included)
#   fresh-dockerd.sh env              print DOCKER_HOST=... (the socket works
#                                     from any namespace)
#   fresh-dockerd.sh status           say whether it runs
#   fresh-dockerd.sh restart          restart only dockerd, on the same state
#   fresh-dockerd.sh stop             stop it and remove all of it (idempotent)
# A failed start cleans up after itself. Logs: /tmp/sn27-fresh-dockerd.log
# and /tmp/sn27-fresh-containerd.log (kept after stop).
set -euo pipefail

ns="${FRESH_DOCKERD_NS:-sn27-fresh}"
run="${FRESH_DOCKERD_RUNDIR:-/run/sn27-fresh-docker}"      # exec root, sockets, pids
data="${FRESH_DOCKERD_DATADIR:-/var/lib/sn27-fresh-docker}" # data root (wiped)
tmp="${FRESH_DOCKERD_TMPDIR:-/var/tmp/sn27-fresh-tmp}"     # TMPDIR of `exec` (tests' disks)
egress="${FRESH_DOCKERD_EGRESS:-1}"
net="${FRESH_DOCKERD_NET:-10.227.27}"                   # .0/30 for the veth pair
hostif="sn27-fresh0"                                    # host side of the veth
tag="sn27-fresh-dockerd"                                # comment on host iptables rules
start_timeout="${FRESH_DOCKERD_START_TIMEOUT:-90}"
sock="$run/docker.sock"
ctrsock="$run/containerd/containerd.sock"
dlog=/tmp/sn27-fresh-dockerd.log
clog=/tmp/sn27-fresh-containerd.log
host_docker=(docker -H unix:///var/run/docker.sock)
fresh_docker=(docker -H "unix://$sock")
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "fresh-dockerd: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need_root() { [ "$(id -u)" -eq 0 ] || die "run as root (network namespace, iptables, dockerd)"; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pidof_ours FILE PATTERN: the pid in FILE when that process is alive and its
# command line contains PATTERN (never a pid the kernel reused).
pidof_ours() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  [ -n "$pid" ] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" && echo "$pid"
  return 0
}

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_pid() {
  local pid="$1" i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  say "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) ignored SIGTERM for $2 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || return 0; sleep 0.1; done
}

ns_exists() { [ -e "/run/netns/$ns" ]; }

in_ns() { nsenter --net="/run/netns/$ns" "$@"; }

# Host iptables rules carry the comment $tag; remove each (-A ... -> -D ...).
host_rules_del() {
  local table chain line
  for table in filter nat; do
    for chain in FORWARD POSTROUTING; do
      [ "$table/$chain" = filter/POSTROUTING ] || [ "$table/$chain" = nat/FORWARD ] && continue
      { iptables -w 5 -t "$table" -S "$chain" 2>/dev/null || true; } | { grep -F -- "--comment $tag" || true; } | while read -r line; do
        # shellcheck disable=SC2086 # the rule's words, none with spaces
        iptables -w 5 -t "$table" -D ${line#-A } || say "could not delete host rule: $line"
      done
    done
  done
}

# Every mount point under the given directories, deepest first.
mounts_under() {
  awk '{ print $5 }' /proc/self/mountinfo | sed 's/\\040/ /g' | while read -r m; do
    for d in "$@"; do case "$m" in "$d" | "$d"/*) echo "$m" ;; esac; done
  done | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

cmd_stop() {
  need_root
  local pid i ids root
  # dockerd first: it stops its containers (live-restore is off).
  pid="$(pidof_ours "$run/dockerd.pid" "--exec-root $run/exec")"
  [ -n "$pid" ] && stop_pid "$pid" 30
  # Containers it left (killed, or a daemon that never answered).
  if [ -d "$run/exec/runtime-runc" ]; then
    for root in "$run"/exec/runtime-runc/*; do
      [ -d "$root" ] || continue
      ids="$(timeout 10 runc --root "$root" list -q 2>/dev/null || true)"
      for i in $ids; do
        timeout 10 runc --root "$root" kill "$i" KILL >/dev/null 2>&1 || true
        timeout 10 runc --root "$root" delete --force "$i" >/dev/null 2>&1 || true
      done
    done
  fi
  # Whatever still runs in the namespace: containerd, its shims,
  # docker-proxy, a test left behind.
  if ns_exists; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 100; i++)); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  pid="$(pidof_ours "$run/containerd.pid" "$run/containerd.toml")"
  [ -n "$pid" ] && stop_pid "$pid" 10
  # Mounts: overlays, shm, the containers' network namespaces.
  local m left=""
  for m in $(mounts_under "$data" "$run" "$tmp"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || left="$left $m"
  done
  # Loop devices backed by files of ours (none expected).
  if command -v losetup >/dev/null; then
    losetup -nO NAME,BACK-FILE 2>/dev/null | while read -r dev file; do
      case "$file" in "$data"/* | "$run"/* | "$tmp"/*) losetup -d "$dev" 2>/dev/null || true ;; esac
    done
  fi
  # Network: namespace (takes its veth end along), host veth, host rules.
  ns_exists && { ip netns del "$ns" 2>/dev/null || say "could not delete netns $ns"; }
  ip link show "$hostif" >/dev/null 2>&1 && ip link del "$hostif" 2>/dev/null
  host_rules_del
  if [ -f "$run.ip_forward" ]; then
    # Put back the host's ip_forward, unless a dockerd of the host runs now
    # (it sets it to 1 and needs it).
    if [ "$(cat "$run.ip_forward")" = 0 ] && ! pgrep -x dockerd >/dev/null; then
      sysctl -qw net.ipv4.ip_forward=0 || true
    fi
    rm -f "$run.ip_forward"
  fi
  [ -z "$left" ] || die "still mounted:$left (not removing $data $run $tmp)"
  if [ -d "$tmp" ]; then # a test's immutable files (chattr +i) would resist rm
    chattr -R -i "$tmp" 2>/dev/null || true
  fi
  rm -rf --one-file-system "$data" "$run" "$tmp"
}

# start_dockerd starts the daemon on the namespace, roots and containerd
# set up by cmd_start, and waits until it answers.
start_dockerd() {
  local pid i
  in_ns setsid dockerd --config-file "$run/daemon.json" --data-root "$data" --exec-root "$run/exec" \
    --pidfile "$run/dockerd.pid" -H "unix://$sock" --containerd "$ctrsock" >>"$dlog" 2>&1 </dev/null &
  pid=$!
  disown
  for ((i = 0; i < start_timeout * 10; i++)); do
    "${fresh_docker[@]}" version >/dev/null 2>&1 && break
    alive "$pid" || die "dockerd exited: $(tail -n 5 "$dlog")"
    sleep 0.1
  done
  "${fresh_docker[@]}" version >/dev/null 2>&1 || die "dockerd did not answer on $sock in $start_timeout s"
}

# cmd_restart stops only dockerd (its containers stop, as on a host's
# dockerd restart) and starts it again on the same state: the rental
# network's firewall rules must survive it (TestIsolationSurvivesDockerdRestart).
cmd_restart() {
  need_root
  local pid t0
  t0="$(now)"
  pid="$(pidof_ours "$run/dockerd.pid" "--exec-root $run/exec")"
  [ -n "$pid" ] || die "not running (fresh-dockerd.sh start)"
  stop_pid "$pid" 30
  start_dockerd
  say "restarted dockerd in $(since "$t0") s"
}

cmd_start() {
  need_root
  local t0 pid i mtu
  t0="$(now)"
  for c in dockerd containerd runc nsenter ip iptables docker; do
    command -v "$c" >/dev/null || die "$c not found (apt-get install docker.io iproute2 iptables util-linux)"
  done
  cmd_stop # leftovers of an earlier run; and the data root is wiped: a first start
  : >"$dlog"
  : >"$clog"
  trap 'st=$?; if [ $st -ne 0 ]; then say "start failed; logs end:"; tail -n 5 "$clog" "$dlog" >&2 2>/dev/null; cmd_stop || true; fi' EXIT
  mkdir -p "$run/containerd" "$run/exec" "$data"
  chmod 0711 "$run" "$data"

  ip netns add "$ns"
  ip -n "$ns" link set lo up
  if [ "$egress" = 1 ]; then
    sysctl -n net.ipv4.ip_forward >"$run.ip_forward"
    sysctl -qw net.ipv4.ip_forward=1
    mtu="$(ip route get 1.1.1.1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1)"
    mtu="$(cat "/sys/class/net/${mtu:-lo}/mtu" 2>/dev/null || echo 1500)"
    [ "$mtu" -le 9000 ] || mtu=1500
    ip link add "$hostif" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$ns"
    ip addr add "$net.1/30" dev "$hostif"
    ip link set "$hostif" up
    ip -n "$ns" addr add "$net.2/30" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$net.1"
    iptables -w 5 -t nat -A POSTROUTING -s "$net.0/30" ! -o "$hostif" -m comment --comment "$tag" -j MASQUERADE
    iptables -w 5 -I FORWARD 1 -i "$hostif" -m comment --comment "$tag" -j ACCEPT
    iptables -w 5 -I FORWARD 1 -o "$hostif" -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "$tag" -j ACCEPT
  fi

  cat >"$run/containerd.toml" <<EOF
version = 2
root = "$data/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$ctrsock"
[ttrpc]
  address = "$ctrsock.ttrpc"
[debug]
  address = "$run/containerd/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$data/containerd/opt"
EOF
  echo '{}' >"$run/daemon.json" # the defaults, not the host's /etc/docker/daemon.json
  local td
  td="$(now)"
  in_ns setsid containerd --config "$run/containerd.toml" >"$clog" 2>&1 </dev/null &
  echo $! >"$run/containerd.pid"
  disown
  for ((i = 0; i < start_timeout * 10; i++)); do
    [ -S "$ctrsock" ] && break
    alive "$(cat "$run/containerd.pid")" || die "containerd exited: $(tail -n 5 "$clog")"
    sleep 0.1
  done
  [ -S "$ctrsock" ] || die "containerd did not listen on $ctrsock in $start_timeout s"
  start_dockerd
  trap - EXIT
  say "started dockerd $("${fresh_docker[@]}" version --format '{{.Server.Version}}') in netns $ns (first start: $(since "$td") s, $(since "$t0") s with set-up), egress $([ "$egress" = 1 ] && echo "via $hostif" || echo off); DOCKER_HOST=unix://$sock"
}

cmd_load() {
  need_root
  local t0 img
  "${fresh_docker[@]}" version >/dev/null 2>&1 || die "not running (fresh-dockerd.sh start)"
  [ $# -gt 0 ] || set -- sn27/allocation:bookworm-2
  for img in "$@"; do
    t0="$(now)"
    "${host_docker[@]}" image inspect "$img" >/dev/null 2>&1 ||
      die "the host's dockerd has no $img (build it: go run ./cmd/sn27 miner image build)"
    timeout 600 bash -o pipefail -c '"$@"' _ "${host_docker[@]}" save "$img" | timeout 600 "${fresh_docker[@]}" load -q >/dev/null ||
      die "copying $img failed"
    say "copied $img from the host's dockerd in $(since "$t0") s"
  done
}

cmd_exec() {
  need_root
  ns_exists || die "not running (fresh-dockerd.sh start)"
  [ $# -gt 0 ] || die "exec: no command"
  mkdir -p "$tmp"
  # Debian's docker CLI (docker.io), as on a new machine, before another
  # one earlier in PATH (this machine has a newer /usr/local/bin/docker).
  local path="$PATH"
  if [ -x /usr/bin/docker ] && [ "$(command -v docker)" != /usr/bin/docker ]; then
    mkdir -p "$run/bin"
    ln -sfn /usr/bin/docker "$run/bin/docker"
    path="$run/bin:$PATH"
  fi
  exec nsenter --net="/run/netns/$ns" env DOCKER_HOST="unix://$sock" TMPDIR="$tmp" PATH="$path" "$@"
}

cmd_status() {
  if "${fresh_docker[@]}" version >/dev/null 2>&1; then
    echo "running: DOCKER_HOST=unix://$sock, netns $ns, data root $data"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  restart) cmd_restart ;;
  stop) t0="$(now)"; cmd_stop; say "stopped and removed ($(since "$t0") s)" ;;
  load) shift; cmd_load "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  env) echo "DOCKER_HOST=unix://$sock" ;;
  status) cmd_status ;;
  *) echo "usage: $0 start | restart | load [IMAGE...] | exec CMD [ARG...] | env | status | stop" >&2; exit 2 ;;
esac
