package wallet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, where apt's python3-nacl lives (not
// a pyenv python3 that may come first on PATH).
const debianPython = "/usr/bin/python3"

// TestInteropPyNaCl checks our "$NACL" files against PyNaCl (libsodium),
// with the real argon2i costs: testdata/nacl_keyfile.py encrypts bittensor
// v6 key files of the dev phrase, which we decrypt and decode, and decrypts
// one we encrypted. Both sides derive the key once (the salt is fixed, so
// one password gives one key) and concurrently, to keep the test short.
func TestInteropPyNaCl(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python and the 512 MiB argon2i; skipped with -short")
	}
	if out, err := exec.Command(debianPython, "-c", "import nacl.pwhash, nacl.secret").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import nacl (install Debian's python3-nacl: make deps): %v\n%s", debianPython, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/nacl_keyfile.py")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := bufio.NewReader(stdoutPipe)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	send := func(v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		if _, err := stdin.Write(append(b, '\n')); err != nil {
			t.Fatalf("write to python: %v (stderr: %s)", err, stderr.String())
		}
	}
	recv := func(v any) {
		t.Helper()
		line, err := stdout.ReadBytes('\n')
		if err != nil {
			t.Fatalf("read from python: %v (stderr: %s)", err, stderr.String())
		}
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("python said %q: %v", line, err)
		}
	}

	const password = "correct horse ✓ battery"
	start := time.Now()
	send(map[string]string{"password": password, "mnemonic": devPhrase, "seed": devSeed, "public": devPublic, "ss58": devSS58})
	key := deriveKey(password, kdfParams{}) // the real costs, while Python derives its own
	t.Logf("argon2i, 8 passes over 512 MiB: %v", time.Since(start).Round(time.Millisecond))

	var fromPy struct{ Files []string }
	recv(&fromPy)
	if len(fromPy.Files) != 2 {
		t.Fatalf("python sent %d files", len(fromPy.Files))
	}
	for i, b64 := range fromPy.Files {
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := open(key, data)
		if err != nil {
			t.Fatalf("python file %d: %v", i, err)
		}
		if !strings.Contains(string(plain), `"secretSeed": "`+devSeed+`"`) {
			t.Errorf("python file %d is not v6 JSON: %s", i, plain)
		}
		k, err := Decode(plain)
		if err != nil || k.Pair == nil || k.Pair.SS58() != devSS58 {
			t.Errorf("python file %d decodes to %+v, %v; want %s", i, k, err, devSS58)
		}
		if _, err := open(deriveKey(password+"!", testKDF), data); err != ErrWrongPassword {
			t.Errorf("python file %d with another key: %v; want ErrWrongPassword", i, err)
		}
	}

	goPlain := Encode(devPair(t))
	goFile, err := seal(key, goPlain)
	if err != nil {
		t.Fatal(err)
	}
	send(map[string]string{"file": base64.StdEncoding.EncodeToString(goFile)})
	var back struct{ Plaintext string }
	recv(&back)
	if got, _ := base64.StdEncoding.DecodeString(back.Plaintext); !bytes.Equal(got, goPlain) {
		t.Errorf("python decrypted our file to %s; want %s", got, goPlain)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("python: %v (stderr: %s)", err, stderr.String())
	}
}
