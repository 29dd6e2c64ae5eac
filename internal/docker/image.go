package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/image"
	"golang.org/x/sys/unix"
)

// BuildOptions configure BuildImage.
type BuildOptions struct {
	Tag      string   // image to make; "" means DefaultImage
	Suite    string   // Debian suite; "" means bookworm
	Mirror   string   // Debian mirror; "" means http://deb.debian.org/debian
	Packages []string // installed besides the base set
	Force    bool     // build even when Tag exists
	Log      io.Writer
}

// basePackages are installed into every image (debootstrap --include).
// The OpenCL ICD loader and PoCL let `sn27 pog serve` (proof of GPU) run in
// the container: on NVIDIA hosts through the driver's libnvidia-opencl.so.1
// (mounted by the NVIDIA container runtime, named by the nvidia.icd
// configureRootfs writes), on CPU hosts and devnets through PoCL.
var basePackages = []string{"openssh-server", "procps", "iproute2", "ca-certificates", "nano", "less", "ocl-icd-libopencl1", "pocl-opencl-icd"}

// entrypointScript is the image's command: host keys are made at the first
// start (never baked into the image), and password logins are allowed only
// when Create left the marker file for a password allocation.
const entrypointScript = `#!/bin/sh
# sn27 allocation entrypoint (written by sn27 miner image build).
set -e
ssh-keygen -A
mkdir -p /run/sshd
chmod 0755 /run/sshd
if [ -e ` + passwordMarker + ` ]; then
	printf 'PermitRootLogin yes\nPasswordAuthentication yes\n' >/etc/ssh/sshd_config.d/00-sn27-password.conf
else
	rm -f /etc/ssh/sshd_config.d/00-sn27-password.conf
fi
exec /usr/sbin/sshd -D -e
`

// sshdConfig is the image's sshd policy. sshd keeps the first value it reads,
// and the entrypoint's password override sorts before this file.
const sshdConfig = `# sn27 allocation policy: root by key only, unless the entrypoint
# enabled passwords in 00-sn27-password.conf.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
X11Forwarding no
`

var validSuite = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)
var validPackage = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{0,99}$`)

// BuildImage makes the allocation image o.Tag from a debootstrap rootfs of
// Debian o.Suite (installing debootstrap with apt-get if missing), imports
// it, and writes progress and the build time to o.Log. It does nothing when
// the image exists, unless o.Force.
func (c *Client) BuildImage(ctx context.Context, o BuildOptions) error {
	if o.Tag == "" {
		o.Tag = DefaultImage
	}
	if o.Suite == "" {
		o.Suite = "bookworm"
	}
	if o.Mirror == "" {
		o.Mirror = "http://deb.debian.org/debian"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if !validSuite.MatchString(o.Suite) {
		return fmt.Errorf("build image: bad suite %q", o.Suite)
	}
	if !strings.HasPrefix(o.Mirror, "http://") && !strings.HasPrefix(o.Mirror, "https://") && !strings.HasPrefix(o.Mirror, "file:/") {
		return fmt.Errorf("build image: mirror %q is not an http(s) or file URL", o.Mirror)
	}
	pkgs := append([]string(nil), basePackages...)
	for _, p := range o.Packages {
		if !validPackage.MatchString(p) {
			return fmt.Errorf("build image: bad package name %q", p)
		}
		pkgs = append(pkgs, p)
	}
	if !o.Force {
		ok, err := c.ImageExists(ctx, o.Tag)
		if err != nil {
			return fmt.Errorf("build image: %w", err)
		}
		if ok {
			fmt.Fprintf(o.Log, "image %s exists; not rebuilt (force to rebuild)\n", o.Tag)
			return nil
		}
	}
	start := time.Now()
	if err := ensureDebootstrap(ctx, o.Log); err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	tmp, err := os.MkdirTemp("", "sn27-rootfs-")
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")

	fmt.Fprintf(o.Log, "debootstrap %s from %s into %s\n", o.Suite, o.Mirror, rootfs)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(pkgs, ","), o.Suite, rootfs, o.Mirror)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if log, rerr := os.ReadFile(filepath.Join(rootfs, "debootstrap", "debootstrap.log")); rerr == nil {
			return fmt.Errorf("build image: debootstrap: %w; its log ends:\n%s", err, tail(string(log), 2000))
		}
		return fmt.Errorf("build image: debootstrap: %w", err)
	}
	if err := configureRootfs(rootfs); err != nil {
		return fmt.Errorf("build image: configure rootfs: %w", err)
	}

	fmt.Fprintf(o.Log, "importing %s\n", o.Tag)
	pr, pw := io.Pipe()
	tarDone := make(chan struct{})
	go func() {
		defer close(tarDone)
		pw.CloseWithError(writeRootfsTar(ctx, pw, rootfs))
	}()
	defer func() { pr.Close(); <-tarDone }() // the writer never outlives the build
	rc, err := c.api.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, o.Tag, image.ImportOptions{
		Changes: []string{
			`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
			`CMD ["/usr/sbin/sn27-entrypoint"]`,
			`EXPOSE 22`,
		},
		Message: "sn27 allocation image: debootstrap " + o.Suite,
	})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build image: import: %w", err)
	}
	defer rc.Close()
	if err := importResult(rc); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build image: import: %w", err)
	}
	in, err := c.api.ImageInspect(ctx, o.Tag)
	if err != nil {
		return fmt.Errorf("build image: inspect %s: %w", o.Tag, err)
	}
	fmt.Fprintf(o.Log, "built %s (%s, %.0f MB) in %s\n", o.Tag, in.ID, float64(in.Size)/1e6, time.Since(start).Round(time.Second))
	return nil
}

// importResult reads the daemon's progress stream for an import to its end
// and returns the error it reports, if any.
func importResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// ensureDebootstrap installs Debian's debootstrap package when the command
// is missing.
func ensureDebootstrap(ctx context.Context, log io.Writer) error {
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("debootstrap is not installed and installing it needs root (apt-get install debootstrap)")
	}
	fmt.Fprintln(log, "installing debootstrap with apt-get")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, argv := range [][]string{
		{"apt-get", "update", "-qq"},
		{"apt-get", "install", "-y", "-qq", "--no-install-recommends", "debootstrap"},
	} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, tail(string(out), 2000))
		}
	}
	return nil
}

// configureRootfs writes the sshd policy and the entrypoint, and removes
// what must not ship in the image: host keys made by openssh-server's
// postinst, apt caches, the machine id.
func configureRootfs(root string) error {
	keys, err := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/ssh/sshd_config.d"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config.d/50-sn27.conf"), []byte(sshdConfig), 0o644); err != nil {
		return err
	}
	main, err := os.ReadFile(filepath.Join(root, "etc/ssh/sshd_config"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(main), "Include /etc/ssh/sshd_config.d/*.conf") {
		// Older suites have no drop-in directory: put the policy first.
		main = append([]byte(sshdConfig), main...)
		if err := os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), main, 0o644); err != nil {
			return err
		}
	}
	// pam_loginuid cannot write /proc/self/loginuid without
	// CAP_AUDIT_CONTROL; as "required" it would refuse every login.
	pamSSHD := filepath.Join(root, "etc/pam.d/sshd")
	if b, err := os.ReadFile(pamSSHD); err == nil {
		re := regexp.MustCompile(`(?m)^(session\s+)required(\s+pam_loginuid\.so)`)
		if err := os.WriteFile(pamSSHD, re.ReplaceAll(b, []byte("${1}optional${2}")), 0o644); err != nil {
			return err
		}
	}
	// The ICD file the NVIDIA container runtime does not write: the loader
	// skips it where the library is absent (CPU hosts).
	if err := os.MkdirAll(filepath.Join(root, "etc/OpenCL/vendors"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/OpenCL/vendors/nvidia.icd"), []byte("libnvidia-opencl.so.1\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "usr/sbin/sn27-entrypoint"), []byte(entrypointScript), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(root, "usr/sbin/sn27-entrypoint"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444); err != nil {
		return err
	}
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*", "var/log/*.log", "var/log/apt/*"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			return err
		}
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return os.RemoveAll(filepath.Join(root, "debootstrap"))
}

// writeRootfsTar writes the tree at root as a tar stream: modes,
// ownership, symlinks, hard links, device nodes and security.capability
// xattrs kept. The contents of /dev, /proc and /sys are left out; the
// container runtime provides them.
func writeRootfsTar(ctx context.Context, w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if parent, _, _ := strings.Cut(rel, "/"); rel != parent && (parent == "dev" || parent == "proc" || parent == "sys") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", "" // names of the host, not of the rootfs
		h.Format = tar.FormatPAX
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
			if fi.Mode().IsRegular() && st.Nlink > 1 {
				id := inode{uint64(st.Dev), st.Ino}
				if first, seen := links[id]; seen {
					h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
				} else {
					links[id] = rel
				}
			}
		}
		if !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
			buf := make([]byte, 256)
			if n, err := unix.Lgetxattr(path, "security.capability", buf); err == nil && n > 0 {
				h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(buf[:n])}
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
