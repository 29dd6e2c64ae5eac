package devchain

import (
	"errors"
	"fmt"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// TxError is a transaction the pool refuses, answered as substrate does:
// JSON-RPC code 1010 "Invalid Transaction" (Data: "BadProof", "Stale",
// "Future", "Payment", "Call", ...), or 1002 "Verification Error" for
// bytes that do not decode.
type TxError struct {
	Code    int
	Message string
	Data    string
}

func (e *TxError) Error() string { return fmt.Sprintf("%s: %s", e.Message, e.Data) }

func invalid(data string) *TxError {
	return &TxError{Code: 1010, Message: "Invalid Transaction", Data: data}
}

func undecodable(format string, args ...any) *TxError {
	return &TxError{Code: 1002, Message: "Verification Error", Data: "Could not decode extrinsic: " + fmt.Sprintf(format, args...)}
}

// maxExtrinsic bounds one extrinsic's encoded size.
const maxExtrinsic = 1 << 20

// Extrinsic is a decoded signed v4 extrinsic.
type Extrinsic struct {
	Signer    [32]byte
	Signature [64]byte
	Era       []byte // 1 byte (immortal) or 2 bytes (mortal)
	Nonce     uint32
	Tip       uint64
	Extra     []byte // the signed extensions' data as encoded
	Call      []byte // the encoded call
	// CallValue is the call decoded with the runtime's RuntimeCall type:
	// Variant{Name: pallet, Fields: Variant{Name: call, Fields: args}}.
	CallValue metadata.Variant
}

// DecodeExtrinsic parses a length-prefixed signed v4 extrinsic (0x84,
// MultiAddress::Id, MultiSignature::Sr25519, the extra of the metadata's
// signed extensions, the call). It never panics on bad input.
func (c *Chain) DecodeExtrinsic(xt []byte) (*Extrinsic, error) {
	if len(xt) > maxExtrinsic {
		return nil, undecodable("%d bytes is too large", len(xt))
	}
	d := scale.NewDecoder(xt)
	body := d.Bytes()
	if err := d.Done(); err != nil {
		return nil, undecodable("length prefix: %v", err)
	}
	d = scale.NewDecoder(body)
	switch v := d.U8(); {
	case d.Err() != nil:
		return nil, undecodable("empty extrinsic")
	case v == 0x04:
		return nil, invalid("NoUnsignedValidator: the dev chain accepts signed extrinsics only")
	case v != 0x84:
		return nil, undecodable("version byte %#x (want 0x84, signed v4)", v)
	}
	x := &Extrinsic{}
	if t := d.U8(); t != 0 {
		return nil, undecodable("address kind %d (want 0, MultiAddress::Id)", t)
	}
	copy(x.Signer[:], d.Fixed(32))
	switch t := d.U8(); {
	case d.Err() != nil:
	case t == 0 || t == 2:
		return nil, invalid("BadProof: only sr25519 signatures are supported")
	case t != 1:
		return nil, undecodable("signature kind %d", t)
	}
	copy(x.Signature[:], d.Fixed(64))
	start := d.Offset()
	for _, se := range c.meta.SignedExtensions() {
		switch se.Identifier {
		case "CheckMortality", "CheckEra":
			if b := d.U8(); b == 0 {
				x.Era = []byte{0}
			} else {
				x.Era = []byte{b, d.U8()}
			}
		case "CheckNonce":
			n := d.Compact()
			if n > 0xffffffff {
				return nil, undecodable("nonce %d exceeds u32", n)
			}
			x.Nonce = uint32(n)
		case "ChargeTransactionPayment":
			x.Tip = d.Compact()
		case "CheckMetadataHash":
			if mode := d.U8(); mode != 0 && d.Err() == nil {
				return nil, invalid("BadProof: CheckMetadataHash mode must be 0 (disabled)")
			}
		default:
			if !c.meta.IsEmpty(se.Type) {
				return nil, undecodable("signed extension %s carries data the dev chain does not know", se.Identifier)
			}
		}
	}
	if err := d.Err(); err != nil {
		return nil, undecodable("%v", err)
	}
	x.Extra = body[start:d.Offset()]
	x.Call = body[d.Offset():]
	cv, err := c.meta.DecodeValue(c.callType, d)
	if err != nil {
		return nil, undecodable("call: %v", err)
	}
	if err := d.Done(); err != nil {
		return nil, undecodable("call: %v", err)
	}
	v, ok := cv.(metadata.Variant)
	if !ok {
		return nil, undecodable("call is not an enum")
	}
	x.CallValue = v
	return x, nil
}

// eraBirth returns the block an era was born at, seen from block current.
func eraBirth(era []byte, current uint64) (uint64, error) {
	if len(era) == 1 {
		return 0, nil
	}
	enc := uint64(era[0]) | uint64(era[1])<<8
	period := uint64(2) << (enc % 16)
	quantize := max(period>>12, 1)
	phase := (enc >> 4) * quantize
	if period < 4 || phase >= period {
		return 0, errors.New("invalid era")
	}
	return (max(current, phase)-phase)/period*period + phase, nil
}

// validateLocked checks what the transaction pool checks: a supported call,
// the signature over the payload chain.BuildExtrinsic signs (with the era's
// birth block hash), the nonce and the fee.
func (c *Chain) validateLocked(x *Extrinsic) error {
	if err := c.supported(x.CallValue, 0); err != nil {
		return invalid("Call: " + err.Error())
	}
	current := c.st.Number + 1 // validation runs on top of the best block
	birthHash := c.genesis
	if len(x.Era) == 2 {
		n, err := eraBirth(x.Era, current)
		if err != nil {
			return invalid("BadProof: " + err.Error())
		}
		b := c.blockByNumberLocked(n)
		if b == nil {
			if n < c.st.Blocks[0].Number {
				return invalid("AncientBirthBlock")
			}
			return invalid("BadProof")
		}
		birthHash = b.Hash
	}
	add := scale.NewEncoder(nil)
	for _, se := range c.meta.SignedExtensions() {
		switch se.Identifier {
		case "CheckSpecVersion":
			add.U32(c.spec)
		case "CheckTxVersion":
			add.U32(TransactionVersion)
		case "CheckGenesis":
			add.Raw(c.genesis[:])
		case "CheckMortality", "CheckEra":
			add.Raw(birthHash[:])
		case "CheckMetadataHash":
			add.U8(0)
		}
	}
	payload := append(append(append([]byte{}, x.Call...), x.Extra...), add.Data()...)
	if len(payload) > 256 {
		payload = scale.Blake2_256(payload)
	}
	if !keys.Verify(keys.PublicKey(x.Signer), payload, x.Signature) {
		return invalid("BadProof")
	}
	signer := account32(x.Signer)
	have := uint32(0)
	if a := c.st.Accounts[signer]; a != nil {
		have = a.Nonce
	}
	next := have
	for _, p := range c.pool {
		if p.signer == signer {
			next++
		}
	}
	switch {
	case x.Nonce < have:
		return invalid("Stale")
	case x.Nonce < next:
		return invalid("Priority: a transaction with this nonce is already pending")
	case x.Nonce > next:
		return invalid("Future")
	}
	if fee := c.fee(x.CallValue); fee > 0 && c.st.free(signer) < fee {
		return invalid("Payment")
	}
	return nil
}

// fee is what a call costs its signer before dispatch.
func (c *Chain) fee(call metadata.Variant) uint64 {
	switch call.Name {
	case "Balances", "Utility", "System":
		return c.cfg.Fee
	}
	return 0
}

// Submit validates an encoded extrinsic and queues it for the next block;
// watch, if not nil, receives the substrate status updates ("ready", then
// {"inBlock": hash} and {"finalized": hash}) under the chain's lock, so it
// must not block. It returns the extrinsic hash.
func (c *Chain) Submit(xt []byte, watch func(status any)) ([32]byte, error) {
	x, err := c.DecodeExtrinsic(xt)
	if err != nil {
		return [32]byte{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.validateLocked(x); err != nil {
		return [32]byte{}, err
	}
	if len(c.pool) >= maxPool {
		return [32]byte{}, &TxError{Code: 1014, Message: "Priority is too low", Data: "the transaction pool is full"}
	}
	if watch != nil {
		watch("ready")
	}
	c.pool = append(c.pool, &pending{xt: append([]byte(nil), xt...), signer: account32(x.Signer), nonce: x.Nonce, call: x.CallValue, watch: watch})
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return [32]byte(scale.Blake2_256(xt)), nil
}

const maxPool = 4096

// nextIndex is system_accountNextIndex: the account nonce plus its pending
// extrinsics.
func (c *Chain) nextIndex(pub account32) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint32(0)
	if a := c.st.Accounts[pub]; a != nil {
		n = a.Nonce
	}
	for _, p := range c.pool {
		if p.signer == pub {
			n++
		}
	}
	return n
}
