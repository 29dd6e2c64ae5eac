// Package polkadotjs runs polkadot.js (the pinned packages of
// ../shared/localchain, with Node) as an independent sr25519/SS58
// implementation, extrinsic decoder and chain client for interoperability
// tests.
package polkadotjs

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

//go:embed sr25519.cjs
var script []byte

//go:embed neurons.cjs
var neuronsScript []byte

//go:embed transfer.cjs
var transferScript []byte

//go:embed extrinsic.cjs
var extrinsicScript []byte

//go:embed metadata.cjs
var metadataScript []byte

var (
	depsOnce sync.Once
	deps     string
	depsErr  error
)

// nodeModules returns the pinned node_modules folder, installing it once.
func nodeModules(ctx context.Context) (string, error) {
	depsOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "node-deps.sh"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			depsErr = fmt.Errorf("install polkadot.js deps: %v: %s", err, stderr.String())
			return
		}
		deps = strings.TrimSpace(string(out))
	})
	return deps, depsErr
}

func call(ctx context.Context, req, resp any) error { return run(ctx, script, req, resp) }

func run(ctx context.Context, script []byte, req, resp any) error {
	mods, err := nodeModules(ctx)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "sr25519-*.cjs")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(script); err != nil {
		f.Close()
		return err
	}
	f.Close()
	in, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, "node", f.Name())
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("node %s: %v: %s", filepath.Base(f.Name()), err, stderr.String())
	}
	return json.Unmarshal(out, resp)
}

// Sign signs message (UTF-8) with the key of a secret URI such as "//Alice"
// and returns its SS58 address and the "0x" signature.
func Sign(ctx context.Context, uri, message string) (address, signature string, err error) {
	var r struct{ Address, Signature string }
	err = call(ctx, map[string]string{"op": "sign", "uri": uri, "message": message}, &r)
	return r.Address, r.Signature, err
}

// Verify checks a "0x" signature of message by address.
func Verify(ctx context.Context, address, message, signature string) (bool, error) {
	var r struct{ Valid bool }
	err := call(ctx, map[string]string{"op": "verify", "address": address, "message": message, "signature": signature}, &r)
	return r.Valid, err
}

// MortalEra returns polkadot.js's encoding of a mortal era ("0x...").
func MortalEra(ctx context.Context, current, period uint64) (string, error) {
	var r struct{ Era string }
	err := call(ctx, map[string]any{"op": "era", "current": current, "period": period}, &r)
	return r.Era, err
}

// Address returns the SS58 address of a secret URI.
func Address(ctx context.Context, uri string) (string, error) {
	var r struct{ Address string }
	err := call(ctx, map[string]string{"op": "address", "uri": uri}, &r)
	return r.Address, err
}

// Neuron is a NeuronInfoLite as polkadot.js decodes it (u16 fields raw).
type Neuron struct {
	UID             int    `json:"uid"`
	NetUID          int    `json:"netuid"`
	Hotkey          string `json:"hotkey"`
	Coldkey         string `json:"coldkey"`
	Active          bool   `json:"active"`
	AxonVersion     uint32 `json:"axon_version"`
	AxonIP          string `json:"axon_ip"` // u128 in decimal
	AxonPort        uint16 `json:"axon_port"`
	Stake           string `json:"stake"`
	Rank            uint16 `json:"rank"`
	Emission        string `json:"emission"`
	Incentive       uint16 `json:"incentive"`
	Consensus       uint16 `json:"consensus"`
	Trust           uint16 `json:"trust"`
	ValidatorTrust  uint16 `json:"validator_trust"`
	Dividends       uint16 `json:"dividends"`
	LastUpdate      string `json:"last_update"`
	ValidatorPermit bool   `json:"validator_permit"`
	PruningScore    uint16 `json:"pruning_score"`
}

// NeuronsLite reads a subnet's neurons through @polkadot/api from the chain
// at ws.
func NeuronsLite(ctx context.Context, ws string, netuid int) ([]Neuron, error) {
	var out []Neuron
	err := run(ctx, neuronsScript, map[string]any{"ws": ws, "netuid": netuid}, &out)
	return out, err
}

// TransferResult is what transfer.cjs saw: the chain as ApiPromise set it up
// (name, spec, SS58 prefix, token), the sender's balance before and after,
// and the block the transfer landed in with its events.
type TransferResult struct {
	Chain       string   `json:"chain"`
	SpecVersion uint32   `json:"spec_version"`
	SS58        int      `json:"ss58"`
	Decimals    int      `json:"decimals"`
	Symbol      string   `json:"symbol"`
	Genesis     string   `json:"genesis"`
	From        string   `json:"from"`
	FreeBefore  string   `json:"free_before"`
	NonceBefore uint32   `json:"nonce_before"`
	BlockHash   string   `json:"block_hash"`
	Events      []string `json:"events"`
	FreeAfter   string   `json:"free_after"`
}

// Transfer connects to the node at ws with ApiPromise, reads System.Account
// of the secret URI from, and sends Balances.transfer_keep_alive of amount
// rao to the address to, signed by polkadot.js, waiting for its block.
func Transfer(ctx context.Context, ws, from, to string, amount uint64) (TransferResult, error) {
	var out TransferResult
	err := run(ctx, transferScript, map[string]any{"ws": ws, "from": from, "to": to, "amount": fmt.Sprint(amount)}, &out)
	return out, err
}

// ExtrinsicCase is runtime metadata and extrinsics built for it, with what
// their signatures cover beyond the extrinsic itself.
type ExtrinsicCase struct {
	Metadata    []byte // "meta" + version + RuntimeMetadataV14/15/16
	Extrinsics  [][]byte
	SpecVersion uint32
	TxVersion   uint32
	Genesis     [32]byte
	BlockHash   [32]byte // the block the mortal era starts at
}

// DecodedArg is one call argument: its name, polkadot.js type and value as
// its toString() writes it (decimal integers, SS58 accounts, "[1,2]" for
// vectors of numbers, "0x..." for bytes).
type DecodedArg struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// DecodedExtrinsic is an extrinsic as polkadot.js decodes it. Payload is the
// v4 signing payload polkadot.js builds from the decoded fields and the
// case's versions and hashes, and Valid says whether the signature verifies
// over it (over its blake2-256 hash when it is longer than 256 bytes).
type DecodedExtrinsic struct {
	Error        string       `json:"error"` // set when polkadot.js could not decode it
	Hex          string       `json:"hex"`   // toHex() of what it decoded
	Version      int          `json:"version"`
	Signed       bool         `json:"signed"`
	Section      string       `json:"section"`
	Method       string       `json:"method"`
	CallIndex    string       `json:"call_index"`
	Args         []DecodedArg `json:"args"`
	Signer       string       `json:"signer"`
	Era          string       `json:"era"`
	Nonce        uint64       `json:"nonce"`
	Tip          string       `json:"tip"`
	Mode         int          `json:"mode"` // CheckMetadataHash mode; -1 without that extension
	MetadataHash *string      `json:"metadata_hash"`
	Signature    string       `json:"signature"`
	Payload      string       `json:"payload"`
	Valid        bool         `json:"valid"`
}

// ExtrinsicDecoding is what polkadot.js made of one ExtrinsicCase: the
// metadata version it read, the chain's SS58 prefix from the metadata, the
// signed extensions it applies (unknown ones it treats as carrying no data)
// and the extrinsics.
type ExtrinsicDecoding struct {
	MetadataVersion  int                `json:"metadata_version"`
	SS58             int                `json:"ss58"`
	SignedExtensions []string           `json:"signed_extensions"`
	Extrinsics       []DecodedExtrinsic `json:"extrinsics"`
}

// DecodeExtrinsics decodes each case's extrinsics with @polkadot/types
// given the case's metadata (TypeRegistry.setMetadata, no chain).
func DecodeExtrinsics(ctx context.Context, cases []ExtrinsicCase) ([]ExtrinsicDecoding, error) {
	type wireCase struct {
		Metadata    string   `json:"metadata"`
		Extrinsics  []string `json:"extrinsics"`
		SpecVersion uint32   `json:"spec_version"`
		TxVersion   uint32   `json:"tx_version"`
		Genesis     string   `json:"genesis"`
		BlockHash   string   `json:"block_hash"`
	}
	req := struct {
		Cases []wireCase `json:"cases"`
	}{}
	for _, c := range cases {
		w := wireCase{
			Metadata: hexOf(c.Metadata), SpecVersion: c.SpecVersion, TxVersion: c.TxVersion,
			Genesis: hexOf(c.Genesis[:]), BlockHash: hexOf(c.BlockHash[:]),
		}
		for _, x := range c.Extrinsics {
			w.Extrinsics = append(w.Extrinsics, hexOf(x))
		}
		req.Cases = append(req.Cases, w)
	}
	var out []ExtrinsicDecoding
	if err := run(ctx, extrinsicScript, req, &out); err != nil {
		return nil, err
	}
	if len(out) != len(cases) {
		return nil, fmt.Errorf("extrinsic.cjs: %d results for %d cases", len(out), len(cases))
	}
	return out, nil
}

// MetadataSummary is what @polkadot/types read from metadata bytes: the
// version, whether re-encoding it gives back the same bytes, and one line per
// pallet item, extension and runtime API method (format: metadata.cjs).
type MetadataSummary struct {
	Version   int      `json:"version"`
	RoundTrip bool     `json:"roundtrip"`
	Lines     []string `json:"lines"`
}

// SummarizeMetadata decodes each of metas (state_getMetadata bytes) with
// @polkadot/types.
func SummarizeMetadata(ctx context.Context, metas ...[]byte) ([]MetadataSummary, error) {
	req := struct {
		Metadata []string `json:"metadata"`
	}{}
	for _, m := range metas {
		req.Metadata = append(req.Metadata, hexOf(m))
	}
	var out []MetadataSummary
	if err := run(ctx, metadataScript, req, &out); err != nil {
		return nil, err
	}
	if len(out) != len(metas) {
		return nil, fmt.Errorf("metadata.cjs: %d results for %d inputs", len(out), len(metas))
	}
	return out, nil
}

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }
