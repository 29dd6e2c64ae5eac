package chain

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// Client is a subtensor client. It is safe for concurrent use.
type Client struct {
	rpc *RPC
	log *slog.Logger

	mu      sync.Mutex
	meta    *metadata.Metadata
	spec    uint32
	txv     uint32
	genesis [32]byte
	signMu  sync.Mutex // one extrinsic at a time per client keeps nonces simple
}

// Dial connects to endpoint and reads the genesis hash, runtime version and
// metadata.
func Dial(ctx context.Context, endpoint string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rpc, err := DialRPC(ctx, endpoint, log)
	if err != nil {
		return nil, err
	}
	c := &Client{rpc: rpc, log: log.With("component", "chain")}
	var gh string
	if err := rpc.Call(ctx, &gh, "chain_getBlockHash", 0); err != nil {
		rpc.Close()
		return nil, fmt.Errorf("read genesis hash: %w", err)
	}
	g, err := decodeHex(gh)
	if err != nil || len(g) != 32 {
		rpc.Close()
		return nil, fmt.Errorf("genesis hash %q: malformed", gh)
	}
	copy(c.genesis[:], g)
	if err := c.refresh(ctx); err != nil {
		rpc.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.rpc.Close() }

// RPC exposes the raw JSON-RPC client (dev helpers, tests).
func (c *Client) RPC() *RPC { return c.rpc }

// Metadata returns the runtime metadata in use.
func (c *Client) Metadata() *metadata.Metadata {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta
}

type runtimeVersion struct {
	SpecVersion        uint32 `json:"specVersion"`
	TransactionVersion uint32 `json:"transactionVersion"`
}

// refresh reloads the metadata when the runtime version changed.
func (c *Client) refresh(ctx context.Context) error {
	var rv runtimeVersion
	if err := c.rpc.Call(ctx, &rv, "state_getRuntimeVersion"); err != nil {
		return fmt.Errorf("read runtime version: %w", err)
	}
	c.mu.Lock()
	same := c.meta != nil && rv.SpecVersion == c.spec && rv.TransactionVersion == c.txv
	c.mu.Unlock()
	if same {
		return nil
	}
	meta, err := c.fetchMetadata(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.meta, c.spec, c.txv = meta, rv.SpecVersion, rv.TransactionVersion
	c.mu.Unlock()
	c.log.Debug("runtime metadata loaded", "spec_version", rv.SpecVersion, "metadata_version", meta.Version)
	return nil
}

// fetchMetadata prefers V15 (it describes runtime APIs), else V14.
func (c *Client) fetchMetadata(ctx context.Context) (*metadata.Metadata, error) {
	var res string
	if err := c.rpc.Call(ctx, &res, "state_call", "Metadata_metadata_at_version", "0x0f000000"); err == nil {
		if b, err := decodeHex(res); err == nil {
			if m, err := metadata.DecodeAtVersion(b); err == nil {
				return m, nil
			}
		}
	}
	if err := c.rpc.Call(ctx, &res, "state_getMetadata"); err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	b, err := decodeHex(res)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	m, err := metadata.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}

// BlockNumber returns the number of the best block.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	var h struct {
		Number string `json:"number"`
	}
	if err := c.rpc.Call(ctx, &h, "chain_getHeader"); err != nil {
		return 0, err
	}
	return parseHexUint(h.Number)
}

// BlockHash returns the hash of block n.
func (c *Client) BlockHash(ctx context.Context, n uint64) ([32]byte, error) {
	var s string
	var h [32]byte
	if err := c.rpc.Call(ctx, &s, "chain_getBlockHash", n); err != nil {
		return h, err
	}
	b, err := decodeHex(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("block hash %q: malformed", s)
	}
	copy(h[:], b)
	return h, nil
}

// Heads delivers new best block numbers until ctx ends.
func (c *Client) Heads(ctx context.Context) (<-chan uint64, error) {
	sub, err := c.rpc.Subscribe(ctx, "chain_subscribeNewHeads", "chain_unsubscribeNewHeads")
	if err != nil {
		return nil, err
	}
	out := make(chan uint64, 16)
	go func() {
		defer close(out)
		defer sub.Unsubscribe(context.Background())
		for {
			select {
			case <-ctx.Done():
				return
			case raw, ok := <-sub.C:
				if !ok {
					return
				}
				var h struct {
					Number string `json:"number"`
				}
				if json.Unmarshal(raw, &h) != nil {
					continue
				}
				if n, err := parseHexUint(h.Number); err == nil {
					select {
					case out <- n:
					default:
					}
				}
			}
		}
	}()
	return out, nil
}

// StorageRaw reads a storage value at the best block (or at block hash at,
// if given); ok is false when the key holds nothing.
func (c *Client) StorageRaw(ctx context.Context, key []byte, at ...[32]byte) ([]byte, bool, error) {
	params := []any{hexOf(key)}
	if len(at) > 0 {
		params = append(params, hexOf(at[0][:]))
	}
	var s *string
	if err := c.rpc.Call(ctx, &s, "state_getStorage", params...); err != nil {
		return nil, false, err
	}
	if s == nil {
		return nil, false, nil
	}
	b, err := decodeHex(*s)
	return b, err == nil, err
}

// Storage reads pallet.item at the given SCALE-encoded keys; missing values
// take the metadata default. It returns the raw SCALE bytes.
func (c *Client) Storage(ctx context.Context, pallet, item string, keys ...[]byte) ([]byte, error) {
	e, err := c.Metadata().Storage(pallet, item)
	if err != nil {
		return nil, err
	}
	k, err := e.Key(keys...)
	if err != nil {
		return nil, err
	}
	b, ok, err := c.StorageRaw(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", pallet, item, err)
	}
	if !ok {
		return e.Default, nil
	}
	return b, nil
}

// StorageValue reads and decodes pallet.item into Go values (see package
// metadata for the shapes).
func (c *Client) StorageValue(ctx context.Context, pallet, item string, keys ...[]byte) (any, error) {
	b, err := c.Storage(ctx, pallet, item, keys...)
	if err != nil {
		return nil, err
	}
	meta := c.Metadata()
	e, _ := meta.Storage(pallet, item)
	d := scale.NewDecoder(b)
	v, err := meta.DecodeValue(e.Value, d)
	if err != nil {
		return nil, fmt.Errorf("decode %s.%s: %w", pallet, item, err)
	}
	return v, nil
}

// RuntimeCall calls a runtime API (e.g. "NeuronInfoRuntimeApi_get_neurons_lite")
// with SCALE-encoded arguments and returns the SCALE result.
func (c *Client) RuntimeCall(ctx context.Context, method string, args []byte) ([]byte, error) {
	var s string
	if err := c.rpc.Call(ctx, &s, "state_call", method, hexOf(args)); err != nil {
		return nil, err
	}
	return decodeHex(s)
}

// AccountInfo is System.Account.
type AccountInfo struct {
	Nonce    uint32
	Free     uint64 // rao
	Reserved uint64
	Frozen   uint64
}

// Account reads System.Account of pub.
func (c *Client) Account(ctx context.Context, pub keys.PublicKey) (AccountInfo, error) {
	b, err := c.Storage(ctx, "System", "Account", pub[:])
	if err != nil {
		return AccountInfo{}, err
	}
	d := scale.NewDecoder(b)
	a := AccountInfo{Nonce: d.U32()}
	d.U32() // consumers
	d.U32() // providers
	d.U32() // sufficients
	a.Free, a.Reserved, a.Frozen = d.U64(), d.U64(), d.U64()
	if err := d.Err(); err != nil {
		return a, fmt.Errorf("decode System.Account: %w", err)
	}
	return a, nil
}

// NextNonce returns the account's next transaction index (pool included).
func (c *Client) NextNonce(ctx context.Context, addr string) (uint32, error) {
	var n uint64
	if err := c.rpc.Call(ctx, &n, "system_accountNextIndex", addr); err != nil {
		return 0, err
	}
	return uint32(n), nil
}

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }

func decodeHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, "0x")
	if len(s) > 2*maxMessage {
		return nil, errors.New("hex value too large")
	}
	return hex.DecodeString(s)
}

func parseHexUint(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
}
