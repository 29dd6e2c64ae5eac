package main

import (
	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/docker"
)

// newMinerImageCmd is `sn27 miner image`, which manages the image that
// allocation containers run.
func newMinerImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the image allocation containers run",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMinerImageBuildCmd())
	return cmd
}

func newMinerImageBuildCmd() *cobra.Command {
	o := docker.BuildOptions{Tag: docker.DefaultImage, Suite: "bookworm", Mirror: "http://deb.debian.org/debian"}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the allocation image (Debian with OpenSSH) from a debootstrap rootfs",
		Long: `Build the image allocation containers run: a minimal Debian rootfs made with debootstrap
(installed with apt-get when missing; needs root), with openssh-server, procps, iproute2,
ca-certificates, nano and less, imported into the local Docker daemon under --tag.
sshd allows root logins by key only, unless the allocation was made with a password; host keys
are generated when a container first starts, never stored in the image.
Nothing is done when the tag already exists, unless --force. Takes a few minutes.`,
		Example: `  sn27 miner image build
  sn27 miner image build --force
  sn27 miner image build --tag sn27/allocation:trixie --suite trixie --mirror http://ftp.de.debian.org/debian
  sn27 miner image build --package htop,git`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := docker.New(ctx)
			if err != nil {
				return withCode(exitFailed, err)
			}
			defer c.Close()
			o.Log = cmd.ErrOrStderr()
			if err := c.BuildImage(ctx, o); err != nil {
				return withCode(exitFailed, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tag, "tag", o.Tag, "image to build")
	f.BoolVar(&o.Force, "force", false, "rebuild even when the tag exists")
	f.StringVar(&o.Suite, "suite", o.Suite, "Debian suite")
	f.StringVar(&o.Mirror, "mirror", o.Mirror, "Debian mirror URL")
	f.StringSliceVar(&o.Packages, "package", nil, "extra Debian packages (comma-separated)")
	return cmd
}
