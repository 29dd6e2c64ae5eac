package miner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sn27/sn27/internal/bench"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// Check is one doctor finding.
type Check struct {
	Name   string
	OK     bool
	Detail string
	Fix    string // what to do when not OK
}

// DockerProbe is what the doctor asks Docker.
type DockerProbe interface {
	Ping(ctx context.Context) error
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// RentalProbe is what the doctor asks about how rentals are confined.
type RentalProbe interface {
	// DiskLimit tries the ways a rental's disk can be limited here.
	DiskLimit(ctx context.Context) docker.DiskLimitReport
	// CheckIsolation reports what is missing of the rental network and
	// its firewall rules.
	CheckIsolation(ctx context.Context) error
	// LXCFS is the LXCFS mount rentals get /proc files from ("" none).
	LXCFS() string
}

// DoctorConfig says what to check.
type DoctorConfig struct {
	Docker      DockerProbe // nil: Docker client could not be created (DockerErr says why)
	DockerErr   error
	Rentals     RentalProbe // nil: the rental disk and network checks are skipped
	Image       string
	SSHPort     int
	HashcatPath string
	NvidiaSMI   string
	DataDir     string
	MinFreeDisk uint64 // bytes
}

// Doctor checks what validators and renters will need of this machine.
func Doctor(ctx context.Context, c DoctorConfig) []Check {
	var out []Check
	add := func(name string, ok bool, detail, fix string) {
		out = append(out, Check{Name: name, OK: ok, Detail: detail, Fix: fix})
	}
	// Docker.
	dockerOK := false
	switch {
	case c.Docker == nil:
		add("docker reachable", false, fmt.Sprint(c.DockerErr), "install docker.io and start it: apt-get install docker.io && systemctl start docker")
	default:
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Docker.Ping(pctx)
		cancel()
		dockerOK = err == nil
		add("docker reachable", dockerOK, errText(err, "the Docker Engine API answers"), "start dockerd (systemctl start docker) and run the miner as root or in the docker group")
	}
	if dockerOK {
		ok, err := c.Docker.ImageExists(ctx, c.Image)
		add("allocation image", ok && err == nil, errText(err, fmt.Sprintf("%s present: %v", c.Image, ok)), "build it: sn27 miner image build")
		if c.Rentals != nil {
			out = append(out, rentalChecks(ctx, c.Rentals)...)
		}
	}
	// GPUs and the NVIDIA runtime.
	_, nvErr := exec.LookPath(c.NvidiaSMI)
	if nvErr == nil {
		_, rtErr := exec.LookPath("nvidia-container-runtime")
		_, ctkErr := exec.LookPath("nvidia-ctk")
		add("nvidia container runtime", rtErr == nil || ctkErr == nil, "GPUs found; containers need the NVIDIA container toolkit",
			"install nvidia-container-toolkit and run: nvidia-ctk runtime configure --runtime=docker && systemctl restart docker")
	} else {
		add("gpus", true, "no nvidia-smi: a CPU-only miner (GPU miners earn far more)", "")
	}
	// SSH port for allocations.
	addr := net.JoinHostPort("0.0.0.0", strconv.Itoa(c.SSHPort))
	if ln, err := net.Listen("tcp", addr); err != nil {
		add("ssh port", false, fmt.Sprintf("port %d is in use: %v", c.SSHPort, err), "free it, or pick another with --ssh.port (and open it in the firewall)")
	} else {
		done := make(chan struct{})
		go func() {
			if conn, err := ln.Accept(); err == nil {
				conn.Close()
			}
			close(done)
		}()
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.SSHPort)), 3*time.Second)
		if err == nil {
			conn.Close()
			<-done
		}
		ln.Close()
		add("ssh port", err == nil, errText(err, fmt.Sprintf("port %d is free and reachable on loopback; open it in the firewall for renters", c.SSHPort)),
			"check local firewall rules for loopback")
	}
	// hashcat.
	if p, err := exec.LookPath(c.HashcatPath); err != nil {
		add("hashcat", false, err.Error(), "apt-get install hashcat (>= 6.2.6), or use --miner.solver native")
	} else {
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, verr := exec.CommandContext(vctx, p, "--version").Output()
		cancel()
		add("hashcat", verr == nil, errText(verr, p+" "+strings.TrimSpace(string(v))), "reinstall hashcat")
	}
	// Native solver: which kernel this CPU runs, and how fast.
	if kern, err := pow.KernelAuto.Resolve(); err != nil {
		add("native solver", false, err.Error(), "unset SN27_POW_KERNEL, or set it to avx512, avx2, scalar or generic")
	} else {
		rep, err := bench.Run(ctx, bench.Options{Solver: "native", Duration: time.Second})
		detail := fmt.Sprintf("kernel %s, %.1f MH/s on %d cores", kern, rep.NativeHPS/1e6, runtime.GOMAXPROCS(0))
		if kern == pow.KernelScalar || kern == pow.KernelGeneric {
			if _, err := pow.KernelAVX2.Resolve(); err != nil {
				detail += " (no AVX2: the SIMD kernels do not run on this CPU)"
			} else {
				detail += " (chosen by SN27_POW_KERNEL)"
			}
		}
		add("native solver", err == nil, errText(err, detail), "report this with the output of sn27 bench --solver native")
	}
	out = append(out, openclChecks(ctx, nvErr == nil)...)
	// Disk.
	var st unix.Statfs_t
	if err := unix.Statfs(c.DataDir, &st); err != nil {
		add("disk space", false, err.Error(), "check --miner.data_dir")
	} else {
		free := st.Bavail * uint64(st.Bsize)
		add("disk space", free >= c.MinFreeDisk, fmt.Sprintf("%.1f GiB free under %s", float64(free)/(1<<30), c.DataDir),
			fmt.Sprintf("free at least %.0f GiB for containers and images", float64(c.MinFreeDisk)/(1<<30)))
	}
	return out
}

// rentalChecks reports how a rental's disk is limited and whether its
// network is kept off the host.
func rentalChecks(ctx context.Context, p RentalProbe) []Check {
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	r := p.DiskLimit(dctx)
	cancel()
	engine := r.Driver
	if r.Backing != "" {
		engine += " on " + r.Backing
	}
	disk := Check{
		Name:   "rental disk limit",
		OK:     r.Data || r.RootFS,
		Detail: fmt.Sprintf("storage engine %s: %s (/data: %s; root filesystem: %s)", engine, r.Method(), r.DataDetail, r.RootFSDetail),
	}
	if !disk.OK {
		disk.Fix = "run the miner as root with mkfs.ext4 (apt-get install e2fsprogs) and loop devices (modprobe loop), " +
			"so /data is an ext4 image of the size rented; or keep /var/lib/docker on xfs mounted with pquota for storage-opt size"
	}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := p.CheckIsolation(ictx)
	cancel()
	isolation := Check{
		Name: "rental network isolation",
		OK:   err == nil,
		Detail: errText(err, fmt.Sprintf("network %s; iptables chains %s (the host's own addresses) and %s (LAN, cloud metadata, private, CGNAT, link-local, multicast: "+
			"rentals reach only the internet, and what --miner.rental.allow-cidr opens)", docker.RentalNetwork, docker.IsolationChain, docker.EgressChain)),
	}
	switch {
	case errors.Is(err, docker.ErrNotIsolated):
		isolation.Fix = "start sn27 miner once (as root): it creates the network and installs the iptables rules, and checks them before each rental"
	case err != nil:
		isolation.Fix = "run as root with iptables installed (apt-get install iptables); sn27 miner installs the rules at start"
	}
	view := Check{Name: "rental view (lxcfs)", OK: true}
	if dir := p.LXCFS(); dir != "" {
		view.Detail = "on: free, top and /proc/meminfo, /proc/cpuinfo in rentals show their own limits (LXCFS at " + dir + ")"
	} else {
		view.Detail = "off: nproc shows a rental's CPUs, but free and /proc/meminfo show the host's memory and df / the host's disk"
		view.Fix = "optional: apt-get install lxcfs (and keep it running) so rentals see their limits; the miner uses it when it runs"
	}
	return []Check{disk, isolation, view}
}

func errText(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// openclChecks lists the OpenCL platforms and devices and measures our
// kernel on the device the OpenCL solver would use. Without OpenCL the
// check fails only when hasGPU: GPU miners want it.
func openclChecks(ctx context.Context, hasGPU bool) []Check {
	devs, err := opencl.Devices()
	if err != nil {
		return []Check{{
			Name: "opencl", OK: !hasGPU,
			Detail: err.Error() + " (needed by --miner.solver opencl, and by auto and hybrid to use our kernel on GPUs)",
			Fix: "install the ICD loader (apt-get install ocl-icd-libopencl1) and the GPU's OpenCL driver " +
				"(NVIDIA: the driver's OpenCL part, e.g. nvidia-opencl-icd; AMD: ROCm OpenCL); on CPUs pocl-opencl-icd",
		}}
	}
	var b strings.Builder
	for i, d := range devs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d: %s [%s] on %s (%s), %d compute units", d.Index, d.Name, d.Type, d.Platform, d.Version, d.ComputeUnits)
	}
	out := []Check{{Name: "opencl devices", OK: true, Detail: b.String()}}
	rep, err := bench.Run(ctx, bench.Options{Solver: "opencl", Duration: time.Second, OpenCL: opencl.DefaultConfig()})
	out = append(out, Check{
		Name: "opencl solver", OK: err == nil,
		Detail: errText(err, fmt.Sprintf("%.1f MH/s on %s (kernel built in %.1f s)", rep.OpenCLHPS/1e6, rep.OpenCLDevice, rep.OpenCLStartupS)),
		Fix:    "the OpenCL driver could not build or run the kernel: update the driver, or use --miner.solver native or hashcat; report it with the output of sn27 bench --solver opencl",
	})
	return out
}
