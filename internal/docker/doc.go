// Package docker rents the miner's machine out as a Docker container reachable
// by SSH, through the Docker Engine API (the official Go client; the docker
// CLI is never run).
//
// A container made by [Client.Create] is not privileged, adds no
// capabilities, sets no-new-privileges, mounts no host path (only the
// allocation's own named volume at /data, and LXCFS's /proc files read-only
// where lxcfs runs, [Client.SetLXCFS], so free and /proc/meminfo show the
// limits), keeps bounded logs, and is limited in CPUs (NanoCPUs
// and, when it fits, a cpuset so nproc shows the count), memory (swap equal to
// memory), PIDs and /dev/shm. SSH credentials are installed without a shell:
// authorized_keys is copied in as a tar entry, and a root password is fed to
// chpasswd on stdin.
//
// Disk: with a disk dir ([Client.SetDiskDir]) /data is an ext4 filesystem
// image of the size rented, preallocated (never overcommitting the host's
// disk), loop-mounted (nodev, nosuid) on the host and
// bound into the container as a volume, so writes past the size fail with
// ENOSPC; [Client.Remove] and [Client.RemoveOrphans] unmount and delete it,
// and [Client.RemountDisks] mounts the images again after a reboot. The root
// filesystem (Resources.RootBytes) is limited by storage-opt size where the
// storage driver enforces it; elsewhere a warning says it is watched, and
// the caller measures it ([Client.WritableBytes]) and stops the container
// ([Client.Stop]) at the limit. [Client.Space] measures what the host can
// still promise. [Client.DiskLimit] tries both limits.
//
// Network: containers created with Network [RentalNetwork] run on a bridge
// of their own ([RentalBridge], no traffic between containers) that
// [Client.EnsureRentalNetwork] guards with iptables and ip6tables rules: a
// rental cannot open a connection to any address of the host
// ([IsolationChain]) nor to anything but the internet ([EgressChain]: LAN,
// private, CGNAT, link-local and cloud metadata, multicast, the host's
// on-link networks; [Client.SetAllowCIDRs] opens chosen ranges), while the
// published SSH port, replies, DNS to the host's resolvers and the way out
// to the internet work. [Client.CheckIsolation] says what is missing.
//
// Host key: a container created with a HostKey ([NewHostKey]) offers only
// that key, so the renter can pin it before the first login.
//
// External programs (mkfs.ext4, mount, e2fsck, iptables) run with argument
// lists and time limits, never through a shell; volume and network names
// are checked before they reach a path or a command line.
//
// [Client.BuildImage] makes the image the containers run, [DefaultImage], from
// a debootstrap rootfs: OpenSSH with root login by key only unless the
// container was created with a password, and host keys generated at first
// start, never baked into the image.
package docker
