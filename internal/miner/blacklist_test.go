package miner

import (
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
)

func TestBlacklistReason(t *testing.T) {
	const (
		rich  = keys.Hotkey("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
		poor  = keys.Hotkey("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty")
		ghost = keys.Hotkey("5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy")
		cold  = keys.Coldkey("5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw")
	)
	exploiter := keys.Hotkey(Exploiters[0])
	m := NewMetagraph([]chain.Neuron{
		{Hotkey: rich, Coldkey: cold, AlphaStake: 2000e9},
		{Hotkey: poor, Coldkey: cold, AlphaStake: 5e9},
		{Hotkey: exploiter, AlphaStake: 5000e9},
	})
	base := DefaultConfig().Blacklist
	for _, tt := range []struct {
		name   string
		edit   func(*BlacklistConfig)
		hotkey keys.Hotkey
		want   string
	}{
		{"staked validator", nil, rich, ""},
		{"unknown", nil, ghost, "Unrecognized hotkey"},
		{"low stake", nil, poor, "Not enough stake!"},
		{"low stake whitelisted", func(c *BlacklistConfig) { c.WhitelistNotEnoughStake = true }, poor, ""},
		{"whitelisted hotkey wins", func(c *BlacklistConfig) { c.WhitelistHotkeys = []string{string(ghost)} }, ghost, ""},
		{"whitelisted coldkey", func(c *BlacklistConfig) { c.WhitelistColdkeys = []string{string(cold)} }, poor, ""},
		{"blacklisted hotkey", func(c *BlacklistConfig) { c.Hotkeys = []string{string(rich)} }, rich, "Blacklisted hotkey"},
		{"blacklisted coldkey", func(c *BlacklistConfig) { c.Coldkeys = []string{string(cold)} }, rich, "Blacklisted coldkey"},
		{"exploiter", nil, exploiter, "Exploiter hotkey"},
		{"exploiters allowed", func(c *BlacklistConfig) { c.Exploiters = false }, exploiter, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			if got := BlacklistReason(cfg, m, tt.hotkey); got != tt.want {
				t.Errorf("BlacklistReason = %q; want %q", got, tt.want)
			}
		})
	}
	if p := Priority(m, rich, PriorityAllocate); p != 2003 {
		t.Errorf("Priority = %v; want stake 2000 + 3", p)
	}
}
