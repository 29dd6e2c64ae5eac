package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotFound reports a container, image or volume the daemon does not have.
var ErrNotFound = errors.New("not found")

// ErrExists reports that Create found the allocation's volume already there:
// a volume is made fresh for each allocation so no data passes from one
// renter to the next. Remove the old allocation first.
var ErrExists = errors.New("already exists")

// DefaultImage is the image BuildImage makes and allocations run.
//
// The tag names the image's contents: bump its suffix whenever the packages
// or files BuildImage puts in change, so that `sn27 miner image build`
// (and `make deps`) builds the new image where an older one exists.
// 2: the OpenCL ICD loader, PoCL and nvidia.icd (proof of GPU).
const DefaultImage = "sn27/allocation:bookworm-2"

// VolumeLabel marks the volumes Create makes; Remove deletes only those.
const VolumeLabel = "io.sn27.allocation-volume"

// AllocationLabel marks allocation containers (the allocation manager sets
// it to "1"); RemoveOrphans removes the ones it is not told to keep.
const AllocationLabel = "sn27.allocation"

// OwnerLabel carries the owner set with SetOwner.
const OwnerLabel = "io.sn27.owner"

// RootLimitLabel carries a container's root filesystem limit in bytes
// (Resources.RootBytes): what the host has promised its writable layer.
const RootLimitLabel = "io.sn27.root-limit"

// DataPath is where the allocation's volume is mounted in the container.
const DataPath = "/data"

// passwordMarker is the file whose presence makes the entrypoint allow
// password logins (see entrypointScript).
const passwordMarker = "/etc/ssh/sn27-password-login"

// engine is the part of the Docker Engine API this package uses; the
// official client implements it.
type engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	Info(ctx context.Context) (system.Info, error)
	Close() error
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, options image.ImportOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, options container.StartOptions) error
	ContainerRestart(ctx context.Context, id string, options container.StopOptions) error
	ContainerStop(ctx context.Context, id string, options container.StopOptions) error
	ContainerPause(ctx context.Context, id string) error
	ContainerUnpause(ctx context.Context, id string) error
	ContainerRemove(ctx context.Context, id string, options container.RemoveOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerInspectWithRaw(ctx context.Context, id string, getSize bool) (container.InspectResponse, []byte, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	CopyToContainer(ctx context.Context, id, dstPath string, content io.Reader, options container.CopyToContainerOptions) error
	ContainerExecCreate(ctx context.Context, id string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeInspect(ctx context.Context, id string) (volume.Volume, error)
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeRemove(ctx context.Context, id string, force bool) error
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, id string, options network.InspectOptions) (network.Inspect, error)
	NetworkRemove(ctx context.Context, id string) error
}

var _ engine = (*client.Client)(nil)

// Client talks to the Docker daemon. It is safe for concurrent use.
type Client struct {
	api engine

	mu       sync.Mutex
	diskDir  string         // SetDiskDir; "" for plain volumes
	owner    string         // SetOwner; "" for none
	rnet     rentalNet      // zero: defaultRentalNet
	allow    []netip.Prefix // SetAllowCIDRs
	lxcfs    string         // SetLXCFS
	lxcfsSet bool
}

// settings returns the disk dir and owner under the lock.
func (c *Client) settings() (diskDir, owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diskDir, c.owner
}

// SetOwner scopes the client to one miner on a shared daemon: Create labels
// containers and volumes with OwnerLabel=owner, and RemoveOrphans then
// touches only what carries that label. "" (the default) labels nothing and
// makes RemoveOrphans consider every allocation on the daemon.
func (c *Client) SetOwner(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owner = owner
}

// New connects to the daemon named by the environment (DOCKER_HOST, else the
// local socket), negotiating the API version, and checks that it answers.
func New(ctx context.Context) (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	c := &Client{api: api}
	if err := c.Ping(ctx); err != nil {
		api.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker daemon: %w (start it with `systemctl start docker`, or as root `dockerd >/tmp/dockerd.log 2>&1 &`)", err)
	}
	return nil
}

// ImageExists reports whether the daemon has the image ref.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	if _, err := c.api.ImageInspect(ctx, ref); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return true, nil
}

// Resources are the limits of an allocation's container.
type Resources struct {
	CPUs        int   // whole CPUs; 0 no limit
	MemoryBytes int64 // memory and memory+swap; 0 no limit
	PidsLimit   int64 // 0 no limit
	ShmBytes    int64 // size of /dev/shm; 0 the daemon's default (64 MiB)
	DiskBytes   int64 // size of /data (an ext4 image, with a disk dir set); 0 a plain volume
	// RootBytes limits the writable layer (the root filesystem): with
	// storage-opt size where the storage driver has quotas, otherwise only
	// labelled (RootLimitLabel) for the caller's watch on SizeRw. 0 none.
	RootBytes int64
	GPUs      int // 0 none, -1 all, n>0 that many (nvidia driver)
}

// ContainerSpec describes an allocation's container.
type ContainerSpec struct {
	Name   string
	Image  string // "" means DefaultImage
	Labels map[string]string
	// Resources limits the container.
	Resources Resources
	// SSHHostPort is the host port (all interfaces) published to the
	// container's 22/tcp.
	SSHHostPort int
	// Volume names a volume created for this allocation and mounted at
	// /data; "" for none. It must not exist yet (ErrExists).
	Volume string
	// AuthorizedKey is one OpenSSH public key line, installed as
	// /root/.ssh/authorized_keys.
	AuthorizedKey string
	// RootPassword is set only when AuthorizedKey is empty; sshd then
	// allows password logins.
	RootPassword string
	// HostKey is an OpenSSH ed25519 private key (PEM, see NewHostKey); when
	// set, sshd offers only this host key, so the renter can pin it. ""
	// lets the container make its own keys at first start.
	HostKey string
	// Network is the Docker network the container joins instead of the
	// default bridge; RentalNetwork for the isolated rental network
	// (Create installs its firewall rules first). "" for the default.
	Network string
}

// Container is what the daemon reports about a container.
type Container struct {
	ID, Name    string
	State       string // "created", "running", "paused", "restarting", "exited", "dead"
	Labels      map[string]string
	SSHHostPort int // 0 when 22/tcp is not published
	// RootQuota is the storage-opt size the daemon enforces on the
	// writable layer, 0 when none (the caller watches it instead).
	RootQuota int64
}

// Create makes the container for s, installs its SSH credentials (and host
// key, when s.HostKey is set) and starts it. With a disk dir set
// (SetDiskDir), a volume and a disk size, the volume is an ext4 image of
// that size, so writes to /data past it fail with ENOSPC. The warnings list
// limits the daemon accepted but cannot apply (a root filesystem size on a
// storage driver without quotas, swap limits without swap accounting). On
// error nothing of the allocation is left behind.
func (c *Client) Create(ctx context.Context, s ContainerSpec) (id string, warnings []string, err error) {
	if err := s.validate(); err != nil {
		return "", nil, err
	}
	key, err := normalizeKey(s.AuthorizedKey)
	if s.AuthorizedKey != "" && err != nil {
		return "", nil, err
	}
	var hostKey []tarFile
	if s.HostKey != "" {
		if hostKey, err = hostKeyFiles(s.HostKey); err != nil {
			return "", nil, err
		}
	}
	if s.Image == "" {
		s.Image = DefaultImage
	}
	diskDir, owner := c.settings()
	useDisk := s.Volume != "" && s.Resources.DiskBytes > 0 && diskDir != ""
	if useDisk && s.Resources.DiskBytes < MinDiskBytes {
		return "", nil, fmt.Errorf("container spec: disk %d bytes is below the %d MiB minimum of a /data disk", s.Resources.DiskBytes, MinDiskBytes>>20)
	}
	if s.Network == c.rentalNet().network {
		// Never start a rental on the network without its firewall rules
		// (a host firewall reload may have flushed them).
		if err := c.EnsureRentalNetwork(ctx); err != nil {
			return "", nil, err
		}
	}
	info, err := c.api.Info(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("docker info: %w", err)
	}
	cfg, hc := s.configs(info.NCPU)
	if owner != "" {
		cfg.Labels[OwnerLabel] = owner
	}
	if s.Resources.RootBytes > 0 {
		cfg.Labels[RootLimitLabel] = strconv.FormatInt(s.Resources.RootBytes, 10)
		if ok, why := storageOptSupported(info); ok {
			hc.StorageOpt = map[string]string{"size": strconv.FormatInt(s.Resources.RootBytes, 10)}
		} else {
			warnings = append(warnings, "root filesystem limit is watched, not enforced by the storage driver: "+strings.TrimPrefix(why, "disk limit not applied: "))
		}
	}
	if lx := c.lxcfsDir(); lx != "" {
		hc.Mounts = append(hc.Mounts, lxcfsMounts(lx)...)
	}

	// Undo whatever was made if a later step fails, even when ctx is done.
	var cleanup []func(context.Context)
	var d disk // the /data disk, when useDisk
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i](cctx)
		}
	}()

	if s.Volume != "" {
		if _, ierr := c.api.VolumeInspect(ctx, s.Volume); ierr == nil {
			return "", warnings, fmt.Errorf("create volume %s: %w", s.Volume, ErrExists)
		} else if !cerrdefs.IsNotFound(ierr) {
			return "", warnings, fmt.Errorf("inspect volume %s: %w", s.Volume, ierr)
		}
		labels := map[string]string{VolumeLabel: s.Name}
		for k, v := range s.Labels {
			labels[k] = v
		}
		if owner != "" {
			labels[OwnerLabel] = owner
		}
		opts := volume.CreateOptions{Name: s.Volume, Labels: labels}
		if useDisk {
			d, err = makeDisk(ctx, diskDir, s.Volume, s.Resources.DiskBytes)
			if err != nil {
				return "", warnings, err
			}
			cleanup = append(cleanup, func(ctx context.Context) { _ = d.teardown(ctx) })
			opts.Driver = "local"
			opts.DriverOpts = map[string]string{"type": "none", "o": "bind", "device": d.mount}
			labels[DiskImageLabel] = d.image
		}
		if _, err := c.api.VolumeCreate(ctx, opts); err != nil {
			return "", warnings, fmt.Errorf("create volume %s: %w", s.Volume, err)
		}
		cleanup = append(cleanup, func(ctx context.Context) { _ = c.api.VolumeRemove(ctx, s.Volume, true) })
	}

	resp, err := c.api.ContainerCreate(ctx, cfg, hc, nil, nil, s.Name)
	if err != nil && hc.StorageOpt != nil && isStorageOptError(err) {
		// The driver refused the size (overlay2 on xfs without pquota, say):
		// run without a disk limit and say so.
		warnings = append(warnings, fmt.Sprintf("root filesystem limit of %d bytes is watched, not enforced by the storage driver: %v", s.Resources.RootBytes, err))
		hc.StorageOpt = nil
		resp, err = c.api.ContainerCreate(ctx, cfg, hc, nil, nil, s.Name)
	}
	if err != nil {
		return "", warnings, wrap("create container "+s.Name, err)
	}
	cid := resp.ID // not id: a failing return clears id before the cleanup runs
	warnings = append(warnings, resp.Warnings...)
	cleanup = append(cleanup, func(ctx context.Context) {
		_ = c.api.ContainerRemove(ctx, cid, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})

	// Credentials go into the created container before sshd ever runs.
	if key != "" {
		if err := c.copyAuthorizedKey(ctx, cid, key); err != nil {
			return "", warnings, err
		}
	} else {
		if err := c.copyFiles(ctx, cid, "/", []tarFile{{name: strings.TrimPrefix(passwordMarker, "/"), mode: 0o600, body: []byte("password login allowed by sn27\n")}}); err != nil {
			return "", warnings, fmt.Errorf("allow password login: %w", err)
		}
	}
	if hostKey != nil {
		if err := c.copyFiles(ctx, cid, "/", hostKey); err != nil {
			return "", warnings, fmt.Errorf("install host key: %w", err)
		}
	}
	if err := c.api.ContainerStart(ctx, cid, container.StartOptions{}); err != nil {
		return "", warnings, wrap("start container "+s.Name, err)
	}
	if useDisk {
		in, err := c.api.ContainerInspect(ctx, cid)
		if err != nil {
			return "", warnings, wrap("inspect container "+s.Name, err)
		}
		if in.State != nil && in.State.Pid > 0 {
			if err := d.checkMountedIn(in.State.Pid); err != nil {
				return "", warnings, err
			}
		}
	}
	if key == "" {
		if err := c.setRootPassword(ctx, cid, s.RootPassword); err != nil {
			return "", warnings, err
		}
	}
	return cid, warnings, nil
}

// validate checks the parts of s that would otherwise reach the daemon or
// the container unchecked.
func (s ContainerSpec) validate() error {
	if s.Name == "" {
		return errors.New("container spec: empty name")
	}
	if s.SSHHostPort <= 0 || s.SSHHostPort > 65535 {
		return fmt.Errorf("container spec: ssh host port %d out of range", s.SSHHostPort)
	}
	r := s.Resources
	if r.CPUs < 0 || r.MemoryBytes < 0 || r.PidsLimit < 0 || r.ShmBytes < 0 || r.DiskBytes < 0 || r.RootBytes < 0 || r.GPUs < -1 {
		return fmt.Errorf("container spec: negative resource in %+v", r)
	}
	if r.MemoryBytes > 0 && r.MemoryBytes < 6<<20 {
		return fmt.Errorf("container spec: memory %d bytes is below docker's 6 MiB minimum", r.MemoryBytes)
	}
	if s.Volume != "" && !validName.MatchString(s.Volume) {
		return fmt.Errorf("container spec: bad volume name %.80q", s.Volume)
	}
	if s.Network != "" && (!validName.MatchString(s.Network) || s.Network == "host" || s.Network == "none") {
		return fmt.Errorf("container spec: bad network %.80q (a bridge network's name)", s.Network)
	}
	if s.HostKey != "" {
		if _, err := hostKeyFiles(s.HostKey); err != nil {
			return err
		}
	}
	switch {
	case s.AuthorizedKey != "":
		if _, err := normalizeKey(s.AuthorizedKey); err != nil {
			return err
		}
	case s.RootPassword != "":
		if err := checkPassword(s.RootPassword); err != nil {
			return err
		}
	default:
		return errors.New("container spec: neither an authorized key nor a root password")
	}
	return nil
}

// configs builds the container and host configuration for s on a host with
// ncpu CPUs.
func (s ContainerSpec) configs(ncpu int) (*container.Config, *container.HostConfig) {
	const sshPort = nat.Port("22/tcp")
	labels := make(map[string]string, len(s.Labels))
	for k, v := range s.Labels {
		labels[k] = v
	}
	cfg := &container.Config{
		Image:        s.Image,
		Hostname:     hostname(s.Name),
		Labels:       labels,
		ExposedPorts: nat.PortSet{sshPort: struct{}{}},
	}
	r := s.Resources
	init := true
	hc := &container.HostConfig{
		PortBindings:  nat.PortMap{sshPort: {{HostPort: strconv.Itoa(s.SSHHostPort)}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		SecurityOpt:   []string{"no-new-privileges"},
		Init:          &init, // reap the orphans of SSH sessions
		ShmSize:       r.ShmBytes,
		// What the container prints goes to the host's disk: bounded.
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "2"}},
	}
	if r.CPUs > 0 {
		hc.NanoCPUs = int64(r.CPUs) * 1e9
		if r.CPUs <= ncpu {
			hc.CpusetCpus = fmt.Sprintf("0-%d", r.CPUs-1)
		}
	}
	if r.MemoryBytes > 0 {
		hc.Memory = r.MemoryBytes
		hc.MemorySwap = r.MemoryBytes
	}
	if r.PidsLimit > 0 {
		pids := r.PidsLimit
		hc.PidsLimit = &pids
	}
	if r.GPUs != 0 {
		hc.DeviceRequests = []container.DeviceRequest{{
			Driver:       "nvidia",
			Count:        r.GPUs,
			Capabilities: [][]string{{"gpu"}},
		}}
		// compute mounts the driver's CUDA and OpenCL libraries
		// (libnvidia-opencl.so.1, which the image's nvidia.icd names):
		// proof of GPU and renters' jobs need them, not only nvidia-smi.
		cfg.Env = append(cfg.Env, "NVIDIA_DRIVER_CAPABILITIES=compute,utility")
	}
	if s.Volume != "" {
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: s.Volume, Target: DataPath}}
	}
	if s.Network != "" {
		hc.NetworkMode = container.NetworkMode(s.Network)
	}
	return cfg, hc
}

// hostname derives a valid host name from a container name.
func hostname(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() == 63 {
			break
		}
	}
	h := strings.Trim(b.String(), "-")
	if h == "" {
		return "sn27"
	}
	return h
}

// storageOptSupported reports whether the daemon's storage driver can limit
// a container's writable layer, or why not.
func storageOptSupported(info system.Info) (bool, string) {
	backing := ""
	for _, kv := range info.DriverStatus {
		if kv[0] == "Backing Filesystem" {
			backing = kv[1]
		}
	}
	switch info.Driver {
	case "overlay2", "overlay", "vfs":
		if backing != "xfs" {
			return false, fmt.Sprintf("disk limit not applied: storage driver %s on %s has no per-container quota (needs xfs mounted with pquota)", info.Driver, backing)
		}
		return true, "" // xfs: works with pquota; Create falls back if not
	case "devicemapper", "btrfs", "zfs", "windowsfilter":
		return true, ""
	default:
		return false, fmt.Sprintf("disk limit not applied: storage driver %s has no per-container size option", info.Driver)
	}
}

// isStorageOptError reports whether the daemon refused a StorageOpt.
func isStorageOptError(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "storage-opt") || strings.Contains(m, "storage opt") || strings.Contains(m, "storageopt")
}

// Pause freezes every process of the container.
func (c *Client) Pause(ctx context.Context, id string) error {
	return wrap("pause container "+id, c.api.ContainerPause(ctx, id))
}

// Unpause resumes a paused container.
func (c *Client) Unpause(ctx context.Context, id string) error {
	return wrap("unpause container "+id, c.api.ContainerUnpause(ctx, id))
}

// Restart stops the container (10 s grace) and starts it again; its files,
// credentials and host keys are kept.
func (c *Client) Restart(ctx context.Context, id string) error {
	timeout := 10
	return wrap("restart container "+id, c.api.ContainerRestart(ctx, id, container.StopOptions{Timeout: &timeout}))
}

// Remove kills and deletes the container and the volumes Create made for
// it, with their disk images (unmounted, lazily if busy). A missing
// container gives ErrNotFound.
func (c *Client) Remove(ctx context.Context, id string) error {
	in, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return wrap("inspect container "+id, err)
	}
	if err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		return wrap("remove container "+id, err)
	}
	var errs []error
	for _, m := range in.Mounts {
		if m.Type != mount.TypeVolume || m.Name == "" {
			continue
		}
		v, err := c.api.VolumeInspect(ctx, m.Name)
		if cerrdefs.IsNotFound(err) {
			continue // an anonymous volume RemoveVolumes already took
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("inspect volume %s: %w", m.Name, err))
			continue
		}
		if _, ours := v.Labels[VolumeLabel]; !ours {
			continue
		}
		if err := c.api.VolumeRemove(ctx, m.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", m.Name, err))
			continue
		}
		if err := removeVolumeDisk(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stop stops the container, killing what still runs after grace (whole
// seconds, at least 1), and keeps it, its writable layer and its volumes;
// the restart policy does not start it again.
func (c *Client) Stop(ctx context.Context, id string, grace time.Duration) error {
	timeout := max(int(grace/time.Second), 1)
	return wrap("stop container "+id, c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}))
}

// WritableBytes is the size of the container's writable layer (SizeRw):
// what it wrote outside its volumes. The daemon walks the layer to count
// it, so this takes time in proportion to the files there.
func (c *Client) WritableBytes(ctx context.Context, id string) (int64, error) {
	in, _, err := c.api.ContainerInspectWithRaw(ctx, id, true)
	if err != nil {
		return 0, wrap("inspect container size "+id, err)
	}
	if in.SizeRw == nil {
		return 0, fmt.Errorf("inspect container size %s: the daemon reports no SizeRw", id)
	}
	return *in.SizeRw, nil
}

// Inspect reports the container's state.
func (c *Client) Inspect(ctx context.Context, id string) (Container, error) {
	in, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return Container{}, wrap("inspect container "+id, err)
	}
	ct := Container{ID: in.ID, Name: strings.TrimPrefix(in.Name, "/")}
	if in.State != nil {
		ct.State = string(in.State.Status)
	}
	if in.Config != nil {
		ct.Labels = in.Config.Labels
	}
	if in.HostConfig != nil {
		if q, err := strconv.ParseInt(in.HostConfig.StorageOpt["size"], 10, 64); err == nil && q > 0 {
			ct.RootQuota = q
		}
		for _, b := range in.HostConfig.PortBindings["22/tcp"] {
			if p, err := strconv.Atoi(b.HostPort); err == nil {
				ct.SSHHostPort = p
				break
			}
		}
	}
	return ct, nil
}

// List reports the containers, running or not, that carry all of labels.
func (c *Client) List(ctx context.Context, labels map[string]string) ([]Container, error) {
	f := filters.NewArgs()
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Container, 0, len(list))
	for _, s := range list {
		ct := Container{ID: s.ID, State: string(s.State), Labels: s.Labels}
		if len(s.Names) > 0 {
			ct.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		for _, p := range s.Ports {
			if p.PrivatePort == 22 && p.Type == "tcp" && p.PublicPort != 0 {
				ct.SSHHostPort = int(p.PublicPort)
				break
			}
		}
		if ct.SSHHostPort == 0 {
			// Ports lists only running containers' bindings; ask for the
			// configured one.
			if in, err := c.Inspect(ctx, s.ID); err == nil {
				ct.SSHHostPort = in.SSHHostPort
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

// wrap adds the operation to err, and ErrNotFound when the daemon reports a
// missing object.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: %w: %v", op, ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
