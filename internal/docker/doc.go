// Package docker rents the miner's machine out as a Docker container reachable
// by SSH, through the Docker Engine API (the official Go client; the docker
// CLI is never run).
//
// A container made by [Client.Create] is not privileged, adds no
// capabilities, sets no-new-privileges, mounts no host path (only the
// allocation's own named volume at /data), and is limited in CPUs (NanoCPUs
// and, when it fits, a cpuset so nproc shows the count), memory (swap equal to
// memory), PIDs and /dev/shm; the disk limit is applied only where the storage
// driver supports it, else reported as a warning. SSH credentials are
// installed without a shell: authorized_keys is copied in as a tar entry, and
// a root password is fed to chpasswd on stdin.
//
// [Client.BuildImage] makes the image the containers run, [DefaultImage], from
// a debootstrap rootfs: OpenSSH with root login by key only unless the
// container was created with a password, and host keys generated at first
// start, never baked into the image.
package docker
