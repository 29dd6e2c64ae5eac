package wallet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordEnvVar(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/root/.bittensor/wallets/default/coldkey", "BT_PW__ROOT__BITTENSOR_WALLETS_DEFAULT_COLDKEY"},
		{"/home/me/.bittensor/wallets/my-wallet/hotkeys/hk1", "BT_PW__HOME_ME__BITTENSOR_WALLETS_MY-WALLET_HOTKEYS_HK1"},
		{"wallets/w.1/coldkey", "BT_PW_WALLETS_W_1_COLDKEY"},
	} {
		if got := PasswordEnvVar(tt.path); got != tt.want {
			t.Errorf("PasswordEnvVar(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
}

func TestEnvPassword(t *testing.T) {
	const name = "BT_PW__TMP_PYTEST_TEST_WALLET_COLDKEY"
	for _, tt := range []struct {
		name, value, want string
	}{
		// btwallet tests/test_keyfile.py: any variable starting "BT_PW__".
		{"btwallet vector", "NjEsJD4xOA==", "testing"},
		{"btwallet vector, newline", "NjEsJD4xOA==\n", "testing"},
		// btwallet 3.0.3 stored the XOR-ed characters themselves.
		{"3.0.3 form", string([]rune{'t' ^ 'B', 'e' ^ 'T', 's' ^ '_', 't' ^ 'P', 'i' ^ 'W', 'n' ^ '_', 'g' ^ '_'}), "testing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeEnvPassword(name, tt.value); got != tt.want {
				t.Errorf("DecodeEnvPassword(%q) = %q; want %q", tt.value, got, tt.want)
			}
		})
	}
	if got := EncodeEnvPassword(name, "testing"); got != "NjEsJD4xOA==" {
		t.Errorf("EncodeEnvPassword = %q; want btwallet's NjEsJD4xOA==", got)
	}
	for _, pw := range []string{"p", "pässwörd ✓", strings.Repeat("long password ", 10), "BT_PW__"} {
		if got := DecodeEnvPassword(name, EncodeEnvPassword(name, pw)); got != pw {
			t.Errorf("round trip of %q = %q", pw, got)
		}
	}
}

// prompts is a scripted Prompt that records the prompts it showed.
type prompts struct {
	answers []string
	asked   []string
}

func (p *prompts) prompt(_ context.Context, q string) (string, error) {
	p.asked = append(p.asked, q)
	if len(p.answers) == 0 {
		return "", errors.New("unexpected prompt")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

func TestPasswordSource(t *testing.T) {
	dir := t.TempDir()
	keyfile := "/w/default/coldkey"
	envName := PasswordEnvVar(keyfile)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fileNL := write("pw-nl", "from file\n")
	fileCRLF := write("pw-crlf", " spaced \r\n")
	fileEmpty := write("pw-empty", "\n")
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == envName {
				return v, true
			}
			return "", false
		}
	}
	for _, tt := range []struct {
		name    string
		src     PasswordSource
		answers []string
		confirm bool
		want    string
		wantErr error
		msg     string
		asked   int
	}{
		{"file first", PasswordSource{File: fileNL, LookupEnv: env(EncodeEnvPassword(envName, "env")), Prompt: nil}, nil, false, "from file", nil, "", 0},
		{"file keeps inner spaces", PasswordSource{File: fileCRLF}, nil, true, " spaced ", nil, "", 0},
		{"missing file", PasswordSource{File: filepath.Join(dir, "nope")}, nil, false, "", os.ErrNotExist, "nope", 0},
		{"empty file for new key", PasswordSource{File: fileEmpty}, nil, true, "", ErrEmptyPassword, "pw-empty", 0},
		{"empty file to unlock", PasswordSource{File: fileEmpty}, nil, false, "", nil, "", 0},
		{"env before prompt", PasswordSource{LookupEnv: env(EncodeEnvPassword(envName, "env"))}, []string{"typed"}, false, "env", nil, "", 0},
		{"empty env is unset", PasswordSource{LookupEnv: env("")}, []string{"typed"}, false, "typed", nil, "", 1},
		{"prompt", PasswordSource{LookupEnv: env("")}, []string{"typed"}, false, "typed", nil, "", 1},
		{"prompt confirm", PasswordSource{}, []string{"new", "new"}, true, "new", nil, "", 2},
		{"prompt mismatch", PasswordSource{}, []string{"new", "neu"}, true, "", ErrPasswordMismatch, "do not match", 2},
		{"prompt empty new", PasswordSource{}, []string{""}, true, "", ErrEmptyPassword, "empty", 1},
		{"nothing", PasswordSource{LookupEnv: env("")}, nil, false, "", ErrNoPassword, envName, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &prompts{answers: tt.answers}
			src := tt.src
			if tt.name != "nothing" {
				src.Prompt = p.prompt
			}
			got, err := src.Password(context.Background(), keyfile, tt.confirm)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Password = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if len(p.asked) != tt.asked {
				t.Errorf("prompted %d times (%q); want %d", len(p.asked), p.asked, tt.asked)
			}
			for _, q := range p.asked {
				if !strings.Contains(q, keyfile) && !strings.Contains(q, "Retype") {
					t.Errorf("prompt %q does not name the key file", q)
				}
			}
		})
	}
}

func TestTerminalPromptNeedsTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	_, err = TerminalPrompt(f, &out)(context.Background(), "Password: ")
	if !errors.Is(err, ErrNoPassword) || !strings.Contains(err.Error(), "not a terminal") {
		t.Errorf("TerminalPrompt(/dev/null) = %v; want ErrNoPassword, not a terminal", err)
	}
	if out.Len() != 0 {
		t.Errorf("prompted %q without a terminal", out.String())
	}
}
