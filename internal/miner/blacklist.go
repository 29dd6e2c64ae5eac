package miner

import (
	"slices"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
)

// Metagraph is the miner's copy of the subnet, for blacklist and priority.
type Metagraph struct {
	byHotkey map[keys.Hotkey]chain.Neuron
}

// NewMetagraph indexes neurons by hotkey.
func NewMetagraph(ns []chain.Neuron) *Metagraph {
	m := &Metagraph{byHotkey: make(map[keys.Hotkey]chain.Neuron, len(ns))}
	for _, n := range ns {
		m.byHotkey[n.Hotkey] = n
	}
	return m
}

// Neuron returns the neuron of hotkey.
func (m *Metagraph) Neuron(h keys.Hotkey) (chain.Neuron, bool) {
	if m == nil {
		return chain.Neuron{}, false
	}
	n, ok := m.byHotkey[h]
	return n, ok
}

// BlacklistReason returns why a caller is refused ("" = allowed), in the
// Python miner's order: whitelisted → allowed; not in the metagraph →
// "Unrecognized hotkey"; stake below the validator threshold unless low
// stake is whitelisted → "Not enough stake!"; configured blacklists;
// the exploiter list.
func BlacklistReason(cfg BlacklistConfig, m *Metagraph, hotkey keys.Hotkey) string {
	n, known := m.Neuron(hotkey)
	if slices.Contains(cfg.WhitelistHotkeys, string(hotkey)) || (known && slices.Contains(cfg.WhitelistColdkeys, string(n.Coldkey))) {
		return ""
	}
	if !known {
		return "Unrecognized hotkey"
	}
	if n.TotalStake() < cfg.MinStake && !cfg.WhitelistNotEnoughStake {
		return "Not enough stake!"
	}
	if slices.Contains(cfg.Hotkeys, string(hotkey)) {
		return "Blacklisted hotkey"
	}
	if slices.Contains(cfg.Coldkeys, string(n.Coldkey)) {
		return "Blacklisted coldkey"
	}
	if cfg.Exploiters && slices.Contains(Exploiters, string(hotkey)) {
		return "Exploiter hotkey"
	}
	return ""
}

// Priority is the caller's stake in TAO plus the synapse's priority.
func Priority(m *Metagraph, hotkey keys.Hotkey, synapsePriority float64) float64 {
	n, _ := m.Neuron(hotkey)
	return float64(n.TotalStake())/1e9 + synapsePriority
}
