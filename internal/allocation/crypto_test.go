package allocation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCredentialsDecryptInPython: the info we send decrypts with Python's
// cryptography exactly as SN27's Python renter does it.
func TestCredentialsDecryptInPython(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3 with cryptography; skipped with -short")
	}
	priv := filepath.Join(t.TempDir(), "renter.pem")
	pubPEM, err := exec.Command("/usr/bin/python3", "testdata/renter.py", "keygen", priv).Output()
	if err != nil {
		t.Fatalf("python keygen (make test installs python3-cryptography): %v", err)
	}
	pub, err := ParseRenterKey(string(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{Username: "root", Password: "s3cret-ÄÖ", Port: 4444}
	info, err := EncryptCredentials(pub, want)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/renter.py", "decrypt", priv)
	cmd.Stdin = strings.NewReader(info)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python decrypt: %v", err)
	}
	var got Credentials
	if err := json.Unmarshal(out, &got); err != nil || got != want {
		t.Errorf("python decrypted %s (%v); want %+v", out, err, want)
	}
}

func TestParseRenterKey(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	good := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)}))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for _, tt := range []struct {
		name, pem string
		ok        bool
	}{
		{"spki", good, true},
		{"pkcs1", pkcs1, true},
		{"empty", "", false},
		{"garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", false},
		{"1024 bits", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER})), false},
		{"ec key", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})), false},
		{"private key type", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: spki})), false},
		{"huge", strings.Repeat("A", 20000), false},
	} {
		if _, err := ParseRenterKey(tt.pem); (err == nil) != tt.ok {
			t.Errorf("%s: ParseRenterKey = %v; want ok=%v", tt.name, err, tt.ok)
		}
	}
	info, err := EncryptCredentials(&k.PublicKey, Credentials{Username: "root", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := DecryptCredentials(k, info); err != nil || c.Username != "root" || c.Port != 1 {
		t.Errorf("round trip = %+v, %v", c, err)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "allocation.json")
	s, err := loadState(path)
	if err != nil || s.Active != nil {
		t.Fatalf("missing file = %+v, %v", s, err)
	}
	rec := &Record{ContainerID: "abc", Deadline: time.Unix(1800000000, 0).UTC(), Renter: "pem"}
	if err := saveState(path, state{Active: rec}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", fi.Mode().Perm())
	}
	s, err = loadState(path)
	if err != nil || s.Active == nil || s.Active.ContainerID != "abc" || !s.Active.Deadline.Equal(rec.Deadline) {
		t.Errorf("reloaded %+v, %v", s.Active, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := loadState(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt state = %v", err)
	}
}

func TestPasswords(t *testing.T) {
	a, _ := newPassword(20)
	b, _ := newPassword(20)
	if len(a) != 20 || a == b {
		t.Errorf("passwords %q %q", a, b)
	}
}
