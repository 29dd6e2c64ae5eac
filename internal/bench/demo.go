package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

// DemoOptions says what the demo does.
type DemoOptions struct {
	Difficulty   int
	AlphabetSize int
	Solver       string // "native", "hashcat", "both", or "auto" (hashcat too if installed)
	Timeout      time.Duration
	Hashcat      hashcat.Config
}

// Demo creates a challenge as a validator does, solves it as a miner does,
// verifies the answer as the validator would, and prints each step.
func Demo(ctx context.Context, w io.Writer, o DemoOptions) error {
	c, _, err := pow.New(nil, pow.Params{Difficulty: o.Difficulty, AlphabetSize: o.AlphabetSize})
	if err != nil {
		return err
	}
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return err
	}
	keyspace, _ := t.Keyspace()
	fmt.Fprintf(w, "validator: new challenge\n  hash  %s\n  salt  %s  chars %q  mask %s  (keyspace %d)\n",
		c.Hash, c.Salt, c.Chars, c.Mask, keyspace)

	native := o.Solver != "hashcat"
	useHC := o.Solver == "hashcat" || o.Solver == "both"
	if o.Solver == "auto" {
		if _, err := exec.LookPath(o.Hashcat.Path); err == nil {
			useHC = true
		} else {
			fmt.Fprintf(w, "hashcat: %q not found; native solver only\n", o.Hashcat.Path)
		}
	}
	if native {
		kern, err := pow.KernelAuto.Resolve()
		if err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		start := time.Now()
		res, err := (&pow.Solver{Kernel: kern}).Solve(sctx, t)
		el := time.Since(start)
		cancel()
		if err != nil {
			return fmt.Errorf("native solver: %w", err)
		}
		fmt.Fprintf(w, "miner (native, %s kernel): %q in %v, %d candidates, %.2f MH/s\n",
			kern, res.Password, el.Round(time.Millisecond), res.Tried, float64(res.Tried)/el.Seconds()/1e6)
		if err := verify(w, c, res.Password); err != nil {
			return err
		}
	}
	if useHC {
		r, err := hashcat.New(o.Hashcat)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "miner (hashcat): running (the first run on a machine compiles kernels: about a minute)")
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		start := time.Now()
		pw, err := r.Solve(sctx, c)
		el := time.Since(start)
		cancel()
		if err != nil {
			return fmt.Errorf("hashcat solver: %w", err)
		}
		fmt.Fprintf(w, "miner (hashcat): %q in %v including hashcat's start-up\n", pw, el.Round(time.Millisecond))
		if err := verify(w, c, pw); err != nil {
			return err
		}
	}
	return nil
}

func verify(w io.Writer, c pow.Challenge, pw string) error {
	ok, err := pow.Verify(c.Hash, c.Salt, pw)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("validator: answer does not verify")
	}
	fmt.Fprintf(w, "validator: %q verifies\n", pw)
	return nil
}
