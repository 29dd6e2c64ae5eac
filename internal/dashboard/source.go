package dashboard

import (
	"context"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/store"
)

// ChainReader is what StoreSource reads from the chain.
type ChainReader interface {
	Neurons(ctx context.Context, netuid chain.NetUID) ([]chain.Neuron, error)
	BlockNumber(ctx context.Context) (uint64, error)
}

// StoreSource is the Source of a validator: the chain, its store and its
// scoring (the weights it would set now).
type StoreSource struct {
	Chain  ChainReader
	NetUID chain.NetUID
	Store  *store.Store
	Window time.Duration // stats window (the validator's, 12 h)
	Score  func(ctx context.Context, ns []chain.Neuron) ([]chain.UID, []float64, error)
}

// Neurons implements Source.
func (s StoreSource) Neurons(ctx context.Context) ([]chain.Neuron, error) {
	return s.Chain.Neurons(ctx, s.NetUID)
}

// Block implements Source.
func (s StoreSource) Block(ctx context.Context) (uint64, error) { return s.Chain.BlockNumber(ctx) }

// Stats implements Source.
func (s StoreSource) Stats(ctx context.Context) (map[string]store.Stats, error) {
	return s.Store.AllStats(ctx, s.Window, time.Now())
}

// Specs implements Source.
func (s StoreSource) Specs(ctx context.Context, hotkey string) (string, error) {
	js, _, err := s.Store.Specs(ctx, hotkey)
	if err != nil {
		return "", nil // no report yet
	}
	return js, nil
}

// Allocated implements Source.
func (s StoreSource) Allocated(ctx context.Context) (map[string]bool, error) {
	return s.Store.Allocated(ctx)
}

// Scores implements Source.
func (s StoreSource) Scores(ctx context.Context, ns []chain.Neuron) (map[chain.UID]float64, error) {
	uids, ws, err := s.Score(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := make(map[chain.UID]float64, len(uids))
	for i, u := range uids {
		out[u] = ws[i]
	}
	return out, nil
}

// LatestVerdicts implements Source.
func (s StoreSource) LatestVerdicts(ctx context.Context) (map[string]string, error) {
	return s.Store.LatestVerdicts(ctx)
}

// Verdicts implements Source.
func (s StoreSource) Verdicts(ctx context.Context, limit int) ([]string, error) {
	return s.Store.Verdicts(ctx, "", limit)
}
