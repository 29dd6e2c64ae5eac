package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/update"
)

// newUpdateCmd is `sn27 update`. Exit codes: 0 done, or nothing to do
// (--check says whether an update is available, exit 0 either way;
// "already up to date" is 0 too); 2 bad input (no or several of
// --check/--apply/--rollback, no --update.url, an unreadable key file);
// 3 refused or failed (bad signature, untrusted key, wrong channel or
// platform, downgrade, truncated or oversized download, sha256 mismatch,
// full disk, wrong binary, no previous binary, the source unreachable):
// nothing was replaced.
func newUpdateCmd() *cobra.Command {
	var (
		cfg                    = update.DefaultConfig()
		check, apply, rollback bool
		asJSON                 bool
		keyFiles               []string
		configFile             string
	)
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Check for, install or roll back a signed sn27 release (--check, --apply, --rollback)",
		Long: `Update this sn27 binary from a signed release.

--update.url names where releases are published: an https:// (or http://) base URL, a file://
URL or a directory, holding manifest.json, manifest.json.minisig (its minisign signature) and
the files the manifest lists. The signature is checked before anything in the manifest is read,
against the project's release key built into sn27 and every --update.trusted-key (minisign
public key files). minisign's format: an operator can check a release by hand too, with the
project's key (internal/update/release.pub in the source) or their own:
  minisign -Vm manifest.json -p release.pub && sha256sum sn27_1.2.4_linux_amd64
The manifest's channel must be --channel, and it must list an sn27 binary for this platform.

--check says what is available and exits 0 either way. A development build (not vX.Y.Z) is
older than any release.

--apply refuses an older release or this same one (unless --allow-downgrade), then, beside the
executable (through symlinks): checks the free space, downloads the binary with the manifest's
size and sha256 enforced, runs its "version --json" to check it is the release's version, keeps
the running binary as <exe>.previous and renames the new one over the executable (each step a
rename: the executable is always a whole binary). A refusal replaces nothing and leaves no
temporary file. Services already running keep the old binary until restarted: restart them
(systemctl restart sn27-miner, sn27-validator, sn27-api). Installed from the Debian package,
/usr/bin/sn27 belongs to root, so run it as root; apt upgrades replace it again later.

--rollback swaps the executable and <exe>.previous, so a second --rollback undoes the first.

Exit codes: 0 done or nothing to do, 2 bad input, 3 refused or failed (nothing replaced).
Settings: flags, else SN27_<FLAG> environment variables (SN27_UPDATE_URL), else --config FILE
(JSON object keyed by flag name), else defaults.`,
		Example: `  sn27 update --check --update.url https://releases.example.com/sn27/stable
  sn27 update --apply --update.url https://releases.example.com/sn27/stable && systemctl restart sn27-miner
  sn27 update --apply --update.url /srv/sn27-releases/v1.2.4 --update.trusted-key /etc/sn27/release-dev.pub
  sn27 update --check --json --channel beta --update.url https://releases.example.com/sn27/beta
  sn27 update --apply --allow-downgrade --update.url file:///srv/sn27-releases/v1.2.3
  sn27 update --rollback`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return withCode(exitBadInput, err)
			}
			if n := updateBtoi(check) + updateBtoi(apply) + updateBtoi(rollback); n != 1 {
				return withCode(exitBadInput, errors.New("give one of --check, --apply and --rollback"))
			}
			if asJSON && !check {
				return withCode(exitBadInput, errors.New("--json goes with --check"))
			}
			for _, p := range keyFiles {
				k, err := update.ReadKeyFile(p)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--update.trusted-key: %w", err))
				}
				cfg.Keys = append(cfg.Keys, k)
			}
			u, err := update.New(cfg)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			out, ctx := cmd.OutOrStdout(), cmd.Context()
			switch {
			case check:
				a, err := u.Check(ctx)
				if err != nil {
					return updateError(err)
				}
				if asJSON {
					return printJSON(out, updateCheckJSON{Current: a.Current, Dev: a.Dev, Version: a.Manifest.Version, Channel: a.Manifest.Channel,
						Commit: a.Manifest.Commit, Date: a.Manifest.Date.UTC().Format("2006-01-02T15:04:05Z"), Newer: a.Newer(), Artifact: a.Artifact.Name, Size: a.Artifact.Size, SHA256: a.Artifact.SHA256})
				}
				fmt.Fprintln(out, updateCheckLine(a, cfg.Channel))
			case apply:
				res, err := u.Apply(ctx)
				if errors.Is(err, update.ErrUpToDate) {
					fmt.Fprintf(out, "sn27 %s is already up to date (channel %s): nothing replaced\n", res.Current, cfg.Channel)
					return nil
				}
				if err != nil {
					return updateError(err)
				}
				fmt.Fprintf(out, "updated %s → %s (%s); the previous binary is kept as %s (sn27 update --rollback puts it back); restart the services that run it (e.g. systemctl restart sn27-miner): running ones keep the old binary until then\n",
					updateCurrent(res.Available), res.Manifest.Version, res.Target, res.Previous)
			case rollback:
				res, err := u.Rollback(ctx)
				if err != nil {
					return updateError(err)
				}
				fmt.Fprintf(out, "rolled back %s to %s; the binary it replaced (%s) is kept as %s (a second --rollback undoes this); restart the services that run it (e.g. systemctl restart sn27-miner)\n",
					res.Target, updateOrUnknown(res.Restored), updateOrUnknown(res.Replaced), res.Previous)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&check, "check", false, "say whether a newer release is available (exit 0 either way)")
	f.BoolVar(&apply, "apply", false, "install the release (verified, atomically; the running binary is kept as <exe>.previous)")
	f.BoolVar(&rollback, "rollback", false, "swap the executable and <exe>.previous")
	f.BoolVar(&asJSON, "json", false, "with --check: print JSON")
	f.StringVar(&configFile, "config", "", "JSON file of settings keyed by flag name")
	f.StringVar(&cfg.Source, "update.url", "", "where releases are published: https:// or http:// base URL, file:// URL or a directory (required for --check and --apply)")
	f.StringSliceVar(&keyFiles, "update.trusted-key", nil, "minisign public key file trusted to sign releases, besides the built-in release key (repeatable)")
	f.StringVar(&cfg.Channel, "channel", cfg.Channel, "release channel the manifest must be on (stable, beta)")
	f.BoolVar(&cfg.AllowDowngrade, "allow-downgrade", false, "with --apply: install an older release, or this same one again")
	// --update.target replaces this file instead of the running executable.
	// Hidden: it is for tests (and for updating a copy of sn27 that is not
	// the one running); the running executable is what operators update.
	f.StringVar(&cfg.Target, "update.target", "", "the executable to update instead of this one")
	if err := f.MarkHidden("update.target"); err != nil {
		panic(err)
	}
	return cmd
}

// updateCheckJSON is what `sn27 update --check --json` prints.
type updateCheckJSON struct {
	Current  string `json:"current"`  // the running version
	Dev      bool   `json:"dev"`      // the running version is not a release's: any release is newer
	Version  string `json:"version"`  // the release's
	Channel  string `json:"channel"`  // the release's channel
	Commit   string `json:"commit"`   // the release's commit
	Date     string `json:"date"`     // the release commit's time, RFC 3339
	Newer    bool   `json:"newer"`    // --apply would install it
	Artifact string `json:"artifact"` // the binary's file name
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// updateCheckLine is --check's one line.
func updateCheckLine(a update.Available, channel string) string {
	v := a.Manifest.Version
	switch {
	case a.Dev:
		return fmt.Sprintf("sn27 %s is available (this is %s, a development build, which any release replaces): sn27 update --apply", v, a.Current)
	case a.Order > 0:
		return fmt.Sprintf("sn27 %s is available (this is %s): sn27 update --apply", v, a.Current)
	case a.Order == 0:
		return fmt.Sprintf("sn27 %s is already up to date (channel %s)", a.Current, channel)
	}
	return fmt.Sprintf("sn27 %s is up to date: the release on channel %s is %s, older (sn27 update --apply --allow-downgrade installs it)", a.Current, channel, v)
}

// updateCurrent names the running version for the applied line.
func updateCurrent(a update.Available) string {
	if a.Dev {
		return a.Current + " (a development build)"
	}
	return a.Current
}

// updateError gives a failed update its exit code and says whether
// anything was replaced: nothing, after each refusal.
func updateError(err error) error {
	if errors.Is(err, update.ErrNoSource) {
		return withCode(exitBadInput, err)
	}
	for _, r := range []error{update.ErrBadSignature, update.ErrUntrustedKey, update.ErrTooLarge, update.ErrChannel, update.ErrPlatform,
		update.ErrDowngrade, update.ErrNoSpace, update.ErrTruncated, update.ErrChecksum, update.ErrWrongBinary, update.ErrNoPrevious} {
		if errors.Is(err, r) {
			return withCode(exitFailed, fmt.Errorf("update refused, nothing replaced: %w", err))
		}
	}
	return withCode(exitFailed, fmt.Errorf("update: %w", err))
}

func updateOrUnknown(v string) string {
	if v == "" {
		return "version unknown"
	}
	return v
}

func updateBtoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
