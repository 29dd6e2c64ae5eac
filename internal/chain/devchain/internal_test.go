package devchain

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

func newTestChain(t testing.TB) *Chain {
	t.Helper()
	c, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func devKey(t testing.TB, uri string) *keys.Pair {
	t.Helper()
	p, err := keys.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sign builds a signed immortal extrinsic as chain.BuildExtrinsic does.
func sign(t testing.TB, c *Chain, p *keys.Pair, call []byte, nonce uint32) []byte {
	t.Helper()
	extra := scale.NewEncoder(nil).U8(0).Compact(uint64(nonce)).Compact(0).U8(0).Data()
	add := scale.NewEncoder(nil).U32(SpecVersion).U32(TransactionVersion).Raw(c.genesis[:]).Raw(c.genesis[:]).U8(0).Data()
	payload := append(append(append([]byte{}, call...), extra...), add...)
	if len(payload) > 256 {
		payload = scale.Blake2_256(payload)
	}
	sig, err := p.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	pub := p.Public()
	body := scale.NewEncoder(nil).U8(0x84).U8(0).Raw(pub[:]).U8(1).Raw(sig[:]).Raw(extra).Raw(call).Data()
	return scale.NewEncoder(nil).Bytes(body).Data()
}

func transferCall(t testing.TB, c *Chain, to *keys.Pair, rao uint64) []byte {
	t.Helper()
	pub := to.Public()
	call, err := chain.EncodeCall(c.meta, "Balances", "transfer_keep_alive", append([]byte{0}, pub[:]...), scale.NewEncoder(nil).Compact(rao).Data())
	if err != nil {
		t.Fatal(err)
	}
	return call
}

// rpc sends one request through the handler, as an HTTP client would.
func rpc(t testing.TB, c *Chain, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, after := c.handleMessage(newSession(false, nil), req)
	if after != nil {
		after()
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("%s: answer %s: %v", method, resp, err)
	}
	return r.Result, r.Error
}

func TestInvalidTransactions(t *testing.T) {
	c := newTestChain(t)
	alice, bob := devKey(t, "//Alice"), devKey(t, "//Bob")
	call := transferCall(t, c, bob, TAO)
	good := sign(t, c, alice, call, 0)
	if _, err := rpc(t, c, "author_submitExtrinsic", hexOf(good)); err != nil {
		t.Fatalf("valid transfer refused: %+v", err)
	}
	c.NewBlocks(1)
	badSig := append([]byte(nil), good...)
	badSig[40] ^= 1 // inside the signature
	empty := devKey(t, "//Nobody")
	for _, tt := range []struct {
		name string
		xt   []byte
		code int
		data string
	}{
		{"bad signature", badSig, 1010, "BadProof"},
		{"stale nonce", good, 1010, "Stale"},
		{"future nonce", sign(t, c, alice, call, 5), 1010, "Future"},
		{"cannot pay the fee", sign(t, c, empty, call, 0), 1010, "Payment"},
		{"signed for another chain", sign(t, &Chain{genesis: account32{1}}, alice, call, 1), 1010, "BadProof"},
		{"truncated", good[:len(good)-3], 1002, ""},
		{"unsigned", scale.NewEncoder(nil).Bytes(append([]byte{0x04}, call...)).Data(), 1010, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rpc(t, c, "author_submitExtrinsic", hexOf(tt.xt))
			if err == nil {
				t.Fatal("accepted")
			}
			data, _ := err.Data.(string)
			if err.Code != tt.code || !strings.HasPrefix(data, tt.data) {
				t.Errorf("error = %+v; want code %d, data %q", err, tt.code, tt.data)
			}
			if tt.code == 1010 && err.Message != "Invalid Transaction" {
				t.Errorf("message %q; want Invalid Transaction", err.Message)
			}
		})
	}
}

func TestUnsupportedCallNamed(t *testing.T) {
	c := newTestChain(t)
	call, err := chain.EncodeCall(c.meta, "SubtensorModule", "remove_stake", make([]byte, 32), []byte{1, 0}, make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	_, rerr := rpc(t, c, "author_submitExtrinsic", hexOf(sign(t, c, devKey(t, "//Alice"), call, 0)))
	if rerr == nil || !strings.Contains(rerr.Data.(string), "SubtensorModule.remove_stake") {
		t.Errorf("unsupported call answer = %+v; want it named", rerr)
	}
}

func TestStorageReads(t *testing.T) {
	c := newTestChain(t)
	alice := devKey(t, "//Alice")
	acct, _ := c.meta.Storage("System", "Account")
	pub := alice.Public()
	key, _ := acct.Key(pub[:])
	res, rerr := rpc(t, c, "state_getStorage", hexOf(key))
	if rerr != nil || !strings.Contains(string(res), "0x") {
		t.Fatalf("System.Account(//Alice) = %s, %+v", res, rerr)
	}
	for _, k := range [][]byte{
		append(append([]byte{}, key...), 1),      // trailing byte
		key[:40],                                 // truncated hash
		scale.Twox128([]byte("Nothing")),         // short
		append(key[:32:32], make([]byte, 48)...), // hash does not match the key
	} {
		if res, rerr := rpc(t, c, "state_getStorage", hexOf(k)); rerr != nil || string(res) != "null" {
			t.Errorf("state_getStorage(%x) = %s, %+v; want null", k, res, rerr)
		}
	}
}

// TestErrorNamesExist checks that every module error the dev chain returns
// is in the runtime metadata.
func TestErrorNamesExist(t *testing.T) {
	c := newTestChain(t)
	c343, err := New(Config{Runtime: 343}, nil)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`stErr\("(\w+)"\)|modErr\("(\w+)", "(\w+)"\)`)
	files, _ := os.ReadDir(".")
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			name := "SubtensorModule." + m[1]
			if m[1] == "" {
				name = m[2] + "." + m[3]
			}
			if name == "SubtensorModule." || strings.Contains(name, `"`) {
				continue
			}
			n++
			idx := c.errIdx
			if strings.HasPrefix(f.Name(), "runtime343") { // spec-343 calls name spec-343 errors
				idx = c343.errIdx
			}
			if _, ok := idx[name]; !ok {
				t.Errorf("%s: error %s is not in the metadata", f.Name(), name)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d error names", n)
	}
}

func TestDispatchErrorEncoding(t *testing.T) {
	c := newTestChain(t)
	ex := &execution{c: c, number: 1, phase: "Finalization"}
	for _, err := range []error{stErr("SettingWeightsTooFast"), errBadOrigin, &dispatchError{Name: "Token.FundsUnavailable"}, errors.New("other")} {
		ex.emit("System", "ExtrinsicFailed", map[string]any{"dispatch_error": c.dispatchErrorValue(err), "dispatch_info": dispatchInfo(false)})
	}
	evs, err := chain.DecodeEvents(c.meta, ex.encodeEvents())
	if err != nil || len(evs) != 4 {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
}

// seeds returns real extrinsics and requests for the fuzzers.
func seeds(t testing.TB, c *Chain) [][]byte {
	alice, bob := devKey(t, "//Alice"), devKey(t, "//Bob")
	pub := bob.Public()
	reg, _ := chain.EncodeCall(c.meta, "SubtensorModule", "register_network", pub[:], []byte{1, 0})
	sudoCall, _ := chain.EncodeCall(c.meta, "Sudo", "sudo", reg)
	return [][]byte{
		sign(t, c, alice, transferCall(t, c, bob, TAO), 0),
		sign(t, c, alice, sudoCall, 0),
		sign(t, c, bob, reg, 3),
	}
}

func FuzzDecodeExtrinsic(f *testing.F) {
	c := newTestChain(f)
	for _, s := range seeds(f, c) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x04, 0x84})
	f.Fuzz(func(t *testing.T, xt []byte) {
		x, err := c.DecodeExtrinsic(xt)
		if err != nil {
			var te *TxError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a TxError", err)
			}
			return
		}
		// What decodes re-encodes to the same bytes.
		body := scale.NewEncoder(nil).U8(0x84).U8(0).Raw(x.Signer[:]).U8(1).Raw(x.Signature[:]).Raw(x.Extra).Raw(x.Call).Data()
		if string(scale.NewEncoder(nil).Bytes(body).Data()) != string(xt) {
			t.Fatalf("decoded extrinsic does not re-encode to its input")
		}
		c.mu.Lock()
		_ = c.validateLocked(x)
		c.mu.Unlock()
	})
}

func FuzzHandleMessage(f *testing.F) {
	c := newTestChain(f)
	c.newBlockLimit = 5 // keep each input fast
	for _, s := range seeds(f, c) {
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "author_submitExtrinsic", "params": []any{hexOf(s)}})
		f.Add(req)
	}
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"chain_getBlockHash","params":[0]}`,
		`{"jsonrpc":"2.0","id":"x","method":"chain_getBlock","params":["0x00"]}`,
		`{"jsonrpc":"2.0","id":2,"method":"state_call","params":["NeuronInfoRuntimeApi_get_neurons_lite","0x0000"]}`,
		`{"jsonrpc":"2.0","id":3,"method":"state_getStorage","params":["0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"]}`,
		`[{"jsonrpc":"2.0","id":4,"method":"dev_newBlock","params":[{"count":2}]},{"jsonrpc":"2.0","method":"system_chain"}]`,
		`{"jsonrpc":"2.0","id":5,"method":"dev_fund","params":["5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty","1000"]}`,
		`{"jsonrpc":"2.0","id":6,"method":"chain_subscribeNewHeads","params":[]}`,
		`{"jsonrpc":"2.0","id":7,"method":"system_accountNextIndex","params":["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"]}`,
		`{"jsonrpc":"2.0","id":8,"method":"state_queryStorageAt","params":[["0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9","0x00"]]}`,
		`{"jsonrpc":"2.0","id":9,"method":"state_subscribeStorage","params":[["0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"]]}`,
		`{"jsonrpc":"2.0","id":10,"method":"state_subscribeRuntimeVersion","params":[]}`,
		`{"jsonrpc":"2.0","id":11,"method":"state_unsubscribeStorage","params":["1"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		sess := newSession(true, nil)
		defer sess.close()
		resp, after := c.handleMessage(sess, msg)
		if after != nil {
			after()
		}
		if resp != nil && !json.Valid(resp) {
			t.Fatalf("answer is not JSON: %q", resp)
		}
		for len(sess.out) > 0 {
			<-sess.out
		}
	})
}
