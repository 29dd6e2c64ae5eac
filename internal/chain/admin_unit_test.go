package chain_test

import (
	"compress/gzip"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/metadata"
)

// runtimeMetadata loads a gzipped metadata fixture: state_getMetadata bytes,
// or (name ending in -option) the Metadata_metadata_at_version result.
func runtimeMetadata(t *testing.T, path string) *metadata.Metadata {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("fixture %s not present", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	var m *metadata.Metadata
	if strings.Contains(path, "-option") {
		m, err = metadata.DecodeAtVersion(b)
	} else {
		m, err = metadata.Decode(b)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestHyperparamCalls builds owner setters from the metadata of spec 218
// (our localchain) and spec 343 (a 2025 runtime with NetUid newtypes):
// indices, argument types and encodings come from the metadata.
func TestHyperparamCalls(t *testing.T) {
	for _, tt := range []struct {
		file string
		// encoded sudo_set_commit_reveal_weights_enabled(netuid 2, false)
		// and sudo_set_weights_set_rate_limit(netuid 2, 100)
		crOff, rateLimit string
		has, lacks       []string
	}{
		{"devchain/raonet-spec218-metadata.scale.gz", "1331020000", "130702006400000000000000",
			[]string{"network_max_stake", "commit_reveal_weights_interval", "max_weight_limit"}, []string{"yuma3_enabled", "bonds_penalty"}},
		{"metadata/testdata/subtensor-spec343-v15-option.scale.gz", "1331020000", "130702006400000000000000",
			[]string{"yuma3_enabled", "bonds_penalty", "commit_reveal_weights_interval"}, []string{"network_max_stake", "max_weight_limit"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			m := runtimeMetadata(t, tt.file)
			for _, c := range []struct{ name, value, want string }{
				{"commit_reveal_weights_enabled", "false", tt.crOff},
				{"commit-reveal-weights-enabled", "off", tt.crOff},
				{"weights_rate_limit", "100", tt.rateLimit}, // btcli's name
				{"sudo_set_weights_set_rate_limit", "100", tt.rateLimit},
			} {
				hc, err := chain.NewHyperparamChange(m, 2, c.name, c.value)
				if err != nil {
					t.Errorf("%s=%s: %v", c.name, c.value, err)
					continue
				}
				if got := hex.EncodeToString(hc.Bytes()); got != c.want {
					t.Errorf("%s=%s encodes %s; want %s", c.name, c.value, got, c.want)
				}
			}
			valid := chain.SettableHyperparams(m)
			for _, h := range tt.has {
				if !slices.Contains(valid, h) {
					t.Errorf("settable %v lacks %s", valid, h)
				}
			}
			for _, h := range tt.lacks {
				if slices.Contains(valid, h) {
					t.Errorf("settable lists %s, which this runtime lacks", h)
				}
			}
			for _, want := range []string{"tempo", "min_allowed_weights", "immunity_period", "serving_rate_limit", "difficulty", "min_burn", "max_burn"} {
				if !slices.Contains(valid, want) {
					t.Errorf("settable %v lacks %s", valid, want)
				}
			}
			hc, err := chain.NewHyperparamChange(m, 2, "alpha_values", "45875, 58982")
			if err != nil {
				t.Fatal(err)
			}
			if d := hc.Describe(); d != "AdminUtils.sudo_set_alpha_values(netuid 2, alpha_low 45875, alpha_high 58982)" {
				t.Errorf("Describe = %s", d)
			}
			var ue *chain.UnknownHyperparamError
			if _, err := chain.NewHyperparamChange(m, 2, "burn", "1"); !errors.As(err, &ue) || !slices.Equal(ue.Valid, valid) {
				t.Errorf("burn (stored, no setter): %v", err)
			}
		})
	}
}

// TestStakeCallsInMetadata: add_stake_limit and the swap runtime API exist
// where Pool expects them (spec 343), and not in spec 218.
func TestStakeCallsInMetadata(t *testing.T) {
	old := runtimeMetadata(t, "devchain/raonet-spec218-metadata.scale.gz")
	if _, err := old.Call("SubtensorModule", "add_stake_limit"); err == nil {
		t.Error("spec 218 has add_stake_limit")
	}
	m := runtimeMetadata(t, "metadata/testdata/subtensor-spec343-v15-option.scale.gz")
	ci, err := m.Call("SubtensorModule", "add_stake_limit")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range ci.Args {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "hotkey,netuid,amount_staked,limit_price,allow_partial" {
		t.Errorf("add_stake_limit args %s", got)
	}
	for _, method := range []string{"current_alpha_price", "sim_swap_tao_for_alpha"} {
		if _, _, err := m.RuntimeAPI("SwapRuntimeApi", method); err != nil {
			t.Errorf("spec 343: %v", err)
		}
	}
}
