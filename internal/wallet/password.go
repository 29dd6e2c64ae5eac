package wallet

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Passwords supplies the password of an encrypted key file. confirm is set
// when the password will encrypt a new file (a prompt then asks twice).
// PasswordSource implements it.
type Passwords interface {
	Password(ctx context.Context, keyfile string, confirm bool) (string, error)
}

// PasswordSource looks for a key file's password where btcli users keep it,
// in this order: File, the BT_PW_<PATH> environment variable (through
// LookupEnv), then Prompt. Nil fields are skipped.
type PasswordSource struct {
	// File holds the password; one trailing newline is dropped.
	File string
	// LookupEnv reads the environment (os.LookupEnv); see PasswordEnvVar.
	LookupEnv func(key string) (string, bool)
	// Prompt asks the user without echo (see TerminalPrompt).
	Prompt func(ctx context.Context, prompt string) (string, error)
}

var _ Passwords = PasswordSource{}

// Password implements Passwords.
func (s PasswordSource) Password(ctx context.Context, keyfile string, confirm bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.File != "" {
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		return pw, checkNew(pw, confirm, "password file "+s.File)
	}
	if s.LookupEnv != nil {
		name := PasswordEnvVar(keyfile)
		if v, ok := s.LookupEnv(name); ok && v != "" {
			pw := DecodeEnvPassword(name, v)
			return pw, checkNew(pw, confirm, "environment variable "+name)
		}
	}
	hint := "give a password file or set " + PasswordEnvVar(keyfile)
	if s.Prompt == nil {
		return "", fmt.Errorf("%w for %s: %s", ErrNoPassword, keyfile, hint)
	}
	prompt := func(q string) (string, error) {
		pw, err := s.Prompt(ctx, q)
		if errors.Is(err, ErrNoPassword) {
			return "", fmt.Errorf("%w; %s", err, hint)
		}
		return pw, err
	}
	if !confirm {
		return prompt(fmt.Sprintf("Enter password to unlock %s: ", keyfile))
	}
	pw, err := prompt(fmt.Sprintf("Enter password to encrypt %s: ", keyfile))
	if err != nil {
		return "", err
	}
	if err := checkNew(pw, true, "prompt"); err != nil {
		return "", err
	}
	again, err := prompt("Retype the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", ErrPasswordMismatch
	}
	return pw, nil
}

// checkNew refuses an empty password for a new encrypted file.
func checkNew(pw string, confirm bool, from string) error {
	if confirm && pw == "" {
		return fmt.Errorf("%w from %s: refusing to encrypt with it (write an unencrypted key instead if you mean it)", ErrEmptyPassword, from)
	}
	return nil
}

// PasswordEnvVar returns the environment variable btwallet reads a key
// file's password from: "BT_PW_" + the path with "/" and "." replaced by "_",
// upper-cased (e.g. BT_PW__ROOT__BITTENSOR_WALLETS_DEFAULT_COLDKEY).
func PasswordEnvVar(keyfile string) string {
	return "BT_PW_" + strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(keyfile))
}

// EncodeEnvPassword returns the value btwallet ≥ 3.0.4 stores in the variable
// name for password: base64 of the password's UTF-8 bytes XOR-ed
// cyclically with name's bytes. It is obfuscation, not encryption.
func EncodeEnvPassword(name, password string) string {
	return base64.StdEncoding.EncodeToString(xorBytes([]byte(password), name))
}

// DecodeEnvPassword reverses EncodeEnvPassword. A value that is not base64 of
// UTF-8 is read in btwallet 3.0.3's older form: each character's low byte
// XOR-ed with the name's byte at the same position.
func DecodeEnvPassword(name, value string) string {
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value)); err == nil && len(b) > 0 {
		if pw := xorBytes(b, name); utf8.Valid(pw) {
			return string(pw)
		}
	}
	var out []rune
	for i, r := range []rune(value) {
		out = append(out, rune(byte(r)^name[i%len(name)]))
	}
	return string(out)
}

func xorBytes(b []byte, key string) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ key[i%len(key)]
	}
	return out
}

// TerminalPrompt returns a Prompt that writes the prompt to out and reads a
// line from the terminal in without echo. Surrounding white space is dropped,
// as btcli does. It fails with ErrNoPassword when in is not a terminal. If ctx
// ends first, it restores the terminal and returns; the blocked read is left
// to the end of the process.
func TerminalPrompt(in *os.File, out io.Writer) func(ctx context.Context, prompt string) (string, error) {
	return func(ctx context.Context, prompt string) (string, error) {
		fd := int(in.Fd())
		if !term.IsTerminal(fd) {
			return "", fmt.Errorf("%w: %s is not a terminal", ErrNoPassword, in.Name())
		}
		state, err := term.GetState(fd)
		if err != nil {
			return "", fmt.Errorf("read terminal state: %w", err)
		}
		fmt.Fprint(out, prompt)
		type result struct {
			b   []byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			b, err := term.ReadPassword(fd)
			done <- result{b, err}
		}()
		select {
		case r := <-done:
			fmt.Fprintln(out)
			if r.err != nil {
				return "", fmt.Errorf("read password: %w", r.err)
			}
			return strings.TrimSpace(string(r.b)), nil
		case <-ctx.Done():
			_ = term.Restore(fd, state)
			fmt.Fprintln(out)
			return "", ctx.Err()
		}
	}
}
