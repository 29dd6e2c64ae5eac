package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/term"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/wallet"
)

const devSS58 = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV" // keys.DevPhrase

// walletFiles returns every file and directory under dir with its mode and
// content, to show that a failed command changed nothing.
func walletFiles(t *testing.T, dir string) map[string]string {
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
		s := info.Mode().String()
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += " " + string(b)
		}
		out[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("%d files before, %d after", len(before), len(after))
	}
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed", p)
		}
	}
}

func showJSON(t *testing.T, args ...string) (cold, hot string) {
	t.Helper()
	code, out, errs := sn27(t, append([]string{"wallet", "show", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("wallet show: exit %d: %s", code, errs)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 2 {
		t.Fatalf("wallet show --json printed %q (%v); want {coldkey, hotkey}", out, err)
	}
	return v["coldkey"], v["hotkey"]
}

// TestWalletEndToEnd: create → show --json → check (the right password from
// BT_PW_<PATH>, a wrong one from --password-file) → regen with the dev phrase. With -short the coldkey is written
// unencrypted; otherwise with a password file and the real argon2i costs
// (three key derivations of 512 MiB, the right and wrong checks in parallel).
func TestWalletEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wallets")
	pwFile := filepath.Join(t.TempDir(), "pw")
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(pwFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongFile, []byte("correct horse batter\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := []string{"--wallet.path", dir, "--wallet.name", "miner", "--wallet.hotkey", "hk1"}
	secret := []string{"--password-file", pwFile}
	if testing.Short() {
		secret = []string{"--no-password"}
	}

	code, out, errs := sn27(t, append(append([]string{"wallet", "create"}, w...), secret...)...)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errs)
	}
	var phrases []string
	for _, line := range strings.Split(out, "\n") {
		if _, p, ok := strings.Cut(line, "mnemonic:"); ok {
			phrases = append(phrases, strings.TrimSpace(p))
		}
	}
	if len(phrases) != 2 || !strings.Contains(out, "IMPORTANT") {
		t.Fatalf("create printed %q; want a warning and two mnemonics", out)
	}
	if testing.Short() != strings.Contains(errs, "unencrypted") {
		t.Errorf("create stderr %q: unencrypted warning iff --no-password", errs)
	}
	coldPair, err := keys.FromMnemonic(phrases[0])
	if err != nil {
		t.Fatal(err)
	}
	hotPair, err := keys.FromMnemonic(phrases[1])
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "miner")
	for _, f := range []struct {
		path string
		mode fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{base, fs.ModeDir | 0o700},
		{filepath.Join(base, "hotkeys"), fs.ModeDir | 0o700},
		{filepath.Join(base, "coldkey"), 0o600},
		{filepath.Join(base, "coldkeypub.txt"), 0o600},
		{filepath.Join(base, "hotkeys", "hk1"), 0o600},
	} {
		if info, err := os.Stat(f.path); err != nil || info.Mode() != f.mode {
			t.Errorf("%s: %v, %v; want mode %v", f.path, info.Mode(), err, f.mode)
		}
	}
	coldData, _ := os.ReadFile(filepath.Join(base, "coldkey"))
	if encrypted := strings.HasPrefix(string(coldData), "$NACL"); encrypted == testing.Short() {
		t.Errorf("coldkey encrypted = %v with -short = %v", encrypted, testing.Short())
	}

	cold, hot := showJSON(t, w...)
	if cold != coldPair.SS58() || hot != hotPair.SS58() {
		t.Errorf("show = %s, %s; want the created %s, %s", cold, hot, coldPair.SS58(), hotPair.SS58())
	}

	before := walletFiles(t, dir)
	var wg sync.WaitGroup
	if !testing.Short() {
		wg.Add(1)
		go func() { // the wrong password, alongside the right one
			defer wg.Done()
			code, out, errs := sn27(t, append(append([]string{"wallet", "check"}, w...), "--password-file", wrongFile)...)
			if code == 0 || !strings.Contains(errs, "wrong password") || !strings.Contains(errs, filepath.Join(base, "coldkey")) {
				t.Errorf("check with the wrong password: exit %d, stdout %q, stderr %q; want failure naming the coldkey", code, out, errs)
			}
		}()
	}
	// The right password from btwallet's BT_PW_<PATH> variable.
	envName := wallet.PasswordEnvVar(filepath.Join(base, "coldkey"))
	t.Setenv(envName, wallet.EncodeEnvPassword(envName, "correct horse battery"))
	code, out, errs = sn27(t, append([]string{"wallet", "check"}, w...)...)
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(out, cold) {
		t.Errorf("check: exit %d, %q, %q", code, out, errs)
	}
	wg.Wait()
	sameFiles(t, before, walletFiles(t, dir))

	// Create again: refused, naming the file, nothing changed.
	code, _, errs = sn27(t, append(append([]string{"wallet", "create"}, w...), "--no-password")...)
	if code == 0 || !strings.Contains(errs, filepath.Join(base, "coldkey")) || !strings.Contains(errs, "--overwrite") {
		t.Errorf("create over a wallet: exit %d, %q; want refusal naming the coldkey", code, errs)
	}
	sameFiles(t, before, walletFiles(t, dir))

	// Regenerate both keys from the dev phrase.
	for _, which := range []string{"regen-coldkey", "regen-hotkey"} {
		args := append([]string{"wallet", which, "--overwrite", "--mnemonic", keys.DevPhrase}, w...)
		if which == "regen-coldkey" {
			args = append(args, "--no-password")
		}
		code, out, errs := sn27(t, args...)
		if code != 0 || !strings.Contains(out, devSS58) {
			t.Errorf("%s: exit %d, %q, %q", which, code, out, errs)
		}
	}
	if cold, hot := showJSON(t, w...); cold != devSS58 || hot != devSS58 {
		t.Errorf("after regen, show = %s, %s; want %s", cold, hot, devSS58)
	}
	if code, out, errs := sn27(t, append([]string{"wallet", "check"}, w...)...); code != 0 || !strings.Contains(out, devSS58) {
		t.Errorf("check of the unencrypted dev coldkey: exit %d, %q, %q", code, out, errs)
	}

	code, out, _ = sn27(t, "wallet", "list", "--wallet.path", dir)
	if code != 0 || !strings.Contains(out, "miner  "+devSS58) || !strings.Contains(out, "  hk1  "+devSS58) {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
	code, out, _ = sn27(t, "wallet", "list", "--json", "--wallet.path", dir)
	var infos []struct {
		Name    string `json:"name"`
		Coldkey string `json:"coldkey"`
		Hotkeys []struct{ Name, Hotkey string }
	}
	if err := json.Unmarshal([]byte(out), &infos); code != 0 || err != nil || len(infos) != 1 || infos[0].Coldkey != devSS58 || len(infos[0].Hotkeys) != 1 {
		t.Errorf("list --json: exit %d, %v: %s", code, err, out)
	}
}

func TestWalletNewKeys(t *testing.T) {
	dir := t.TempDir()
	w := []string{"--wallet.path", dir, "--wallet.name", "w"}
	code, out, errs := sn27(t, append([]string{"wallet", "new-coldkey", "--no-password", "--n-words", "24"}, w...)...)
	if code != 0 || !strings.Contains(out, "coldkey mnemonic:") || !strings.Contains(errs, "unencrypted") {
		t.Fatalf("new-coldkey: exit %d, %q, %q", code, out, errs)
	}
	_, phrase, _ := strings.Cut(out, "coldkey mnemonic: ")
	if n := len(strings.Fields(strings.SplitN(phrase, "\n", 2)[0])); n != 24 {
		t.Errorf("new-coldkey --n-words 24 printed %d words", n)
	}
	for _, hk := range []string{"a", "b"} {
		if code, out, errs := sn27(t, append([]string{"wallet", "new-hotkey", "--wallet.hotkey", hk}, w...)...); code != 0 || !strings.Contains(out, "hotkey mnemonic:") {
			t.Fatalf("new-hotkey %s: exit %d, %q, %q", hk, code, out, errs)
		}
	}
	code, out, _ = sn27(t, "wallet", "list", "--wallet.path", dir)
	if code != 0 || !strings.Contains(out, "\n  a  5") || !strings.Contains(out, "\n  b  5") {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
	if code, out, _ := sn27(t, "wallet", "list", "--wallet.path", filepath.Join(dir, "none")); code != 0 || !strings.Contains(out, "no wallets") {
		t.Errorf("list of an empty path: exit %d, %q", code, out)
	}
}

func TestWalletErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nowallet")
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad mnemonic", []string{"regen-coldkey", "--no-password", "--mnemonic", "bottom drive obey lake curtain smoke basket hold race lonely fit fit"}, 2, "invalid mnemonic"},
		{"no mnemonic", []string{"regen-hotkey"}, 1, "mnemonic"},
		{"bad n-words", []string{"create", "--no-password", "--n-words", "13"}, 2, "--n-words 13"},
		{"bad name", []string{"show", "--wallet.name", "../x"}, 2, "invalid wallet or hotkey name"},
		{"show missing", []string{"show", "--wallet.name", "nowallet"}, 1, filepath.Join(missing, "coldkeypub.txt") + ": file does not exist"},
		{"check missing", []string{"check", "--wallet.name", "nowallet"}, 1, "sn27 wallet create"},
		{"no password source", []string{"regen-coldkey", "--mnemonic", keys.DevPhrase}, 1, "--password-file"},
		{"missing password file", []string{"create", "--wallet.name", "x", "--password-file", filepath.Join(dir, "nope")}, 1, filepath.Join(dir, "nope")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no password source" && term.IsTerminal(int(os.Stdin.Fd())) {
				t.Skip("stdin is a terminal: the command would prompt (go test gives /dev/null)")
			}
			code, out, errs := sn27(t, append(append([]string{"wallet"}, tt.args...), "--wallet.path", dir)...)
			if code != tt.code || !strings.Contains(errs, tt.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q", code, out, errs, tt.code, tt.msg)
			}
			if strings.Contains(out, "mnemonic:") {
				t.Error("printed a mnemonic on failure")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed commands left %d entries in %s", len(entries), dir)
	}
}

// A wallet made by regen-coldkey has no hotkey yet: show prints the coldkey
// and says so (null in JSON), as the README's order of commands expects.
func TestWalletShowColdkeyOnly(t *testing.T) {
	dir := t.TempDir()
	w := []string{"--wallet.path", dir, "--wallet.name", "cold"}
	if code, _, errs := sn27(t, append([]string{"wallet", "regen-coldkey", "--no-password", "--mnemonic", keys.DevPhrase}, w...)...); code != 0 {
		t.Fatalf("regen-coldkey: exit %d: %s", code, errs)
	}
	want, err := keys.FromMnemonic(keys.DevPhrase)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := sn27(t, append([]string{"wallet", "show", "--json"}, w...)...)
	if code != 0 {
		t.Fatalf("show --json: exit %d: %s", code, errs)
	}
	var got struct {
		Coldkey string  `json:"coldkey"`
		Hotkey  *string `json:"hotkey"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Coldkey != want.SS58() || got.Hotkey != nil || !strings.Contains(out, `"hotkey":null`) {
		t.Errorf("show --json = %q (%v); want coldkey %s and hotkey null", out, err, want.SS58())
	}
	code, out, errs = sn27(t, append([]string{"wallet", "show"}, w...)...)
	if code != 0 || !strings.Contains(out, "coldkey "+want.SS58()) || !strings.Contains(out, "no hotkeys/default") || !strings.Contains(out, "sn27 wallet new-hotkey") {
		t.Errorf("show: exit %d, %q, %q", code, out, errs)
	}
	// Once a hotkey exists, show prints it.
	if code, _, errs := sn27(t, append([]string{"wallet", "new-hotkey"}, w...)...); code != 0 {
		t.Fatalf("new-hotkey: exit %d: %s", code, errs)
	}
	if code, out, _ := sn27(t, append([]string{"wallet", "show", "--json"}, w...)...); code != 0 || strings.Contains(out, "null") {
		t.Errorf("show after new-hotkey: exit %d, %q", code, out)
	}
}
