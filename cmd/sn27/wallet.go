package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/wallet"
)

// walletFlags are btcli's wallet flags plus the password options.
type walletFlags struct {
	path, name, hotkey string
	passwordFile       string
}

// wallet builds the wallet the flags name, with passwords from
// --password-file, then BT_PW_<PATH>, then a prompt on the terminal.
func (f *walletFlags) wallet(cmd *cobra.Command) wallet.Wallet {
	return wallet.Wallet{
		Path:   f.path,
		Name:   f.name,
		Hotkey: f.hotkey,
		Passwords: wallet.PasswordSource{
			File:      f.passwordFile,
			LookupEnv: os.LookupEnv,
			Prompt:    wallet.TerminalPrompt(os.Stdin, cmd.ErrOrStderr()),
		},
	}
}

// register adds btcli's wallet flags and --password-file to fs.
func (f *walletFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.path, "wallet.path", wallet.DefaultPath, "directory of wallets")
	fs.StringVar(&f.name, "wallet.name", wallet.DefaultName, "wallet (coldkey) name")
	fs.StringVar(&f.hotkey, "wallet.hotkey", wallet.DefaultHotkey, "hotkey name")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the coldkey password from this file (one trailing newline dropped)")
}

func newWalletCmd() *cobra.Command {
	f := &walletFlags{}
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, regenerate, show and check btcli-compatible wallets",
		Long: `Manage Bittensor wallets in btcli's layout and format, usable by btcli and the Python
miners and validators:

  <wallet.path>/<wallet.name>/coldkey           encrypted ($NACL: argon2i + XSalsa20-Poly1305)
  <wallet.path>/<wallet.name>/coldkeypub.txt    the coldkey's address
  <wallet.path>/<wallet.name>/hotkeys/<hotkey>  the hotkey, unencrypted as btcli writes it

The coldkey password comes from --password-file, else from btwallet's BT_PW_<PATH>
environment variable (PATH: the key file's path with / and . as _, upper-cased; the value
is base64 of the password XOR-ed with the variable's name), else from a prompt.
Key files are written 0600, atomically, and never replaced without --overwrite.`,
		Example: `  sn27 wallet create --wallet.name miner --wallet.hotkey default
  sn27 wallet show --wallet.name miner --json
  sn27 wallet check --wallet.name miner --password-file ~/.miner-pw`,
	}
	f.register(cmd.PersistentFlags())
	cmd.AddCommand(
		newWalletCreateCmd(f),
		newWalletNewKeyCmd(f, "coldkey"),
		newWalletNewKeyCmd(f, "hotkey"),
		newWalletRegenCmd(f, "coldkey"),
		newWalletRegenCmd(f, "hotkey"),
		newWalletShowCmd(f),
		newWalletCheckCmd(f),
		newWalletListCmd(f),
	)
	return cmd
}

// writeFlags registers the options of commands that write keys.
func writeFlags(cmd *cobra.Command, o *wallet.WriteOptions, coldkey bool) {
	cmd.Flags().BoolVar(&o.Overwrite, "overwrite", false, "replace existing key files")
	if coldkey {
		cmd.Flags().BoolVar(&o.NoPassword, "no-password", false, "write the coldkey unencrypted (not recommended)")
	}
}

// checkWords rejects a mnemonic length BIP39 does not have.
func checkWords(n int) error {
	switch n {
	case 12, 15, 18, 21, 24:
		return nil
	}
	return withCode(exitBadInput, fmt.Errorf("--n-words %d: want 12, 15, 18, 21 or 24", n))
}

// walletError adds advice to errors from the wallet package and maps bad
// input to exit code 2.
func walletError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wallet.ErrExists):
		return withCode(1, fmt.Errorf("%w (pass --overwrite to replace it)", err))
	case errors.Is(err, fs.ErrNotExist):
		return withCode(1, fmt.Errorf("%w (create the wallet with sn27 wallet create or regen-coldkey, add a hotkey with sn27 wallet new-hotkey or regen-hotkey, or check --wallet.path/--wallet.name/--wallet.hotkey)", err))
	case errors.Is(err, wallet.ErrNoPassword):
		return withCode(1, fmt.Errorf("%w (--password-file FILE)", err))
	case errors.Is(err, keys.ErrBadMnemonic), errors.Is(err, wallet.ErrBadName):
		return withCode(exitBadInput, err)
	}
	return err
}

func warnUnencrypted(w io.Writer, o wallet.WriteOptions) {
	if o.NoPassword {
		fmt.Fprintln(w, "WARNING: the coldkey is written unencrypted (--no-password): anyone who can read the file controls its funds.")
	}
}

const mnemonicWarning = `IMPORTANT: the mnemonics below are the only way to recover these keys. Write them down
and keep them offline and secret: anyone who has them controls the keys. They are not shown again.`

func newWalletCreateCmd(f *walletFlags) *cobra.Command {
	var (
		o      wallet.WriteOptions
		nWords int
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a coldkey (with coldkeypub.txt) and a hotkey from new mnemonics",
		Long: `Create a coldkey, its coldkeypub.txt and a hotkey, each from a new BIP39 mnemonic, as
"btcli wallet create" does. The mnemonics are printed once on stdout. The coldkey is
encrypted with a password (see "sn27 wallet --help") unless --no-password is given.
Nothing is written if any of the three files exists, unless --overwrite.`,
		Example: `  sn27 wallet create
  sn27 wallet create --wallet.name miner --wallet.hotkey hk1 --n-words 24
  sn27 wallet create --wallet.path ./wallets --password-file ./pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkWords(nWords); err != nil {
				return err
			}
			w := f.wallet(cmd)
			ps, err := w.Paths()
			if err != nil {
				return walletError(err)
			}
			cold, hot, err := w.Create(cmd.Context(), nWords, o)
			if err != nil {
				return walletError(err)
			}
			warnUnencrypted(cmd.ErrOrStderr(), o)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s\n\ncoldkey mnemonic: %s\nhotkey mnemonic:  %s\n\n", mnemonicWarning, cold.Mnemonic(), hot.Mnemonic())
			fmt.Fprintf(out, "coldkey %s  %s\nhotkey  %s  %s\n", cold.SS58(), ps.Coldkey, hot.SS58(), ps.Hotkey)
			return nil
		},
	}
	writeFlags(cmd, &o, true)
	cmd.Flags().IntVar(&nWords, "n-words", 12, "mnemonic length: 12, 15, 18, 21 or 24 words")
	return cmd
}

func newWalletNewKeyCmd(f *walletFlags, which string) *cobra.Command {
	var (
		o      wallet.WriteOptions
		nWords int
	)
	cmd := &cobra.Command{
		Use:   "new-" + which,
		Short: "Create a " + which + " from a new mnemonic",
		Long: `Create a ` + which + ` from a new BIP39 mnemonic, printed once on stdout, as
"btcli wallet new-` + which + `" does.`,
		Example: `  sn27 wallet new-` + which + ` --wallet.name miner --wallet.hotkey hk2
  sn27 wallet new-` + which + ` --n-words 24`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkWords(nWords); err != nil {
				return err
			}
			w := f.wallet(cmd)
			ps, err := w.Paths()
			if err != nil {
				return walletError(err)
			}
			var p *keys.Pair
			path := ps.Hotkey
			if which == "coldkey" {
				path = ps.Coldkey
				p, err = w.NewColdkey(cmd.Context(), nWords, o)
			} else {
				p, err = w.NewHotkey(cmd.Context(), nWords, o)
			}
			if err != nil {
				return walletError(err)
			}
			warnUnencrypted(cmd.ErrOrStderr(), o)
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n\n%s mnemonic: %s\n\n%s %s  %s\n", mnemonicWarning, which, p.Mnemonic(), which, p.SS58(), path)
			return nil
		},
	}
	writeFlags(cmd, &o, which == "coldkey")
	cmd.Flags().IntVar(&nWords, "n-words", 12, "mnemonic length: 12, 15, 18, 21 or 24 words")
	return cmd
}

func newWalletRegenCmd(f *walletFlags, which string) *cobra.Command {
	var (
		o        wallet.WriteOptions
		mnemonic string
	)
	what := "a hotkey"
	if which == "coldkey" {
		what = "a coldkey and its coldkeypub.txt"
	}
	cmd := &cobra.Command{
		Use:   "regen-" + which,
		Short: "Restore " + what + " from a mnemonic",
		Long: `Restore ` + what + ` from its BIP39 mnemonic, as "btcli wallet regen-` + which + `" does.
Existing files are kept unless --overwrite. Beware that --mnemonic stays in your shell history.`,
		Example: `  sn27 wallet regen-` + which + ` --mnemonic "word1 word2 ... word12"
  sn27 wallet regen-` + which + ` --wallet.name miner --overwrite --mnemonic "$(cat phrase.txt)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := f.wallet(cmd)
			ps, err := w.Paths()
			if err != nil {
				return walletError(err)
			}
			var p *keys.Pair
			path := ps.Hotkey
			if which == "coldkey" {
				path = ps.Coldkey
				p, err = w.RegenColdkey(cmd.Context(), mnemonic, o)
			} else {
				p, err = w.RegenHotkey(cmd.Context(), mnemonic, o)
			}
			if err != nil {
				return walletError(err)
			}
			warnUnencrypted(cmd.ErrOrStderr(), o)
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s  %s\n", which, p.SS58(), path)
			return nil
		},
	}
	writeFlags(cmd, &o, which == "coldkey")
	cmd.Flags().StringVar(&mnemonic, "mnemonic", "", "the BIP39 mnemonic (12 to 24 words)")
	_ = cmd.MarkFlagRequired("mnemonic")
	return cmd
}

func newWalletShowCmd(f *walletFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the wallet's coldkey and hotkey addresses (no password needed)",
		Long: `Print the coldkey address from coldkeypub.txt and the hotkey address from the hotkey
file. No password is needed (unless the hotkey itself is encrypted).`,
		Example: `  sn27 wallet show
  sn27 wallet show --wallet.name miner --wallet.hotkey hk1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := f.wallet(cmd)
			cold, err := w.LoadColdkeyPub(cmd.Context())
			if err != nil {
				return walletError(err)
			}
			// A wallet made by regen-coldkey (or btcli's new_coldkey) has no
			// hotkey yet: that is a state to show, not an error.
			var hot *keys.Hotkey
			h, err := w.LoadHotkeyPub(cmd.Context())
			switch {
			case err == nil:
				hot = &h
			case !errors.Is(err, fs.ErrNotExist):
				return walletError(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					Coldkey keys.Coldkey `json:"coldkey"`
					Hotkey  *keys.Hotkey `json:"hotkey"`
				}{cold, hot})
			}
			fmt.Fprintf(out, "coldkey %s\n", cold)
			if hot == nil {
				fmt.Fprintf(out, "hotkey  none yet: no hotkeys/%s in wallet %s (sn27 wallet new-hotkey --wallet.name %s --wallet.hotkey %s)\n",
					f.hotkey, f.name, f.name, f.hotkey)
				return nil
			}
			fmt.Fprintf(out, "hotkey  %s\n", *hot)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"coldkey": ss58, "hotkey": ss58 or null when the wallet has no hotkey yet}`)
	return cmd
}

func newWalletCheckCmd(f *walletFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Decrypt the coldkey and confirm it matches coldkeypub.txt",
		Long: `Decrypt the coldkey with its password and confirm that it is the key of coldkeypub.txt.
Also warns when a key file can be read by others than its owner. Exit code 0 when they
match, 1 otherwise (wrong password, missing or damaged files, mismatch).`,
		Example: `  sn27 wallet check
  sn27 wallet check --wallet.name miner --password-file ~/.miner-pw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := f.wallet(cmd)
			ps, err := w.Paths()
			if err != nil {
				return walletError(err)
			}
			pub, err := w.LoadColdkeyPub(cmd.Context())
			if err != nil {
				return walletError(err)
			}
			cold, err := w.LoadColdkey(cmd.Context())
			if err != nil {
				return walletError(err)
			}
			if cold.Coldkey() != pub {
				return fmt.Errorf("coldkey %s is %s but %s says %s", ps.Coldkey, cold.Coldkey(), ps.ColdkeyPub, pub)
			}
			for _, p := range []string{ps.Coldkey, ps.Hotkey} {
				if info, err := os.Stat(p); err == nil && info.Mode().Perm()&0o077 != 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: %s has mode %v; run chmod 600 %s\n", p, info.Mode().Perm(), p)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: coldkey %s matches %s\n", pub, ps.ColdkeyPub)
			return nil
		},
	}
	return cmd
}

func newWalletListCmd(f *walletFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the wallets under --wallet.path with their addresses",
		Long: `List the wallets under --wallet.path with the coldkey address (from coldkeypub.txt) and
their hotkeys. No password is needed; encrypted hotkeys show no address.`,
		Example: `  sn27 wallet list
  sn27 wallet list --wallet.path ./wallets --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := wallet.ExpandPath(f.path)
			if err != nil {
				return err
			}
			infos, err := wallet.List(cmd.Context(), dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if infos == nil {
					infos = []wallet.Info{}
				}
				return json.NewEncoder(out).Encode(infos)
			}
			if len(infos) == 0 {
				fmt.Fprintf(out, "no wallets in %s\n", dir)
				return nil
			}
			fmt.Fprintf(out, "wallets in %s\n", dir)
			for _, in := range infos {
				fmt.Fprintf(out, "%s  %s\n", in.Name, orDash(string(in.Coldkey)))
				for _, h := range in.Hotkeys {
					fmt.Fprintf(out, "  %s  %s\n", h.Name, orDash(string(h.Hotkey)))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
