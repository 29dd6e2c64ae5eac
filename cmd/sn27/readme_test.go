package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/wallet"
)

// The README's examples, each accounted for: run as written by
// TestReadmeExamplesRun (readmeRun), covered by a named test (readmeCovered),
// or needing what a test cannot have (readmeExternal). TestReadmeExamplesListed
// fails when the README gains, loses or changes an example without this file
// following.

// readmeRun lists the examples TestReadmeExamplesRun runs, as written.
var readmeRun = []string{
	`sn27 wallet create --wallet.name miner`,
	`sn27 wallet new-hotkey --wallet.name miner --wallet.hotkey hk2`,
	`sn27 wallet show --wallet.name miner --json`,
	`sn27 wallet check --wallet.name miner`,
	`sn27 wallet list`,
	`sn27 wallet regen-coldkey --mnemonic "word1 … word12" --wallet.name restored`,
	`sn27 wallet show --wallet.name restored`,
	`sn27 wallet regen-hotkey --mnemonic "…" --wallet.name restored --wallet.hotkey default`,
	`sn27 devchain`,
	`sn27 devchain --port 9945 --state ~/.sn27/devchain.json --block-time 2s --tempo 10`,
	`sn27 devchain fund 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 100`,
	`sn27 subnet create --wallet.name owner --subtensor.network local`,
	`sn27 subnet register --netuid 1 --wallet.name miner --wallet.hotkey default --subtensor.network local`,
	`sn27 subnet register --netuid 1 --wallet.name validator --subtensor.network local`,
	`sn27 stake add --amount 2000 --netuid 1 --wallet.name validator --subtensor.network local`,
	`sn27 subnet hyperparameters --netuid 1 --subtensor.network local`,
	`sn27 subnet set --netuid 1 --param commit_reveal_weights_enabled --value false --wallet.name owner --subtensor.network local`,
	`sn27 transfer --dest 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --amount 10 --wallet.name owner --subtensor.network local`,
	`sn27 balance --wallet.name miner --subtensor.network local`,
	`sn27 metagraph --netuid 1 --subtensor.network local --json`,
	`sn27 miner --wallet.name miner --subtensor.chain_endpoint ws://127.0.0.1:9944 --netuid 1 --axon.ip 127.0.0.1 --metrics.port 9100`,
	`sn27 validator --wallet.name validator --subtensor.chain_endpoint ws://127.0.0.1:9944 --netuid 1 --validator.challenge.batch.size 64`,
	`sn27 metagraph --netuid 1 --subtensor.chain_endpoint ws://127.0.0.1:9944`,
	`head -c 32 /dev/urandom | base64 > hook.secret && chmod 600 hook.secret`,
	`sn27 miner image build`,
	`sn27 bench validator --miners 256`,
}

// readmeCovered maps examples to the test that runs them (with test
// wallets, ports and placeholders filled in).
var readmeCovered = map[string]string{
	`make run`:                    "TestDevnetRanksMiners",
	`make test`:                   "CI (.ci/run runs make test)",
	`make install`:                "TestMakeInstall",
	`make release VERSION=v0.1.0`: "TestRelease",
	`make image TARBALL=dist/v0.1.0/sn27_0.1.0_linux_amd64.tar.gz`:       "TestImage",
	`apt-get install ./sn27_0.1.0_amd64.deb`:                             "make deb-check (scripts/deb-check.sh, in make fresh-check)",
	`sn27 config template miner`:                                         "TestConfigTemplates",
	`sn27 update --check --update.url https://releases.example.com/sn27`: "TestUpdateCommand",
	`sn27 version`: "TestVersionCommand",
	`apt-get install -y make git ca-certificates`:                      "make fresh-check (its image is debootstrap + these)",
	`apt-get install -y docker.io hashcat`:                             "make fresh-check (scripts/test-deps.sh installs both on a clean Debian 12; TestMinerDoctor then passes them)",
	`sn27 devnet`:                                                      "TestDevnetRanksMiners",
	`sn27 devnet --miners 5 --block-time 500ms --data.dir /tmp/devnet`: "TestDevnetRanksMiners",
	`sn27 devnet --commit-reveal --data.dir /tmp/devnet-cr`:            "TestDevnetCommitReveal",
	`sn27 renter list-resources --netuid 27`:                           "TestRenterEndToEnd",
	`sn27 renter allocate --cpu.count 2 --ram 4GB --disk 20GB --timeline 60 --ssh-key ~/.ssh/id_ed25519.pub`: "TestRenterEndToEnd",
	`sn27 renter allocate-hotkey 5F… --gpu.type h100 --gpu.count 1 --timeline 120`:                           "TestRenterEndToEnd",
	`sn27 renter list-allocations`:                    "TestRenterEndToEnd",
	`sn27 renter pause|unpause|restart 5F…`:           "TestRenterEndToEnd",
	`sn27 renter exchange-key 5F… --ssh-key new.pub`:  "TestRenterEndToEnd",
	`sn27 renter status 5F…`:                          "TestRenterEndToEnd",
	`sn27 renter deallocate 5F…`:                      "TestRenterEndToEnd",
	`sn27 renter penalize 5F… --reason "unreachable"`: "TestRenterEndToEnd",
	`sn27 renter depenalize 5F…`:                      "TestRenterEndToEnd",
	`sn27 renter list-penalized`:                      "TestRenterEndToEnd",
	`sn27 api --wallet.name validator --data.dir ~/.sn27/validator --api.cert server.pem --api.key server-key.pem --api.client-ca clients-ca.pem --api.keys-file /etc/sn27/api-keys --api.webhook-url https://hooks.example.com/sn27 --api.webhook-secret-file hook.secret`: "TestAPICommandWebhookSecretFile",
	`curl --cacert ca.pem -H "Authorization: Bearer $KEY" -H "Idempotency-Key: $(uuidgen)" -d '{"gpu_count":1,"timeline":60,"ssh_key":"ssh-ed25519 AAAA…"}' https://renter:8903/service/allocate_spec`:                                                                      "TestAPIEndToEnd",
	`sn27 miner doctor`: "TestMinerDoctor",
	`sn27 devnet --pog`: "TestDevnetProofOfGPU",
	`sn27 pog prove --test-models --model "PoCL CPU" --memory 256MiB`: "TestPoGCommands",
	`sn27 pog devices`: "TestPoGCommands",
	`curl -s 'http://127.0.0.1:8095/v1/verdicts?limit=1' > v.json`:                      "TestPoGScoresAndFeed",
	`sn27 pog verify v.json --validator 5G…`:                                            "TestPoGCommands",
	`sn27 stake add --amount 100 --netuid 27 --tolerance 0.005 --wallet.name validator`: "TestOwnerToolsAndStakeOnLocalchain",
}

// readmeExternal are examples for the real network (finney, a public IP).
var readmeExternal = map[string]string{
	`sn27 metagraph --netuid 27`: "finney",
	`sn27 subnet register --netuid 27 --wallet.name miner --wallet.hotkey default`:               "finney (costs the burn)",
	`sn27 miner --wallet.name miner --netuid 27 --axon.port 8091 --axon.external_ip 203.0.113.7`: "finney and a public IP",
	`sn27 validator --wallet.name validator --netuid 27 --metrics.port 9101`:                     "finney",
}

var readmeComment = regexp.MustCompile(`\s+#\s.*$`)

// readmeExamples returns the README's shell examples: the lines of its
// fenced and indented code blocks that run a command, with continuations
// joined, trailing comments dropped and `a; b` split.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	fenced, pending := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		switch {
		case fenced:
		case strings.HasPrefix(line, "    "):
			line = line[4:]
		default:
			continue
		}
		line = strings.TrimSpace(line)
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			pending = strings.TrimSpace(s)
			continue
		}
		line = readmeComment.ReplaceAllString(line, "")
		for _, part := range strings.Split(line, "; ") {
			part = strings.Join(strings.Fields(part), " ")
			for _, p := range []string{"sn27 ", "make ", "curl ", "head ", "apt-get ", "SN27_"} {
				if strings.HasPrefix(part, p) {
					out = append(out, part)
					break
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadmeExamplesListed(t *testing.T) {
	got := readmeExamples(t)
	if len(got) < 30 {
		t.Fatalf("found %d examples in README.md; the parser is broken", len(got))
	}
	known := map[string]bool{}
	for _, c := range readmeRun {
		known[c] = true
	}
	for c := range readmeCovered {
		known[c] = true
	}
	for c := range readmeExternal {
		known[c] = true
	}
	for _, c := range got {
		if !known[c] {
			t.Errorf("README example not run or covered by a test (add it to readme_test.go):\n\t%s", c)
		}
	}
	for c := range known {
		if !slices.Contains(got, c) {
			t.Errorf("readme_test.go lists an example the README no longer has:\n\t%s", c)
		}
	}
	// Covering tests exist.
	var src strings.Builder
	for _, dir := range []string{".", "../../internal/devnet", "../../internal/validator", "../../tools/release", "../../packaging/docker", "../../internal/renter/api"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for c, name := range readmeCovered {
		if strings.HasPrefix(name, "Test") && !strings.Contains(src.String(), "func "+name+"(") {
			t.Errorf("%q is covered by %s, which does not exist", c, name)
		}
	}
}

// shellWords splits a command line as the shell would for the simple
// quoting the README uses ("..." and '...').
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	for i, w := range out { // tilde expansion
		if rest, ok := strings.CutPrefix(w, "~/"); ok {
			out[i] = filepath.Join(os.Getenv("HOME"), rest)
		}
	}
	return out
}

// TestReadmeExamplesRun runs the README's local examples as written, in a
// new HOME (so ~ and the default wallet path are the test's): wallets, the
// dev chain on its default port 9944, subnet and registrations, a miner and
// a validator that then challenges it.
func TestReadmeExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's walkthrough: dev chain, miner, validator")
	}
	for _, port := range []string{"9944", "9945", "9100", "8091"} {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
			t.Fatalf("the README's examples use port %s, which is busy: %v", port, err)
		} else {
			ln.Close()
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Chdir(home)
	const password = "readme walkthrough password"
	for _, name := range []string{"miner", "owner", "validator", "restored"} {
		v := wallet.PasswordEnvVar(filepath.Join(home, ".bittensor", "wallets", name, "coldkey"))
		t.Setenv(v, wallet.EncodeEnvPassword(v, password))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ran := map[string]bool{}
	subst := map[string]string{}
	// example runs one README line (placeholders replaced) and returns its
	// exit code and output.
	example := func(line string) (int, string, string) {
		t.Helper()
		if !slices.Contains(readmeRun, line) {
			t.Fatalf("not in readmeRun: %s", line)
		}
		ran[line] = true
		args := shellWords(line)
		for i, a := range args {
			if v, ok := subst[a]; ok {
				args[i] = v
			}
		}
		return sn27ctx(ctx, t, args[1:]...)
	}
	must := func(line string, wants ...string) string {
		t.Helper()
		code, out, errs := example(line)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", line, code, out, errs)
		}
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", line, w, out)
			}
		}
		return out
	}
	// background runs a daemon example until the test ends.
	background := func(line string) (stderr *syncBuffer) {
		t.Helper()
		if !slices.Contains(readmeRun, line) {
			t.Fatalf("not in readmeRun: %s", line)
		}
		ran[line] = true
		dctx, stop := context.WithCancel(ctx)
		var out, errb syncBuffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			code := run(dctx, shellWords(line)[1:], &out, &errb)
			if code != 0 && dctx.Err() == nil {
				t.Errorf("%s: exit %d\n%s", line, code, errb.String())
			}
		}()
		t.Cleanup(func() { stop(); <-done })
		return &errb
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for start := time.Now(); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Since(start) > time.Minute {
				t.Fatalf("waited a minute for %s", what)
			}
		}
	}
	dials := func(addr string) func() bool {
		return func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		}
	}

	// Wallets.
	out := must(`sn27 wallet create --wallet.name miner`, "coldkey mnemonic:", "hotkey mnemonic:")
	for _, l := range strings.Split(out, "\n") {
		if _, p, ok := strings.Cut(l, "coldkey mnemonic:"); ok {
			subst["word1 … word12"] = strings.TrimSpace(p)
		}
		if _, p, ok := strings.Cut(l, "hotkey mnemonic:"); ok {
			subst["…"] = strings.TrimSpace(p)
		}
	}
	must(`sn27 wallet new-hotkey --wallet.name miner --wallet.hotkey hk2`, "hotkey mnemonic:")
	var miner struct{ Coldkey, Hotkey string }
	if err := json.Unmarshal([]byte(must(`sn27 wallet show --wallet.name miner --json`)), &miner); err != nil || miner.Hotkey == "" {
		t.Fatalf("wallet show --json: %+v, %v", miner, err)
	}
	must(`sn27 wallet check --wallet.name miner`)
	must(`sn27 wallet list`, "miner", "hk2")
	must(`sn27 wallet regen-coldkey --mnemonic "word1 … word12" --wallet.name restored`)
	must(`sn27 wallet show --wallet.name restored`, "coldkey "+miner.Coldkey, "none yet")
	must(`sn27 wallet regen-hotkey --mnemonic "…" --wallet.name restored --wallet.hotkey default`)
	if _, out, _ := sn27(t, "wallet", "show", "--wallet.name", "restored"); !strings.Contains(out, "hotkey  "+miner.Hotkey) {
		t.Errorf("restored wallet shows %q; want the miner's hotkey %s", out, miner.Hotkey)
	}

	// The dev chain, on the README's ports.
	background(`sn27 devchain`)
	waitFor("sn27 devchain on 9944", dials("127.0.0.1:9944"))
	background(`sn27 devchain --port 9945 --state ~/.sn27/devchain.json --block-time 2s --tempo 10`)
	waitFor("the second dev chain to save its state", func() bool {
		_, err := os.Stat(filepath.Join(home, ".sn27", "devchain.json"))
		return err == nil
	})
	must(`sn27 devchain fund 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 100`, "+100.000000000 TAO")
	// "fund new wallets with sn27 devchain fund".
	for _, name := range []string{"owner", "validator"} {
		if code, _, errs := sn27(t, "wallet", "create", "--wallet.name", name); code != 0 {
			t.Fatalf("wallet create %s: %s", name, errs)
		}
	}
	for _, name := range []string{"owner", "validator", "miner"} {
		var w struct{ Coldkey string }
		_, out, _ := sn27(t, "wallet", "show", "--wallet.name", name, "--json")
		_ = json.Unmarshal([]byte(out), &w)
		if code, _, errs := sn27(t, "devchain", "fund", w.Coldkey, "5000"); code != 0 {
			t.Fatalf("devchain fund %s: %s", name, errs)
		}
	}

	// btcli-like chain commands on the local chain.
	must(`sn27 subnet create --wallet.name owner --subtensor.network local`, "netuid 1")
	must(`sn27 subnet register --netuid 1 --wallet.name miner --wallet.hotkey default --subtensor.network local`)
	must(`sn27 subnet register --netuid 1 --wallet.name validator --subtensor.network local`)
	must(`sn27 stake add --amount 2000 --netuid 1 --wallet.name validator --subtensor.network local`, "staked 2000.000000000 τ", "received 2000.000000000 α")
	must(`sn27 subnet hyperparameters --netuid 1 --subtensor.network local`, "commit_reveal_weights_enabled", "weights_set_rate_limit")
	must(`sn27 subnet set --netuid 1 --param commit_reveal_weights_enabled --value false --wallet.name owner --subtensor.network local`, "commit_reveal_weights_enabled = false")
	must(`sn27 transfer --dest 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --amount 10 --wallet.name owner --subtensor.network local`)
	must(`sn27 balance --wallet.name miner --subtensor.network local`, miner.Coldkey)
	if code, out, _ := sn27(t, "balance", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "--subtensor.network", "local"); code != 0 || !strings.Contains(out, " 1000110.000000000 τ") {
		t.Errorf("balance of //Bob (1,000,000 at genesis) after fund 100 and transfer 10: %q", out)
	}
	var ns []map[string]any
	if err := json.Unmarshal([]byte(must(`sn27 metagraph --netuid 1 --subtensor.network local --json`)), &ns); err != nil || len(ns) != 3 {
		t.Fatalf("metagraph --json: %d neurons, %v; want the owner's, the miner's and the validator's", len(ns), err)
	}

	// A miner and a validator as written; the validator challenges the miner.
	background(`sn27 miner --wallet.name miner --subtensor.chain_endpoint ws://127.0.0.1:9944 --netuid 1 --axon.ip 127.0.0.1 --metrics.port 9100`)
	waitFor("the miner's axon on 127.0.0.1:8091", dials("127.0.0.1:8091"))
	must(`sn27 metagraph --netuid 1 --subtensor.chain_endpoint ws://127.0.0.1:9944`, "127.0.0.1:8091")
	verr := background(`sn27 validator --wallet.name validator --subtensor.chain_endpoint ws://127.0.0.1:9944 --netuid 1 --validator.challenge.batch.size 64`)
	rpc, err := chain.DialRPC(ctx, "ws://127.0.0.1:9944", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	challenged := func() bool {
		// The dev chain makes blocks only for extrinsics: advance it.
		var head any
		if err := rpc.Call(ctx, &head, "dev_newBlock", map[string]any{"count": 1}); err != nil {
			t.Fatalf("dev_newBlock: %v", err)
		}
		resp, err := http.Get("http://127.0.0.1:9100/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, `sn27_miner_challenges_total{result="solved"} `); ok && v != "0" {
				return true
			}
		}
		return false
	}
	start := time.Now()
	for !challenged() {
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("the validator never challenged the miner (a solved challenge in the miner's /metrics); validator output:\n%s", verr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the README's validator challenged the README's miner %v after it started", time.Since(start).Round(time.Millisecond))

	// The api example's secret, made as written.
	line := `head -c 32 /dev/urandom | base64 > hook.secret && chmod 600 hook.secret`
	ran[line] = true
	if b, err := exec.Command("bash", "-c", line).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", line, err, b)
	}
	if fi, err := os.Stat(filepath.Join(home, "hook.secret")); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 40 {
		t.Errorf("hook.secret: %v, %v", fi, err)
	}
	if s, err := readSecretFile(filepath.Join(home, "hook.secret")); err != nil || len(s) < 16 {
		t.Errorf("hook.secret as sn27 api reads it: %d bytes, %v", len(s), err)
	}

	must(`sn27 bench validator --miners 256`, "256 answered correctly")

	if _, err := exec.LookPath("docker"); err == nil {
		must(`sn27 miner image build`)
	} else {
		t.Error("docker not installed: make test installs docker.io")
	}

	for _, c := range readmeRun {
		if !ran[c] {
			t.Errorf("readmeRun lists %q, which the walkthrough did not run", c)
		}
	}
}
