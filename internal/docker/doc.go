// Package docker rents the miner's machine out as a Docker container reachable
// by SSH, through the Docker Engine API (the official Go client; the docker
// CLI is never run).
//
// A container made by [Client.Create] is not privileged, adds no
// capabilities, sets no-new-privileges, mounts no host path (only the
// allocation's own named volume at /data), and is limited in CPUs (NanoCPUs
// and, when it fits, a cpuset so nproc shows the count), memory (swap equal to
// memory), PIDs and /dev/shm. SSH credentials are installed without a shell:
// authorized_keys is copied in as a tar entry, and a root password is fed to
// chpasswd on stdin.
//
// Disk: with a disk dir ([Client.SetDiskDir]) /data is an ext4 filesystem
// image of the size rented, loop-mounted (nodev, nosuid) on the host and
// bound into the container as a volume, so writes past the size fail with
// ENOSPC; [Client.Remove] and [Client.RemoveOrphans] unmount and delete it,
// and [Client.RemountDisks] mounts the images again after a reboot. The root
// filesystem is limited (storage-opt size) only where the storage driver
// supports it, else a warning says so. [Client.DiskLimit] tries both.
//
// Network: containers created with Network [RentalNetwork] run on a bridge
// of their own ([RentalBridge], no traffic between containers) that
// [Client.EnsureRentalNetwork] guards with iptables rules: a rental cannot
// open a connection to any address of the host, while the published SSH
// port and the way out to the internet work.
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
