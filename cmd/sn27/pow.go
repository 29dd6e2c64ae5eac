package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

// Exit codes of `sn27 pow solve` and `sn27 pow verify`.
const (
	exitNoAnswer = 1
	exitBadInput = 2
	exitFailed   = 3
)

func newPowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pow",
		Short: "Create, solve and verify SN27 proof-of-work challenges (hashcat mode 610)",
	}
	cmd.AddCommand(newPowNewCmd(), newPowSolveCmd(), newPowVerifyCmd())
	return cmd
}

func newPowNewCmd() *cobra.Command {
	var (
		p       pow.Params
		reveal  bool
		asJSON  bool
		maxDiff int
	)
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create a challenge as an SN27 validator does",
		Long: `Create a challenge: a random alphabet drawn from SN27's base charset, a random password of
--difficulty characters from it, a 16-hex-digit salt, and "$BLAKE2$" + BLAKE2b-512(password+salt).`,
		Example: `  sn27 pow new --difficulty 6
  sn27 pow new --difficulty 8 --alphabet-size 12 --json --reveal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.MaxDifficulty = maxDiff
			c, pw, err := pow.New(nil, p)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				v := struct {
					pow.Challenge
					Password string `json:"password,omitempty"`
				}{Challenge: c}
				if reveal {
					v.Password = pw
				}
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				return enc.Encode(v)
			}
			fmt.Fprintf(out, "challenge_hash: %s\nchallenge_salt: %s\nchallenge_mode: %s\nchallenge_chars: %s\nchallenge_mask: %s\nchallenge_difficulty: %d\n",
				c.Hash, c.Salt, c.Mode, c.Chars, c.Mask, c.Difficulty)
			if reveal {
				fmt.Fprintf(out, "password: %s\n", pw)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Difficulty, "difficulty", 6, "password length")
	f.IntVar(&p.AlphabetSize, "alphabet-size", pow.DefaultAlphabetSize, "characters in the challenge alphabet")
	f.IntVar(&maxDiff, "max-difficulty", pow.DefaultMaxDifficulty, "largest difficulty accepted")
	f.BoolVar(&reveal, "reveal", false, "also print the password")
	f.BoolVar(&asJSON, "json", false, "print JSON with the Challenge synapse's field names")
	return cmd
}

func newPowSolveCmd() *cobra.Command {
	var (
		c       pow.Challenge
		solver  string
		kernel  string
		timeout time.Duration
		maxDiff int
		hcfg    = hashcat.DefaultConfig()
	)
	cmd := &cobra.Command{
		Use:   "solve",
		Short: "Crack a challenge and print its password",
		Long: `Crack a challenge with the native solver (all cores) or with hashcat, and print only the
password on stdout. Exit codes: 0 solved, 1 the keyspace holds no answer, 2 bad input,
3 timeout or solver failure.`,
		Example: `  sn27 pow solve --hash '$BLAKE2$...' --salt 0011223344556677 --chars 'ab$(;)' --mask '?1?1?1?1'
  sn27 pow solve --solver hashcat --miner.hashcat.extended.options -O --hash ... --salt ... --chars ... --mask ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.Mode = pow.Mode
			t, err := pow.Parse(c, pow.Limits{MaxDifficulty: maxDiff})
			if err != nil {
				return withCode(exitBadInput, err)
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			var pw string
			switch solver {
			case "native":
				kern, kerr := pow.Kernel(kernel).Resolve()
				if kerr != nil {
					return withCode(exitBadInput, kerr)
				}
				var res pow.Result
				res, err = (&pow.Solver{Kernel: kern}).Solve(ctx, t)
				pw = res.Password
				if errors.Is(err, pow.ErrExhausted) {
					return withCode(exitNoAnswer, err)
				}
			case "hashcat":
				r, herr := hashcat.New(hcfg)
				if herr != nil {
					return withCode(exitBadInput, herr)
				}
				pw, err = r.Solve(ctx, c)
				if errors.Is(err, hashcat.ErrExhausted) {
					return withCode(exitNoAnswer, err)
				}
			default:
				return withCode(exitBadInput, fmt.Errorf("unknown --solver %q (want native or hashcat)", solver))
			}
			if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), pw)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Hash, "hash", "", `challenge hash: "$BLAKE2$" + 128 hex digits`)
	f.StringVar(&c.Salt, "salt", "", "challenge salt")
	f.StringVar(&c.Chars, "chars", "", "custom charset ?1 (challenge_chars)")
	f.StringVar(&c.Mask, "mask", "", "hashcat mask, e.g. ?1?1?1?1?1?1")
	f.StringVar(&solver, "solver", "native", "native or hashcat")
	f.StringVar(&kernel, "native.kernel", "", "native kernel: avx512, avx2, scalar or generic (default: fastest available)")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	f.IntVar(&maxDiff, "max-difficulty", pow.DefaultMaxDifficulty, "largest mask length accepted")
	addHashcatFlags(f, &hcfg)
	for _, name := range []string{"hash", "salt", "mask"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newPowVerifyCmd() *cobra.Command {
	var hash, salt, password string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a password against a challenge hash (exit 0 match, 1 mismatch, 2 bad input)",
		Example: `  sn27 pow verify --hash '$BLAKE2$...' --salt 0011223344556677 --password 'ab$(;)'
  echo $?`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ok, err := pow.Verify(hash, salt, password)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if !ok {
				fmt.Fprintln(cmd.OutOrStdout(), "mismatch")
				return withCode(exitNoAnswer, nil)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hash, "hash", "", `challenge hash: "$BLAKE2$" + 128 hex digits`)
	f.StringVar(&salt, "salt", "", "challenge salt")
	f.StringVar(&password, "password", "", "candidate password")
	for _, name := range []string{"hash", "salt", "password"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
