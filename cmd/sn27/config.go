package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// stripComments blanks the lines of a config file whose first non-blank
// characters are "//": the files `sn27 config template` writes (and the
// package installs under /etc/sn27) explain every setting that way. Line
// numbers stay, so JSON errors still point at the right line.
func stripComments(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "//") {
			lines[i] = ""
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// applyConfig layers settings under the command line: a flag the user set
// wins; else the environment variable SN27_<FLAG> (dots and dashes as
// underscores, upper case, e.g. SN27_AXON_PORT); else the key of the same
// name in the JSON config file (lines starting with // are comments); else
// the flag's default.
func applyConfig(fs *pflag.FlagSet, file string) error {
	var values map[string]any
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if err := json.Unmarshal(stripComments(b), &values); err != nil {
			return fmt.Errorf("config %s: want a JSON object of flag names to values: %w", file, err)
		}
		for k := range values {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("config %s: unknown setting %q", file, k)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" {
			return
		}
		env := "SN27_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(f.Name))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
			return
		}
		if v, ok := values[f.Name]; ok {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []any:
				parts := make([]string, len(x))
				for i, p := range x {
					parts[i] = fmt.Sprint(p)
				}
				s = strings.Join(parts, ",")
			default:
				s = fmt.Sprint(x)
			}
			if e := fs.Set(f.Name, s); e != nil {
				err = fmt.Errorf("config %s: %w", f.Name, e)
			}
		}
	})
	return err
}

// loggingFlags are bittensor's --logging.debug and --logging.trace.
type loggingFlags struct{ debug, trace, json bool }

func (l *loggingFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&l.debug, "logging.debug", false, "debug logs")
	fs.BoolVar(&l.trace, "logging.trace", false, "trace logs (most verbose)")
	fs.BoolVar(&l.json, "logging.json", false, "logs as JSON lines")
}

func (l *loggingFlags) logger(w *os.File) *slog.Logger {
	lvl := slog.LevelInfo
	if l.debug {
		lvl = slog.LevelDebug
	}
	if l.trace {
		lvl = slog.LevelDebug - 4
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if l.json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
