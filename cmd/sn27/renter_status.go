package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/renter"
)

// newRenterStatusCmd asks a miner how this renter's rental is doing.
func newRenterStatusCmd() *cobra.Command {
	var (
		f      renterFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status HOTKEY",
		Short: "Ask the miner of HOTKEY how the rental is: its state, deadline and root filesystem use",
		Long: `Ask the miner of HOTKEY (SN27's checking request) whether it still holds this renter's rental,
the container's state, the deadline, and how full the rental's root filesystem is against its limit.
A miner that stopped the rental because its root filesystem reached the limit says so (reason
disk_quota): the rental, its files and /data are kept; sn27 renter restart HOTKEY starts it again and
gives a short window to free space (rm what is not needed, or move it to /data) before the miner
stops it again. Exit status 0 while the miner holds the rental, 1 when it does not.`,
		Example: `  sn27 renter status 5F...
  sn27 renter status 5F... --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				st, err := svc.Check(cmd.Context(), args[0])
				if err != nil {
					return renterError(err)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					type status struct {
						Hotkey    string    `json:"hotkey"`
						Held      bool      `json:"held"`
						State     string    `json:"state,omitempty"`
						Reason    string    `json:"reason,omitempty"`
						Deadline  time.Time `json:"deadline,omitzero"`
						DiskUsed  int64     `json:"disk_used_bytes,omitempty"`
						DiskLimit int64     `json:"disk_limit_bytes,omitempty"`
					}
					if err := printJSON(out, status{args[0], st.Held, st.State, st.Reason, st.Deadline, st.DiskUsed, st.DiskLimit}); err != nil {
						return err
					}
				} else {
					state := st.State
					if state == "" {
						state = "not said (not an sn27 miner)"
					}
					fmt.Fprintf(out, "miner %s holds the rental: %v\nstate:    %s\n", args[0], st.Held, state)
					if !st.Deadline.IsZero() {
						fmt.Fprintf(out, "deadline: %s\n", fmtTime(st.Deadline))
					}
					if st.DiskLimit > 0 {
						pct := 100 * float64(st.DiskUsed) / float64(st.DiskLimit)
						fmt.Fprintf(out, "root filesystem: %.1f of %.1f GiB used (%.0f%%)\n", float64(st.DiskUsed)/(1<<30), float64(st.DiskLimit)/(1<<30), pct)
						if float64(st.DiskUsed) >= allocation.DiskWarnShare*float64(st.DiskLimit) && st.Reason == "" {
							fmt.Fprintln(out, "warning: the miner stops the rental when its root filesystem reaches the limit; free space or use /data")
						}
					}
					if st.Reason == allocation.StopDiskQuota {
						fmt.Fprintf(out, "stopped by the miner: the root filesystem reached its limit (disk_quota); files and /data are kept.\n"+
							"Start it again with: sn27 renter restart %s  (then free space within the miner's grace period)\n", args[0])
					} else if st.Reason != "" {
						fmt.Fprintf(out, "stopped by the miner: %s\n", st.Reason)
					}
				}
				if !st.Held {
					return withCode(1, fmt.Errorf("the miner does not hold this rental"))
				}
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
