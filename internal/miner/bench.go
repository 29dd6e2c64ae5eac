package miner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/sn27/sn27/internal/axon"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
)

// Latency summarises request-to-verified-answer times.
type Latency struct {
	Solver string        `json:"solver"`
	Count  int           `json:"count"`
	Min    time.Duration `json:"min_ns"`
	Median time.Duration `json:"median_ns"`
	Mean   time.Duration `json:"mean_ns"`
	Max    time.Duration `json:"max_ns"`
}

// BenchChallenge measures what a validator sees: a signed Challenge at the
// given difficulty sent over loopback to an axon backed by solver, until the
// answer verifies. It runs count rounds and fails on a wrong answer.
func BenchChallenge(ctx context.Context, solver Solver, difficulty, count int, timeout time.Duration) (Latency, error) {
	server, err := keys.Generate()
	if err != nil {
		return Latency{}, err
	}
	client, err := keys.Generate()
	if err != nil {
		return Latency{}, err
	}
	ax := axon.New(axon.Config{}, server, nil)
	axon.Handle(ax, func(ctx context.Context, req *protocol.Challenge) error {
		start := time.Now()
		ans, err := solver.Solve(ctx, pow.Challenge{Hash: req.ChallengeHash, Salt: req.ChallengeSalt, Mode: req.ChallengeMode,
			Chars: req.ChallengeChars, Mask: req.ChallengeMask, Difficulty: int(req.ChallengeDifficulty)})
		secs := time.Since(start).Seconds()
		if err != nil {
			req.SetAnswer(protocol.ChallengeOutput{Error: protocol.Str(err.Error())})
			return nil
		}
		req.SetAnswer(protocol.ChallengeOutput{Password: protocol.Str(ans.Password), LocalExecutionTime: &secs})
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Latency{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = ax.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()
	d, err := dendrite.New(client, dendrite.Config{})
	if err != nil {
		return Latency{}, err
	}
	defer d.Close()
	target := dendrite.Target{IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Hotkey: server.Hotkey()}
	var times []time.Duration
	for i := 0; i < count; i++ {
		c, _, err := pow.New(nil, pow.Params{Difficulty: difficulty})
		if err != nil {
			return Latency{}, err
		}
		req := protocol.NewChallenge()
		req.ChallengeHash, req.ChallengeSalt, req.ChallengeMode = c.Hash, c.Salt, c.Mode
		req.ChallengeChars, req.ChallengeMask, req.ChallengeDifficulty = c.Chars, c.Mask, int64(c.Difficulty)
		start := time.Now()
		if err := d.Call(ctx, target, req, timeout); err != nil {
			return Latency{}, fmt.Errorf("round %d: %w", i, err)
		}
		out, err := req.Answer()
		if err != nil || out.Password == nil {
			return Latency{}, fmt.Errorf("round %d: no password (%v, %s)", i, err, protocol.Deref(out.Error))
		}
		if ok, _ := pow.Verify(c.Hash, c.Salt, *out.Password); !ok {
			return Latency{}, errors.New("wrong password")
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	return Latency{Solver: solver.Name(), Count: count, Min: times[0], Median: times[len(times)/2], Mean: sum / time.Duration(count), Max: times[len(times)-1]}, nil
}
