package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// configRoles are the commands a config file can be written for, with the
// settings the template turns on for a service (the rest stay commented
// out at their defaults).
var configRoles = map[string]struct {
	cmd func() *cobra.Command
	set map[string]any
}{
	// Wallets stay where btcli keeps them (~/.bittensor/wallets of the
	// service's user: /var/lib/sn27/.bittensor/wallets for the sn27 user).
	"miner":     {newMinerCmd, map[string]any{"netuid": 27}},
	"validator": {newValidatorCmd, map[string]any{"netuid": 27, "data.dir": "/var/lib/sn27/validator"}},
	"api":       {newRenterAPICmd, map[string]any{"data.dir": "/var/lib/sn27/validator"}},
	"devnet":    {newDevnetCmd, map[string]any{"data.dir": "/var/lib/sn27/devnet"}},
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Config files: write a commented template of every setting of a command",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "template miner|validator|api|devnet",
		Short: "Print a config file for --config: every flag of the command, explained, with its default",
		Long: `Print a JSON config file for the command's --config: one line per setting, the ones a service
needs set, every other flag present as a comment with its help and default (lines starting with //
are comments to sn27). The package installs these as /etc/sn27/<role>.json.`,
		Example: `  sn27 config template miner > /etc/sn27/miner.json
  sn27 config template validator`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"miner", "validator", "api", "devnet"},
		RunE: func(cmd *cobra.Command, args []string) error {
			role, ok := configRoles[args[0]]
			if !ok {
				return withCode(exitBadInput, fmt.Errorf("no config template for %q (want miner, validator, api or devnet)", args[0]))
			}
			return writeTemplate(cmd.OutOrStdout(), "sn27 "+args[0], role.cmd().Flags(), role.set)
		},
	})
	return cmd
}

// writeTemplate writes fs as a commented JSON config with set's values on.
func writeTemplate(w io.Writer, name string, fs *pflag.FlagSet, set map[string]any) error {
	var flags []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && f.Name != "help" && !f.Hidden {
			flags = append(flags, f)
		}
	})
	slices.SortFunc(flags, func(a, b *pflag.Flag) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	fmt.Fprintf(&b, "// Settings of `%s --config FILE`, one per flag: the command line wins, then\n", name)
	fmt.Fprintf(&b, "// SN27_<FLAG> environment variables, then this file, then the defaults.\n")
	fmt.Fprintf(&b, "// Lines starting with // are comments; remove the // of a setting to use it.\n{\n")
	var on []string
	for _, f := range flags {
		if v, ok := set[f.Name]; ok {
			js, _ := json.Marshal(v)
			on = append(on, fmt.Sprintf("  %q: %s", f.Name, js))
		}
	}
	for _, f := range flags {
		fmt.Fprintf(&b, "  // %s: %s\n", f.Name, strings.ReplaceAll(f.Usage, "\n", " "))
		if _, ok := set[f.Name]; ok {
			continue
		}
		def := f.DefValue
		var js []byte
		switch f.Value.Type() {
		case "bool", "int", "int64", "uint16", "uint64", "float64", "uint32", "int32", "uint":
			if def == "" {
				def = "0"
			}
			js = []byte(def)
		case "stringSlice", "stringArray":
			js = []byte(strings.NewReplacer("[", "[\"", "]", "\"]", ",", "\",\"").Replace(def))
			if def == "[]" {
				js = []byte("[]")
			}
		default:
			js, _ = json.Marshal(def)
		}
		fmt.Fprintf(&b, "  // %q: %s,\n", f.Name, js)
	}
	b.WriteString(strings.Join(on, ",\n"))
	b.WriteString("\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
