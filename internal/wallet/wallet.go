// Package wallet reads and writes Bittensor wallets in btcli's layout and key
// file format, so the same files work with btcli, btwallet and the Python
// miners and validators:
//
//	<path>/<name>/coldkey          the coldkey, encrypted ($NACL) unless asked not to
//	<path>/<name>/coldkeypub.txt   its public part, never encrypted
//	<path>/<name>/hotkeys/<hotkey> a hotkey, unencrypted as btcli writes it
//
// Key files are JSON (see Encode and Decode); "$NACL" files are argon2i +
// XSalsa20-Poly1305 (see Encrypt). Files are written 0600 in 0700
// directories, atomically, and never replaced without WriteOptions.Overwrite.
// Passwords come from a Passwords implementation, normally PasswordSource
// (password file, btwallet's BT_PW_<PATH> variable, terminal prompt).
package wallet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sn27/sn27/internal/keys"
)

// Defaults, as btcli's.
const (
	DefaultPath   = "~/.bittensor/wallets"
	DefaultName   = "default"
	DefaultHotkey = "default"
)

// Sentinel errors.
var (
	ErrWrongPassword    = errors.New("wrong password (or damaged key file): could not decrypt")
	ErrLegacyEncryption = errors.New("unsupported legacy encryption, regenerate the key with btcli or sn27 wallet regen-coldkey")
	ErrMalformed        = errors.New("malformed key file")
	ErrEncrypted        = errors.New("key file is encrypted")
	ErrPublicOnly       = errors.New("key file holds only a public key")
	ErrExists           = errors.New("refusing to overwrite an existing key file")
	ErrNoPassword       = errors.New("no password available")
	ErrEmptyPassword    = errors.New("empty password")
	ErrPasswordMismatch = errors.New("passwords do not match")
	ErrBadName          = errors.New("invalid wallet or hotkey name")
)

// Wallet names one btcli wallet: Path/Name holds the coldkey, and Hotkey
// selects a file in Path/Name/hotkeys. Empty fields take the defaults; a
// leading "~" in Path is the home directory.
type Wallet struct {
	Path   string
	Name   string
	Hotkey string
	// Passwords unlocks and encrypts key files; nil allows only unencrypted ones.
	Passwords Passwords

	kdf kdfParams // argon2i costs; zero: the real ones (tests lower them)
}

// WriteOptions control how keys are written.
type WriteOptions struct {
	// Overwrite replaces existing key files; otherwise writing fails with ErrExists.
	Overwrite bool
	// NoPassword writes the coldkey unencrypted (hotkeys always are).
	NoPassword bool
}

// Paths are a wallet's files.
type Paths struct {
	Dir        string // Path/Name
	Coldkey    string
	ColdkeyPub string
	HotkeysDir string
	Hotkey     string
}

// ExpandPath replaces a leading "~" with the home directory.
func ExpandPath(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// Paths returns the wallet's file names, with defaults applied and "~"
// expanded. Names that are not a single path element give ErrBadName.
func (w Wallet) Paths() (Paths, error) {
	base, err := ExpandPath(or(w.Path, DefaultPath))
	if err != nil {
		return Paths{}, err
	}
	name, hotkey := or(w.Name, DefaultName), or(w.Hotkey, DefaultHotkey)
	for _, n := range []string{name, hotkey} {
		if err := checkName(n); err != nil {
			return Paths{}, err
		}
	}
	dir := filepath.Join(base, name)
	return Paths{
		Dir:        dir,
		Coldkey:    filepath.Join(dir, "coldkey"),
		ColdkeyPub: filepath.Join(dir, "coldkeypub.txt"),
		HotkeysDir: filepath.Join(dir, "hotkeys"),
		Hotkey:     filepath.Join(dir, "hotkeys", hotkey),
	}, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func checkName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
		return fmt.Errorf("%w: %q", ErrBadName, n)
	}
	return nil
}

// Create writes a new coldkey (and coldkeypub.txt) and hotkey, each from a
// new mnemonic of words words, as `btcli wallet create`. It checks first that
// none of the three files exists (unless o.Overwrite). The pairs carry the
// mnemonics, which the caller must show the user once.
func (w Wallet) Create(ctx context.Context, words int, o WriteOptions) (cold, hot *keys.Pair, err error) {
	p, err := w.Paths()
	if err != nil {
		return nil, nil, err
	}
	if !o.Overwrite {
		for _, f := range []string{p.Coldkey, p.ColdkeyPub, p.Hotkey} {
			if _, err := os.Lstat(f); err == nil {
				return nil, nil, fmt.Errorf("create wallet: %w", existsError(f))
			}
		}
	}
	if cold, err = keys.GenerateWords(words); err != nil {
		return nil, nil, fmt.Errorf("create coldkey: %w", err)
	}
	if hot, err = keys.GenerateWords(words); err != nil {
		return nil, nil, fmt.Errorf("create hotkey: %w", err)
	}
	if err := w.SetColdkey(ctx, cold, o); err != nil {
		return nil, nil, err
	}
	if err := w.SetHotkey(ctx, hot, o); err != nil {
		return nil, nil, err
	}
	return cold, hot, nil
}

// NewColdkey writes a coldkey from a new mnemonic of words words.
func (w Wallet) NewColdkey(ctx context.Context, words int, o WriteOptions) (*keys.Pair, error) {
	p, err := keys.GenerateWords(words)
	if err != nil {
		return nil, fmt.Errorf("new coldkey: %w", err)
	}
	return p, w.SetColdkey(ctx, p, o)
}

// NewHotkey writes a hotkey from a new mnemonic of words words.
func (w Wallet) NewHotkey(ctx context.Context, words int, o WriteOptions) (*keys.Pair, error) {
	p, err := keys.GenerateWords(words)
	if err != nil {
		return nil, fmt.Errorf("new hotkey: %w", err)
	}
	return p, w.SetHotkey(ctx, p, o)
}

// RegenColdkey writes the coldkey of mnemonic (and coldkeypub.txt).
func (w Wallet) RegenColdkey(ctx context.Context, mnemonic string, o WriteOptions) (*keys.Pair, error) {
	p, err := keys.FromMnemonic(mnemonic)
	if err != nil {
		return nil, fmt.Errorf("regenerate coldkey: %w", err)
	}
	return p, w.SetColdkey(ctx, p, o)
}

// RegenHotkey writes the hotkey of mnemonic.
func (w Wallet) RegenHotkey(ctx context.Context, mnemonic string, o WriteOptions) (*keys.Pair, error) {
	p, err := keys.FromMnemonic(mnemonic)
	if err != nil {
		return nil, fmt.Errorf("regenerate hotkey: %w", err)
	}
	return p, w.SetHotkey(ctx, p, o)
}

// SetColdkey writes p as the coldkey, encrypted with a password from
// w.Passwords unless o.NoPassword, and its public part as coldkeypub.txt.
func (w Wallet) SetColdkey(ctx context.Context, p *keys.Pair, o WriteOptions) error {
	ps, err := w.Paths()
	if err != nil {
		return err
	}
	if !o.Overwrite {
		for _, f := range []string{ps.Coldkey, ps.ColdkeyPub} {
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("write coldkey: %w", existsError(f))
			}
		}
	}
	data := Encode(p)
	if !o.NoPassword {
		if w.Passwords == nil {
			return fmt.Errorf("write coldkey %s: %w", ps.Coldkey, ErrNoPassword)
		}
		pw, err := w.Passwords.Password(ctx, ps.Coldkey, true)
		if err != nil {
			return fmt.Errorf("write coldkey: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if data, err = encrypt(data, pw, w.kdf); err != nil {
			return fmt.Errorf("encrypt coldkey: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeFileAtomic(ps.Coldkey, data, o.Overwrite); err != nil {
		return fmt.Errorf("write coldkey: %w", err)
	}
	if err := writeFileAtomic(ps.ColdkeyPub, EncodePublic(p.Public()), o.Overwrite); err != nil {
		return fmt.Errorf("write coldkeypub: %w", err)
	}
	return nil
}

// SetHotkey writes p, unencrypted, as the hotkey.
func (w Wallet) SetHotkey(ctx context.Context, p *keys.Pair, o WriteOptions) error {
	ps, err := w.Paths()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeFileAtomic(ps.Hotkey, Encode(p), o.Overwrite); err != nil {
		return fmt.Errorf("write hotkey: %w", err)
	}
	return nil
}

// LoadColdkey reads the coldkey, decrypting it with a password from
// w.Passwords.
func (w Wallet) LoadColdkey(ctx context.Context) (*keys.Pair, error) {
	ps, err := w.Paths()
	if err != nil {
		return nil, err
	}
	return w.loadPair(ctx, "coldkey", ps.Coldkey)
}

// LoadColdkeyPub reads the coldkey's address from coldkeypub.txt (no
// password needed).
func (w Wallet) LoadColdkeyPub(ctx context.Context) (keys.Coldkey, error) {
	ps, err := w.Paths()
	if err != nil {
		return "", err
	}
	k, err := w.load(ctx, "coldkeypub", ps.ColdkeyPub)
	if err != nil {
		return "", err
	}
	return keys.Coldkey(keys.SS58(k.Public)), nil
}

// LoadHotkey reads the hotkey pair (decrypting it if it was encrypted).
func (w Wallet) LoadHotkey(ctx context.Context) (*keys.Pair, error) {
	ps, err := w.Paths()
	if err != nil {
		return nil, err
	}
	return w.loadPair(ctx, "hotkey", ps.Hotkey)
}

// LoadHotkeyPub reads the hotkey's address. For an encrypted hotkey it reads
// btwallet's hotkeys/<hotkey>pub.txt when present, else it asks for the
// password.
func (w Wallet) LoadHotkeyPub(ctx context.Context) (keys.Hotkey, error) {
	ps, err := w.Paths()
	if err != nil {
		return "", err
	}
	data, err := readKeyfile("hotkey", ps.Hotkey)
	if err != nil {
		return "", err
	}
	if k, err := Decode(data); err == nil {
		return keys.Hotkey(keys.SS58(k.Public)), nil
	} else if !errors.Is(err, ErrEncrypted) {
		return "", fmt.Errorf("read hotkey %s: %w", ps.Hotkey, err)
	}
	if pub, err := readKeyfile("hotkeypub", ps.Hotkey+"pub.txt"); err == nil {
		if k, err := Decode(pub); err == nil {
			return keys.Hotkey(keys.SS58(k.Public)), nil
		}
	}
	k, err := w.load(ctx, "hotkey", ps.Hotkey)
	if err != nil {
		return "", err
	}
	return keys.Hotkey(keys.SS58(k.Public)), nil
}

func (w Wallet) loadPair(ctx context.Context, what, path string) (*keys.Pair, error) {
	k, err := w.load(ctx, what, path)
	if err != nil {
		return nil, err
	}
	if k.Pair == nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, ErrPublicOnly)
	}
	return k.Pair, nil
}

// load reads and decodes a key file, decrypting it if needed.
func (w Wallet) load(ctx context.Context, what, path string) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	data, err := readKeyfile(what, path)
	if err != nil {
		return Key{}, err
	}
	if IsEncrypted(data) {
		if err := checkEncrypted(data); err != nil {
			return Key{}, fmt.Errorf("read %s %s: %w", what, path, err)
		}
		if w.Passwords == nil {
			return Key{}, fmt.Errorf("read %s %s: %w: %w", what, path, ErrEncrypted, ErrNoPassword)
		}
		pw, err := w.Passwords.Password(ctx, path, false)
		if err != nil {
			return Key{}, fmt.Errorf("read %s: %w", what, err)
		}
		if err := ctx.Err(); err != nil {
			return Key{}, err
		}
		if data, err = decrypt(data, pw, w.kdf); err != nil {
			return Key{}, fmt.Errorf("decrypt %s %s: %w", what, path, err)
		}
	}
	k, err := Decode(data)
	if err != nil {
		return Key{}, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return k, nil
}

// readKeyfile reads a key file; a missing one gives an error naming it that
// matches fs.ErrNotExist.
func readKeyfile(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s %s: %w", what, path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return data, nil
}

// Info describes one wallet directory.
type Info struct {
	Name    string       `json:"name"`
	Coldkey keys.Coldkey `json:"coldkey,omitempty"` // from coldkeypub.txt; empty if missing or unreadable
	Hotkeys []HotkeyInfo `json:"hotkeys"`
}

// HotkeyInfo describes one hotkey file.
type HotkeyInfo struct {
	Name   string      `json:"name"`
	Hotkey keys.Hotkey `json:"hotkey,omitempty"` // empty if encrypted (without a pub.txt) or unreadable
}

// List describes the wallets under path ("" for DefaultPath), sorted by
// name, without asking for passwords. A missing path holds no wallets.
func List(ctx context.Context, path string) ([]Info, error) {
	base, err := ExpandPath(or(path, DefaultPath))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list wallets: %w", err)
	}
	var out []Info
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		w := Wallet{Path: base, Name: e.Name()}
		info := Info{Name: e.Name()}
		if c, err := w.LoadColdkeyPub(ctx); err == nil {
			info.Coldkey = c
		}
		if info.Hotkeys, err = w.Hotkeys(ctx); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Hotkeys describes the wallet's hotkey files, sorted by name, without asking
// for passwords. btwallet's <hotkey>pub.txt companions are not listed.
func (w Wallet) Hotkeys(ctx context.Context) ([]HotkeyInfo, error) {
	ps, err := w.Paths()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(ps.HotkeysDir)
	if errors.Is(err, fs.ErrNotExist) {
		return []HotkeyInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list hotkeys: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	out := []HotkeyInfo{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || checkName(n) != nil || strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") {
			continue
		}
		if base, ok := strings.CutSuffix(n, "pub.txt"); ok && names[base] {
			continue
		}
		h := HotkeyInfo{Name: n}
		hw := w
		hw.Hotkey = n
		hw.Passwords = nil
		if a, err := hw.LoadHotkeyPub(ctx); err == nil {
			h.Hotkey = a
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
