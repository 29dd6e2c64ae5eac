package polkadotjs

import (
	"context"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/keys"
)

// TestKeysAgainstPolkadotJS: our sr25519 and SS58 agree with polkadot.js in
// both directions.
func TestKeysAgainstPolkadotJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node with polkadot.js; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, uri := range []string{keys.DevPhrase, "//Alice", "//Bob//stash"} {
		p, err := keys.FromURI(uri)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := Address(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		if addr != p.SS58() {
			t.Errorf("%q: polkadot.js address %s; ours %s", uri, addr, p.SS58())
		}
	}
	msg := "1739467234567891234.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty.uuid.a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
	addr, sig, err := Sign(ctx, "//Alice", msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.VerifyHex(addr, []byte(msg), sig); err != nil {
		t.Errorf("polkadot.js signature rejected by us: %v", err)
	}
	if err := keys.VerifyHex(addr, []byte(msg+"x"), sig); err == nil {
		t.Error("polkadot.js signature accepted for another message")
	}
	alice, _ := keys.FromURI("//Alice")
	ours, err := alice.SignHex([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(ctx, alice.SS58(), msg, ours); err != nil || !ok {
		t.Errorf("our signature rejected by polkadot.js: %v, %v", ok, err)
	}
	if ok, _ := Verify(ctx, alice.SS58(), msg+"x", ours); ok {
		t.Error("polkadot.js accepted our signature for another message")
	}
}
