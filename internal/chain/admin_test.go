package chain_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
)

// TestHyperparametersOnLocalchain reads a new subnet's hyperparameters from
// the real runtime and sets each owner setter as the owner (//Alice, who
// owns the subnet NewSubnet creates), each root-only one through Sudo, and
// reads every value back.
func TestHyperparametersOnLocalchain(t *testing.T) {
	c := dial(t)
	netuid := chaintest.NewSubnet(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	alice, bob := chaintest.Dev(t, "//Alice"), chaintest.Dev(t, "//Bob")

	hs, err := c.Hyperparameters(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range hs {
		got[h.Name] = h.String()
	}
	// spec 218's defaults for a new subnet (see shared/localchain/NOTES.md).
	for name, want := range map[string]string{"tempo": "30", "commit_reveal_weights_enabled": "false", "weights_set_rate_limit": "100",
		"serving_rate_limit": "50", "min_allowed_weights": "1", "max_weight_limit": "65535", "immunity_period": "5000",
		"max_allowed_uids": "256", "target_registrations_per_interval": "10", "commit_reveal_weights_interval": "1"} {
		if got[name] != want {
			t.Errorf("%s = %q; want %s", name, got[name], want)
		}
	}
	// Items spec 218 does not store are left out, not invented.
	for _, absent := range []string{"yuma3_enabled", "subtoken_enabled", "min_allowed_uids", "bonds_penalty"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s listed; spec 218 has no such storage", absent)
		}
	}
	if _, err := c.Hyperparameters(ctx, 999); !errors.Is(err, chain.ErrNoSubnet) {
		t.Errorf("Hyperparameters(999) = %v; want ErrNoSubnet", err)
	}

	set := func(name, value string, sudo bool) (string, error) {
		t.Helper()
		hc, err := c.PrepareHyperparam(netuid, name, value)
		if err != nil {
			t.Fatalf("prepare %s=%s: %v", name, value, err)
		}
		v, _, err := c.SetHyperparam(ctx, alice, hc, sudo)
		return v.String(), err
	}
	// The owner's setters in spec 218 (ensure_subnet_owner_or_root).
	for _, tt := range []struct{ name, value string }{
		{"commit_reveal_weights_enabled", "true"},
		{"commit_reveal_weights_enabled", "false"},
		{"weights_set_rate_limit", "0"},
		{"serving_rate_limit", "7"},
		{"min_allowed_weights", "2"},
		{"max_weight_limit", "40000"},
		{"immunity_period", "1234"},
		{"weights_version_key", "183"},
		{"kappa", "30000"},
		{"rho", "12"},
		{"difficulty", "5000000"},
		{"min_burn", "2000000"},
		{"max_burn", "90000000000"},
		{"bonds_moving_average", "900000"},
		{"network_registration_allowed", "true"},
		{"commit_reveal_weights_interval", "3"},
		{"liquid_alpha_enabled", "true"},
	} {
		v, err := set(tt.name, tt.value, false)
		if err != nil {
			t.Errorf("owner sets %s=%s: %v", tt.name, tt.value, err)
			continue
		}
		if v != tt.value {
			t.Errorf("%s read back %s; want %s", tt.name, v, tt.value)
		}
	}
	// Root-only setters: the owner gets BadOrigin, explained; Sudo works.
	for _, tt := range []struct{ name, value string }{{"tempo", "100"}, {"target_registrations_per_interval", "20"}, {"max_allowed_validators", "32"}} {
		if _, err := set(tt.name, tt.value, false); !errors.Is(err, chain.ErrRootOnly) || !errors.Is(err, chain.ErrBadOrigin) {
			t.Errorf("owner sets root-only %s: %v; want ErrRootOnly and BadOrigin", tt.name, err)
		}
		if v, err := set(tt.name, tt.value, true); err != nil || v != tt.value {
			t.Errorf("sudo sets %s=%s: read back %s, %v", tt.name, tt.value, v, err)
		}
	}
	on, err := c.CommitRevealEnabled(ctx, netuid)
	if err != nil || on {
		t.Errorf("CommitRevealWeightsEnabled = %v, %v; want false after the owner switched it off", on, err)
	}

	// A non-owner: BadOrigin, naming the owner.
	hc, err := c.PrepareHyperparam(netuid, "weights_rate_limit", "5") // btcli's name
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.SetHyperparam(ctx, bob, hc, false)
	if !errors.Is(err, chain.ErrBadOrigin) || errors.Is(err, chain.ErrRootOnly) || !strings.Contains(err.Error(), "not the owner of subnet") || !strings.Contains(err.Error(), alice.SS58()) {
		t.Errorf("non-owner: %v; want BadOrigin naming the owner", err)
	}
	// Sudo by a key that is not the sudo key.
	_, _, err = c.SetHyperparam(ctx, bob, hc, true)
	var de *chain.DispatchError
	if !errors.As(err, &de) || de.Pallet != "Sudo" || !strings.Contains(err.Error(), "not the chain's sudo key ("+alice.SS58()+")") {
		t.Errorf("sudo by //Bob: %v; want a Sudo error naming the sudo key", err)
	}

	// Bad names list the valid ones; bad values name the type.
	_, err = c.PrepareHyperparam(netuid, "no_such_param", "1")
	var ue *chain.UnknownHyperparamError
	if !errors.As(err, &ue) || !slices.Contains(ue.Valid, "commit_reveal_weights_enabled") || !slices.Contains(ue.Valid, "tempo") || slices.Contains(ue.Valid, "yuma3_enabled") {
		t.Errorf("unknown param: %v", err)
	}
	for _, tt := range []struct{ name, value, want string }{
		{"commit_reveal_weights_enabled", "maybe", "not a valid bool"},
		{"tempo", "70000", "not a valid u16"},
		{"tempo", "-1", "not a valid u16"},
		{"alpha_values", "1", "takes 2 value(s)"},
	} {
		if _, err := c.PrepareHyperparam(netuid, tt.name, tt.value); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%s: %v; want %q", tt.name, tt.value, err, tt.want)
		}
	}
}
