package wallet

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/keys"
)

// fixedPassword is a Passwords that always gives the same password.
type fixedPassword string

func (p fixedPassword) Password(context.Context, string, bool) (string, error) {
	return string(p), nil
}

func testWallet(t *testing.T, pw string) Wallet {
	t.Helper()
	return Wallet{Path: filepath.Join(t.TempDir(), "wallets"), Name: "w1", Hotkey: "h1", Passwords: fixedPassword(pw), kdf: testKDF}
}

// snapshot returns every file under dir with its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var data []byte
		if !d.IsDir() {
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		out[p] = info.Mode().String() + " " + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateLoad(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "s3cret")
	cold, hot, err := w.Create(ctx, 12, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(cold.Mnemonic())); n != 12 {
		t.Errorf("coldkey mnemonic has %d words", n)
	}
	if cold.Public() == hot.Public() || cold.Mnemonic() == hot.Mnemonic() {
		t.Error("coldkey and hotkey are the same key")
	}
	ps, err := w.Paths()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		mode fs.FileMode
	}{
		{w.Path, 0o700 | fs.ModeDir},
		{ps.Dir, 0o700 | fs.ModeDir},
		{ps.HotkeysDir, 0o700 | fs.ModeDir},
		{ps.Coldkey, 0o600},
		{ps.ColdkeyPub, 0o600},
		{ps.Hotkey, 0o600},
	} {
		info, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != f.mode {
			t.Errorf("%s mode %v; want %v", f.path, info.Mode(), f.mode)
		}
	}
	coldData, _ := os.ReadFile(ps.Coldkey)
	if !bytes.HasPrefix(coldData, []byte("$NACL")) {
		t.Errorf("coldkey is not encrypted: %.20q", coldData)
	}
	hotData, _ := os.ReadFile(ps.Hotkey)
	if !bytes.HasPrefix(hotData, []byte("{")) || !bytes.Contains(hotData, []byte(hot.Mnemonic())) {
		t.Errorf("hotkey is not plain JSON with its phrase: %.20q", hotData)
	}
	entries, _ := os.ReadDir(ps.Dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	gotCold, err := w.LoadColdkey(ctx)
	if err != nil || gotCold.Raw() != cold.Raw() || gotCold.Mnemonic() != cold.Mnemonic() {
		t.Errorf("LoadColdkey = %v, %v; want %v", gotCold, err, cold)
	}
	pub, err := w.LoadColdkeyPub(ctx)
	if err != nil || pub != cold.Coldkey() {
		t.Errorf("LoadColdkeyPub = %v, %v; want %v", pub, err, cold.Coldkey())
	}
	gotHot, err := w.LoadHotkey(ctx)
	if err != nil || gotHot.Raw() != hot.Raw() {
		t.Errorf("LoadHotkey = %v, %v; want %v", gotHot, err, hot)
	}
	hk, err := w.LoadHotkeyPub(ctx)
	if err != nil || hk != hot.Hotkey() {
		t.Errorf("LoadHotkeyPub = %v, %v; want %v", hk, err, hot.Hotkey())
	}
	// Without passwords, the public parts still load.
	nopw := w
	nopw.Passwords = nil
	if _, err := nopw.LoadColdkeyPub(ctx); err != nil {
		t.Errorf("LoadColdkeyPub without passwords: %v", err)
	}
	if _, err := nopw.LoadColdkey(ctx); !errors.Is(err, ErrNoPassword) || !errors.Is(err, ErrEncrypted) {
		t.Errorf("LoadColdkey without passwords = %v; want ErrEncrypted, ErrNoPassword", err)
	}
}

func TestRegenNoPassword(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "")
	w.Passwords = nil
	p, err := w.RegenColdkey(ctx, "  bottom drive obey lake curtain smoke basket hold race lonely fit walk\n", WriteOptions{NoPassword: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.SS58() != devSS58 {
		t.Errorf("regen = %s; want %s", p.SS58(), devSS58)
	}
	ps, _ := w.Paths()
	data, _ := os.ReadFile(ps.Coldkey)
	if !bytes.Equal(data, Encode(p)) {
		t.Errorf("unencrypted coldkey = %s; want %s", data, Encode(p))
	}
	pub, _ := os.ReadFile(ps.ColdkeyPub)
	if !bytes.Equal(pub, EncodePublic(p.Public())) {
		t.Errorf("coldkeypub.txt = %s", pub)
	}
	if err := w.SetColdkey(ctx, p, WriteOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("SetColdkey over an existing one = %v; want ErrExists", err)
	}
	if _, err := w.RegenHotkey(ctx, devPhrase, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if hk, err := w.LoadHotkeyPub(ctx); err != nil || hk != devSS58 {
		t.Errorf("LoadHotkeyPub = %v, %v", hk, err)
	}
	if c, err := w.LoadColdkey(ctx); err != nil || c.SS58() != devSS58 {
		t.Errorf("LoadColdkey (unencrypted) = %v, %v", c, err)
	}
}

func TestOverwrite(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "pw")
	if _, _, err := w.Create(ctx, 12, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ps, _ := w.Paths()
	before := snapshot(t, w.Path)
	for _, tt := range []struct {
		name string
		do   func() error
		file string
	}{
		{"create", func() error { _, _, err := w.Create(ctx, 12, WriteOptions{}); return err }, ps.Coldkey},
		{"regen coldkey", func() error { _, err := w.RegenColdkey(ctx, devPhrase, WriteOptions{}); return err }, ps.Coldkey},
		{"regen hotkey", func() error { _, err := w.RegenHotkey(ctx, devPhrase, WriteOptions{}); return err }, ps.Hotkey},
		{"new hotkey", func() error { _, err := w.NewHotkey(ctx, 12, WriteOptions{NoPassword: true}); return err }, ps.Hotkey},
		{"new coldkey", func() error { _, err := w.NewColdkey(ctx, 12, WriteOptions{}); return err }, ps.Coldkey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), tt.file) {
				t.Fatalf("err = %v; want ErrExists naming %s", err, tt.file)
			}
		})
	}
	// Only coldkeypub.txt exists: still refused, before asking a password.
	w2 := testWallet(t, "")
	w2.Passwords = nil
	ps2, _ := w2.Paths()
	if err := writeFileAtomic(ps2.ColdkeyPub, EncodePublic(devPair(t).Public()), false); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.RegenColdkey(ctx, devPhrase, WriteOptions{}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "coldkeypub.txt") {
		t.Errorf("regen with a coldkeypub.txt = %v; want ErrExists naming it", err)
	}
	if got := snapshot(t, w.Path); len(got) != len(before) {
		t.Fatalf("files changed: %v", got)
	} else {
		for k, v := range before {
			if got[k] != v {
				t.Errorf("%s changed", k)
			}
		}
	}

	if _, err := w.RegenColdkey(ctx, devPhrase, WriteOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RegenHotkey(ctx, devPhrase, WriteOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if c, err := w.LoadColdkey(ctx); err != nil || c.SS58() != devSS58 {
		t.Errorf("after overwrite, coldkey = %v, %v", c, err)
	}
	if info, err := os.Stat(ps.Coldkey); err != nil || info.Mode() != 0o600 {
		t.Errorf("overwritten coldkey mode %v, %v", info.Mode(), err)
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "right")
	if _, err := w.RegenColdkey(ctx, devPhrase, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ps, _ := w.Paths()
	enc, _ := os.ReadFile(ps.Coldkey)
	withColdkey := func(data []byte) func(t *testing.T) Wallet {
		return func(t *testing.T) Wallet {
			w := testWallet(t, "right")
			ps, _ := w.Paths()
			if err := writeFileAtomic(ps.Coldkey, data, false); err != nil {
				t.Fatal(err)
			}
			return w
		}
	}
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T) Wallet
		pw    string
		want  error
		msg   string
	}{
		{"wrong password", withColdkey(enc), "wrong", ErrWrongPassword, "coldkey"},
		{"missing", func(t *testing.T) Wallet { return testWallet(t, "right") }, "right", fs.ErrNotExist, filepath.Join("w1", "coldkey") + ": file does not exist"},
		{"corrupt JSON", withColdkey([]byte(`{"secretPhrase": "bottom`)), "right", ErrMalformed, "coldkey"},
		{"corrupt ciphertext", withColdkey(append(bytes.Clone(enc[:len(enc)-3]), "xyz"...)), "right", ErrWrongPassword, "coldkey"},
		{"truncated $NACL", withColdkey(enc[:20]), "right", ErrMalformed, "truncated"},
		{"unknown prefix", withColdkey([]byte("-----BEGIN AGE ENCRYPTED FILE-----")), "right", ErrMalformed, "unknown format"},
		{"ansible vault", withColdkey([]byte("$ANSIBLE_VAULT;1.1;AES256\n61")), "right", ErrLegacyEncryption, "regen-coldkey"},
		{"legacy fernet", withColdkey([]byte("gAAAAABh")), "right", ErrLegacyEncryption, "btcli"},
		{"public only", withColdkey(EncodePublic(devPair(t).Public())), "right", ErrPublicOnly, "coldkey"},
		{"bad name", func(t *testing.T) Wallet { w := testWallet(t, ""); w.Name = "../etc"; return w }, "", ErrBadName, "../etc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.setup(t)
			w.Passwords = fixedPassword(tt.pw)
			before := snapshot(t, filepath.Dir(w.Path))
			p, err := w.LoadColdkey(ctx)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("LoadColdkey = %v, %v; want %v", p, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			after := snapshot(t, filepath.Dir(w.Path))
			if len(after) != len(before) {
				t.Errorf("files changed: %d -> %d", len(before), len(after))
			}
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s changed", k)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "pw")
	if _, err := w.RegenColdkey(ctx, "bottom drive obey lake curtain smoke basket hold race lonely fit fit", WriteOptions{}); !errors.Is(err, keys.ErrBadMnemonic) {
		t.Errorf("regen with a bad mnemonic = %v; want ErrBadMnemonic", err)
	}
	if _, _, err := w.Create(ctx, 13, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "13") {
		t.Errorf("create with 13 words = %v", err)
	}
	for _, name := range []string{".", "..", "a/b", "x\x00"} {
		bad := w
		bad.Hotkey = name
		if _, err := bad.Paths(); !errors.Is(err, ErrBadName) {
			t.Errorf("hotkey %q: %v; want ErrBadName", name, err)
		}
	}
	if entries, _ := os.ReadDir(w.Path); len(entries) != 0 {
		t.Errorf("bad input wrote %d entries", len(entries))
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.RegenColdkey(canceled, devPhrase, WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("regen with a canceled context = %v", err)
	}
	nopw := w
	nopw.Passwords = nil
	if _, err := nopw.RegenColdkey(ctx, devPhrase, WriteOptions{}); !errors.Is(err, ErrNoPassword) {
		t.Errorf("encrypted regen without passwords = %v; want ErrNoPassword", err)
	}
}

func TestEncryptedHotkey(t *testing.T) {
	ctx := context.Background()
	w := testWallet(t, "hotpw")
	ps, _ := w.Paths()
	enc, err := encrypt(Encode(devPair(t)), "hotpw", testKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(ps.Hotkey, enc, false); err != nil {
		t.Fatal(err)
	}
	if hk, err := w.LoadHotkeyPub(ctx); err != nil || hk != devSS58 {
		t.Errorf("LoadHotkeyPub (encrypted, by password) = %v, %v", hk, err)
	}
	if p, err := w.LoadHotkey(ctx); err != nil || p.SS58() != devSS58 {
		t.Errorf("LoadHotkey (encrypted) = %v, %v", p, err)
	}
	// btwallet ≥ 3.1 writes hotkeys/<hotkey>pub.txt, read without a password.
	if err := writeFileAtomic(ps.Hotkey+"pub.txt", EncodePublic(devPair(t).Public()), false); err != nil {
		t.Fatal(err)
	}
	nopw := w
	nopw.Passwords = nil
	if hk, err := nopw.LoadHotkeyPub(ctx); err != nil || hk != devSS58 {
		t.Errorf("LoadHotkeyPub (pub.txt) = %v, %v", hk, err)
	}
	hks, err := w.Hotkeys(ctx)
	if err != nil || len(hks) != 1 || hks[0] != (HotkeyInfo{Name: "h1", Hotkey: devSS58}) {
		t.Errorf("Hotkeys = %+v, %v; want only h1", hks, err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "wallets")
	if got, err := List(ctx, base); err != nil || len(got) != 0 {
		t.Errorf("List(missing) = %v, %v; want none", got, err)
	}
	mk := func(name, hotkey string) (*keys.Pair, *keys.Pair) {
		w := Wallet{Path: base, Name: name, Hotkey: hotkey, kdf: testKDF, Passwords: fixedPassword("pw")}
		c, h, err := w.Create(ctx, 12, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c, h
	}
	c1, h1 := mk("alpha", "default")
	h2, err := Wallet{Path: base, Name: "alpha", Hotkey: "second"}.NewHotkey(ctx, 15, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c3, h3 := mk("beta", "hk")
	if err := os.MkdirAll(filepath.Join(base, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "stray.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := List(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{
		{Name: "alpha", Coldkey: c1.Coldkey(), Hotkeys: []HotkeyInfo{{"default", h1.Hotkey()}, {"second", h2.Hotkey()}}},
		{Name: "beta", Coldkey: c3.Coldkey(), Hotkeys: []HotkeyInfo{{"hk", h3.Hotkey()}}},
		{Name: "empty", Hotkeys: []HotkeyInfo{}},
	}
	if len(got) != len(want) {
		t.Fatalf("List = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Coldkey != want[i].Coldkey || len(got[i].Hotkeys) != len(want[i].Hotkeys) {
			t.Errorf("List[%d] = %+v; want %+v", i, got[i], want[i])
			continue
		}
		for j := range want[i].Hotkeys {
			if got[i].Hotkeys[j] != want[i].Hotkeys[j] {
				t.Errorf("List[%d].Hotkeys[%d] = %+v; want %+v", i, j, got[i].Hotkeys[j], want[i].Hotkeys[j])
			}
		}
	}
}

func TestExpandPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tt := range []struct{ in, want string }{
		{"~", home},
		{"~/.bittensor/wallets", filepath.Join(home, ".bittensor/wallets")},
		{"/abs/~/x", "/abs/~/x"},
		{"~other/x", "~other/x"},
		{"rel", "rel"},
	} {
		if got, err := ExpandPath(tt.in); err != nil || got != tt.want {
			t.Errorf("ExpandPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	ps, err := Wallet{}.Paths()
	if err != nil || ps.Coldkey != filepath.Join(home, ".bittensor/wallets/default/coldkey") || ps.Hotkey != filepath.Join(home, ".bittensor/wallets/default/hotkeys/default") {
		t.Errorf("default Paths = %+v, %v", ps, err)
	}
}
