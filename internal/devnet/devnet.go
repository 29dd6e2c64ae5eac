// Package devnet runs a whole SN27 network on one machine: the embedded dev
// chain, a subnet with one validator and N miners (each with its own axon
// on its own loopback address, and its own data), with short schedules so
// rounds and weights happen within a minute. It is the only package that
// composes the daemons.
package devnet

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/dashboard"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/scale"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/timelock"
	"github.com/sn27/sn27/internal/validator"
	"github.com/sn27/sn27/internal/wallet"
)

// Config of a devnet.
type Config struct {
	DataDir   string
	Miners    int
	BlockTime time.Duration
	ChainAddr string // host:port of the dev chain's RPC
	AxonPort  int    // every miner listens on its own loopback address with this port
	// DashboardAddr is where the validator's dashboard listens ("" = off).
	DashboardAddr string
	// Delays are the simulated extra solve times of the miners, cycled
	// (miner i gets Delays[i % len]); they make the ranking visible.
	Delays []time.Duration
	// CommitReveal runs the dev chain as spec 343 (commit-reveal on for the
	// subnet, timelocked commits revealed with the chain's own drand beacon),
	// so the validator's weights go through the timelock path.
	CommitReveal bool
	// SSHPort is the rentals' SSH port of miner 0; miner i publishes
	// SSHPort+i. With Docker and the allocation image present the miners
	// rent out containers; 0 turns rentals off.
	SSHPort int
	// PoG runs proof of GPU: every miner claims one "PoCL CPU" GPU of
	// PoGMemory bytes and proves it in its container, except the last
	// miner, which claims an NVIDIA H100 it does not have. The validator
	// scores verified GPUs only (--validator.scoring pog) and serves its
	// verdicts on FeedAddr. Needs rentals (Docker and the image).
	PoG       bool
	PoGMemory int64
	// PoGBinary is the prover copied into the containers ("" = this
	// executable; tests name a built sn27).
	PoGBinary string
	FeedAddr  string // "" = no verdict feed
}

// LiarModel is what the devnet's lying miner claims.
const LiarModel = "NVIDIA H100 80GB HBM3"

// DefaultConfig: 3 miners, 1 s blocks.
func DefaultConfig() Config {
	return Config{
		DataDir: "~/.sn27/devnet", Miners: 3, BlockTime: time.Second, ChainAddr: "127.0.0.1:9944", AxonPort: 8091,
		DashboardAddr: "127.0.0.1:8080",
		Delays:        []time.Duration{0, 700 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond},
		SSHPort:       4450,
		PoGMemory:     256 << 20,
		FeedAddr:      "127.0.0.1:8095",
	}
}

// Info is what a started devnet tells the user.
type Info struct {
	ChainURL  string
	Dashboard string // URL, "" when off
	Feed      string // the verdict feed's URL, "" when off
	// Command runs this sn27 in the commands PrintInfo prints: "sn27" when
	// that is on the PATH, else its path (e.g. ./bin/sn27 after make run);
	// "" means "sn27".
	Command    string
	Liar       keys.Hotkey // the miner claiming an H100 it does not have (with PoG)
	Wallets    string
	NetUID     chain.NetUID
	Validator  keys.Hotkey
	MinerAxons []string
	Miners     []keys.Hotkey
	// Rentals says why the miners do not rent out containers ("" they do,
	// each on SSHPorts[i]).
	Rentals  string
	SSHPorts []int
	DataDir  string
}

// state is the devnet's own file (the subnet it created).
type state struct {
	NetUID uint16 `json:"netuid"`
}

// slowSolver adds a fixed delay before solving.
type slowSolver struct {
	miner.NativeSolver
	delay time.Duration
}

func (s slowSolver) Name() string { return fmt.Sprintf("native+%v", s.delay) }
func (s slowSolver) Solve(ctx context.Context, c pow.Challenge) (miner.Answer, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return miner.Answer{}, ctx.Err()
	}
	return s.NativeSolver.Solve(ctx, c)
}

// Network is a running devnet.
type Network struct {
	cfg    Config
	log    *slog.Logger
	info   Info
	client *chain.Client
	store  *store.Store
	v      *validator.Validator
}

// Run starts everything, calls ready once the network is up, and serves
// until ctx ends; it returns after every part has stopped.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Info, *Network)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := wallet.ExpandPath(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	cfg.DataDir = dir
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, cfg.Miners+4)

	// The chain.
	ccfg := devchain.DefaultConfig()
	ccfg.BlockTime, ccfg.StatePath, ccfg.Tempo = cfg.BlockTime, filepath.Join(dir, "chain.json"), 20
	if cfg.CommitReveal {
		ccfg.Runtime, ccfg.Beacon = 343, Beacon{}
	}
	dc, err := devchain.New(ccfg, log.With("component", "devchain"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ChainAddr)
	if err != nil {
		return fmt.Errorf("dev chain listen on %s: %w", cfg.ChainAddr, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := dc.Serve(ctx, ln); err != nil {
			errc <- fmt.Errorf("dev chain: %w", err)
		}
	}()
	n := &Network{cfg: cfg, log: log.With("component", "devnet")}
	n.info.ChainURL = "ws://" + ln.Addr().String()
	n.info.Wallets = filepath.Join(dir, "wallets")
	if n.client, err = chain.Dial(ctx, n.info.ChainURL, log); err != nil {
		return err
	}
	defer n.client.Close()

	// Wallets and the subnet.
	owner, err := n.wallet(ctx, "owner")
	if err != nil {
		return err
	}
	vw, err := n.wallet(ctx, "validator")
	if err != nil {
		return err
	}
	minerWallets := make([]wallet.Wallet, cfg.Miners)
	for i := range minerWallets {
		if minerWallets[i], err = n.wallet(ctx, "miner-"+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	for _, w := range append([]wallet.Wallet{owner, vw}, minerWallets...) {
		ck, err := w.LoadColdkeyPub(ctx)
		if err != nil {
			return err
		}
		pub, _ := ck.PublicKey()
		if a, err := n.client.Account(ctx, pub); err == nil && a.Free < 100*devchain.TAO {
			if err := dc.Fund(string(ck), 10_000*devchain.TAO); err != nil {
				return err
			}
		}
	}
	netuid, err := n.subnet(ctx, owner)
	if err != nil {
		return err
	}
	n.info.NetUID = netuid
	vhot, err := vw.LoadHotkey(ctx)
	if err != nil {
		return err
	}
	n.info.Validator = vhot.Hotkey()
	if err := n.register(ctx, vw, netuid, 2000*devchain.TAO); err != nil {
		return err
	}
	for _, w := range minerWallets {
		if err := n.register(ctx, w, netuid, 0); err != nil {
			return err
		}
	}

	// Miners, with rentals when Docker and the allocation image are here.
	rentals := ""
	switch {
	case cfg.SSHPort <= 0:
		rentals = "off (--ssh.port 0)"
	case cfg.SSHPort+cfg.Miners > 65535:
		return fmt.Errorf("ssh port %d + %d miners is beyond 65535", cfg.SSHPort, cfg.Miners)
	default:
		if c, err := docker.New(ctx); err != nil {
			rentals = fmt.Sprintf("off: %v", err)
		} else {
			if ok, err := c.ImageExists(ctx, docker.DefaultImage); err != nil || !ok {
				rentals = "off: the allocation image is missing (build it with: sn27 miner image build)"
			}
			c.Close()
		}
	}
	if cfg.PoG && rentals != "" {
		return fmt.Errorf("--pog proves GPUs in rental containers, and rentals are %s", rentals)
	}
	n.info.Rentals, n.info.DataDir = rentals, dir
	for i, w := range minerWallets {
		hot, err := w.LoadHotkey(ctx)
		if err != nil {
			return err
		}
		ip := fmt.Sprintf("127.0.0.%d", 11+i)
		mcfg := miner.DefaultConfig()
		mcfg.NetUID, mcfg.AxonIP, mcfg.AxonPort, mcfg.ExternalIP = netuid, ip, cfg.AxonPort, ip
		mcfg.MetagraphRefresh = 5 * time.Second
		var solver miner.Solver = miner.NativeSolver{Solver: &pow.Solver{}}
		if d := cfg.Delays[i%len(cfg.Delays)]; d > 0 {
			solver = slowSolver{miner.NativeSolver{Solver: &pow.Solver{}}, d}
		}
		hw := hwspec.DefaultConfig()
		hw.NvidiaSMI, hw.DiskPath = "", dir
		deps := miner.Deps{Hotkey: hot, Chain: n.client, Solver: solver, Log: log.With("miner", i), Specs: hwspec.New(hw, nil)}
		if rentals == "" {
			m, err := n.rentals(ctx, i, hw, deps.Log)
			if err != nil {
				return err
			}
			defer m.Close()
			deps.Allocator, deps.Specs = m, m.specs
			if cfg.PoG {
				deps.Specs = m.claim
				if i == cfg.Miners-1 {
					n.info.Liar = hot.Hotkey()
				}
			}
			mcfg.SSHPort = cfg.SSHPort + i
			n.info.SSHPorts = append(n.info.SSHPorts, mcfg.SSHPort)
		}
		n.info.Miners = append(n.info.Miners, hot.Hotkey())
		mn, err := miner.New(mcfg, deps)
		if err != nil {
			return err
		}
		n.info.MinerAxons = append(n.info.MinerAxons, net.JoinHostPort(ip, strconv.Itoa(cfg.AxonPort)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mn.Run(ctx); err != nil {
				errc <- fmt.Errorf("miner %d: %w", i, err)
			}
		}()
		select {
		case <-mn.Ready():
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}

	// The validator.
	if n.store, err = store.Open(ctx, filepath.Join(dir, "validator", "validator.db")); err != nil {
		return err
	}
	defer n.store.Close()
	d, err := dendrite.New(vhot, dendrite.Config{ExternalIP: "127.0.0.1"})
	if err != nil {
		return err
	}
	defer d.Close()
	vcfg := validator.DefaultConfig()
	vcfg.NetUID, vcfg.DifficultyMin, vcfg.DifficultyMax = netuid, 5, 7
	vcfg.PowTimeout, vcfg.BlockPoll = 10*time.Second, cfg.BlockTime/4
	vcfg.ChallengeEveryMin, vcfg.ChallengeEveryMax, vcfg.SyncEvery, vcfg.SpecsEvery, vcfg.WeightsEvery = 3, 5, 5, 30, 10
	vcfg.PoG = cfg.PoG
	if cfg.PoG {
		// Proofs every 2 minutes at 1 s blocks, one at a time (2 cores run
		// the whole network); weights from verified GPUs only.
		vcfg.Scoring, vcfg.PoGTestModels, vcfg.PoGBinary = "pog", true, cfg.PoGBinary
		vcfg.PoGEvery, vcfg.PoGDelayMax, vcfg.PoGConcurrent, vcfg.SpecsEvery = 120, 3, 1, 10
	}
	if n.v, err = validator.New(vcfg, validator.Deps{Hotkey: vhot, Chain: n.client, Store: n.store, Dendrite: d, Log: log.With("component", "validator")}); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := n.v.Run(ctx); err != nil {
			errc <- fmt.Errorf("validator: %w", err)
		}
	}()
	if cfg.FeedAddr != "" {
		fl, err := net.Listen("tcp", cfg.FeedAddr)
		if err != nil {
			return fmt.Errorf("verdict feed listen on %s: %w", cfg.FeedAddr, err)
		}
		n.info.Feed = "http://" + fl.Addr().String() + "/v1/verdicts"
		srv := &http.Server{Handler: n.v.VerdictsHandler(), ReadHeaderTimeout: 5 * time.Second}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(fl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("verdict feed: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			srv.Close()
		}()
	}
	if cfg.DashboardAddr != "" {
		dl, err := net.Listen("tcp", cfg.DashboardAddr)
		if err != nil {
			return fmt.Errorf("dashboard listen on %s: %w", cfg.DashboardAddr, err)
		}
		dcfg := dashboard.DefaultConfig()
		dcfg.Refresh, dcfg.Title = 5*time.Second, "SN27 devnet"
		src := dashboard.StoreSource{Chain: n.client, NetUID: netuid, Store: n.store, Window: vcfg.StatsWindow, Score: n.v.Scores}
		ds, err := dashboard.New(dcfg, src, log.With("component", "dashboard"))
		if err != nil {
			dl.Close()
			return err
		}
		n.info.Dashboard = "http://" + dl.Addr().String() + "/"
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ds.Serve(ctx, dl); err != nil {
				errc <- fmt.Errorf("dashboard: %w", err)
			}
		}()
	}
	if ready != nil {
		ready(n.info, n)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// rentalMiner is a miner's allocation component with its own Docker client.
type rentalMiner struct {
	*allocation.Manager
	dc    *docker.Client
	specs *hwspec.Reader
	claim claimSpecs // the specs with the GPU the miner claims (PoG)
}

// claimSpecs is a hardware report whose GPU section says what the devnet
// miner claims.
type claimSpecs struct {
	r   allocation.Specs
	gpu hwspec.GPU
}

func (c claimSpecs) Read(ctx context.Context) (hwspec.Report, error) {
	rep, err := c.r.Read(ctx)
	rep.GPU = c.gpu
	return rep, err
}

func (r rentalMiner) Close() {
	r.Manager.Close()
	r.dc.Close()
}

// rentals makes miner i's allocation component: its state and disk images
// under the data dir, SSH on SSHPort+i, small default limits.
func (n *Network) rentals(ctx context.Context, i int, hw hwspec.Config, log *slog.Logger) (rentalMiner, error) {
	dc, err := docker.New(ctx)
	if err != nil {
		return rentalMiner{}, err
	}
	acfg := allocation.DefaultConfig()
	acfg.DataDir = filepath.Join(n.cfg.DataDir, "miner-"+strconv.Itoa(i))
	acfg.SSHPort = n.cfg.SSHPort + i
	acfg.DefaultRAMBytes, acfg.DefaultDiskBytes = 512<<20, 1<<30
	acfg.MaxTimeline = 24 * time.Hour
	acfg.DiskReserveBytes = 1 << 30 // a trial network on a developer's disk
	dc.SetDiskDir(filepath.Join(acfg.DataDir, "volumes"))
	dc.SetOwner(acfg.DataDir)
	if n.cfg.PoG {
		acfg.NoGPUDevices = true // the claimed GPU is PoCL on the CPU
	}
	specs := hwspec.New(hw, dc)
	claim := claimSpecs{r: specs, gpu: hwspec.GPU{Count: 1, Capacity: n.cfg.PoGMemory >> 20,
		Details: []hwspec.GPUDetail{{Name: "PoCL CPU", Capacity: n.cfg.PoGMemory >> 20}}}}
	if i == n.cfg.Miners-1 {
		claim.gpu = hwspec.GPU{Count: 1, Capacity: 81559, Details: []hwspec.GPUDetail{{Name: LiarModel, Capacity: 81559}}}
	}
	var alloc allocation.Specs = specs
	if n.cfg.PoG {
		alloc = claim
	}
	m, err := allocation.New(acfg, dc, alloc, log)
	if err != nil {
		dc.Close()
		return rentalMiner{}, err
	}
	if err := m.Reconcile(ctx); err != nil {
		log.Error("reconcile the miner's rental with docker", "err", err)
	}
	return rentalMiner{Manager: m, dc: dc, specs: specs, claim: claim}, nil
}

// Beacon is the dev chain's drand beacon cryptography, from
// internal/timelock (devchain.Beacon).
type Beacon struct{}

// NewKey makes the beacon's BLS key pair.
func (Beacon) NewKey() ([]byte, []byte, error) { return timelock.NewDevBeacon(crand.Reader) }

// Sign signs a round.
func (Beacon) Sign(sk []byte, round uint64) ([]byte, error) { return timelock.Sign(sk, round) }

// Open decrypts a timelocked weights commit with a round's signature.
func (Beacon) Open(sig, commit, committer []byte) ([]uint16, []uint16, uint64, error) {
	plain, err := timelock.Decrypt(sig, commit)
	if err != nil {
		return nil, nil, 0, err
	}
	p, err := timelock.OpenWeights(plain, committer)
	return p.UIDs, p.Values, p.VersionKey, err
}

// Client returns the devnet's chain client.
func (n *Network) Client() *chain.Client { return n.client }

// Store returns the validator's store.
func (n *Network) Store() *store.Store { return n.store }

// Validator returns the validator.
func (n *Network) Validator() *validator.Validator { return n.v }

// wallet loads or creates (without password) a wallet in the data dir.
func (n *Network) wallet(ctx context.Context, name string) (wallet.Wallet, error) {
	w := wallet.Wallet{Path: n.info.Wallets, Name: name, Hotkey: "default"}
	if _, err := w.LoadHotkeyPub(ctx); err == nil {
		return w, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return w, fmt.Errorf("wallet %s: %w", name, err)
	}
	if _, _, err := w.Create(ctx, 12, wallet.WriteOptions{NoPassword: true}); err != nil {
		return w, fmt.Errorf("create wallet %s: %w", name, err)
	}
	return w, nil
}

// subnet returns the devnet's subnet, creating it (and lifting the limits
// that would slow a demo) on the first run.
func (n *Network) subnet(ctx context.Context, owner wallet.Wallet) (chain.NetUID, error) {
	path := filepath.Join(n.cfg.DataDir, "devnet.json")
	var st state
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &st) == nil && st.NetUID != 0 {
		return chain.NetUID(st.NetUID), nil
	}
	alice, _ := keys.FromURI("//Alice")
	sudo := func(call string, args ...[]byte) error {
		inner, err := n.client.Call("AdminUtils", call, args...)
		if err != nil {
			return err
		}
		_, err = n.client.Sudo(ctx, alice, inner)
		return err
	}
	u16 := func(v uint16) []byte { return scale.NewEncoder(nil).U16(v).Data() }
	u64 := func(v uint64) []byte { return scale.NewEncoder(nil).U64(v).Data() }
	if err := sudo("sudo_set_network_rate_limit", u64(0)); err != nil {
		return 0, fmt.Errorf("lift network rate limit: %w", err)
	}
	cold, err := owner.LoadColdkey(ctx)
	if err != nil {
		return 0, err
	}
	hot, err := owner.LoadHotkeyPub(ctx)
	if err != nil {
		return 0, err
	}
	netuid, err := n.client.RegisterNetwork(ctx, cold, hot)
	if err != nil {
		return 0, fmt.Errorf("create subnet: %w", err)
	}
	for _, c := range []struct {
		call string
		args [][]byte
	}{
		{"sudo_set_target_registrations_per_interval", [][]byte{u16(uint16(netuid)), u16(256)}},
		{"sudo_set_weights_set_rate_limit", [][]byte{u16(uint16(netuid)), u64(10)}},
	} {
		if err := sudo(c.call, c.args...); err != nil {
			return 0, fmt.Errorf("%s: %w", c.call, err)
		}
	}
	b, _ := json.Marshal(state{NetUID: uint16(netuid)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return 0, err
	}
	return netuid, nil
}

// register registers w's hotkey (if needed) and stakes up to stake rao.
func (n *Network) register(ctx context.Context, w wallet.Wallet, netuid chain.NetUID, stake uint64) error {
	hot, err := w.LoadHotkeyPub(ctx)
	if err != nil {
		return err
	}
	ns, err := n.client.Neurons(ctx, netuid)
	if err != nil {
		return err
	}
	var me *chain.Neuron
	for i := range ns {
		if ns[i].Hotkey == hot {
			me = &ns[i]
		}
	}
	cold, err := w.LoadColdkey(ctx)
	if err != nil {
		return err
	}
	if me == nil {
		if _, err := n.client.BurnedRegister(ctx, cold, netuid, hot); err != nil {
			return fmt.Errorf("register %s: %w", w.Name, err)
		}
	}
	if stake > 0 && (me == nil || me.TotalStake() < stake) {
		if _, err := n.client.AddStake(ctx, cold, hot, netuid, stake); err != nil {
			return fmt.Errorf("stake %s: %w", w.Name, err)
		}
	}
	return nil
}

// PrintInfo writes the user-facing summary.
func PrintInfo(w io.Writer, info Info) {
	sn27 := info.cmd()
	fmt.Fprintf(w, "SN27 devnet is up (subnet %d)\n", info.NetUID)
	fmt.Fprintf(w, "  chain       %s   (e.g. %s metagraph --netuid %d --subtensor.chain_endpoint %s)\n", info.ChainURL, sn27, info.NetUID, info.ChainURL)
	if info.Dashboard != "" {
		fmt.Fprintf(w, "  dashboard   %s\n", info.Dashboard)
	}
	if info.Feed != "" {
		fmt.Fprintf(w, "  verdicts    %s   (signed; check one: curl -s '%s?limit=1' | %s pog verify - --validator %s)\n", info.Feed, info.Feed, sn27, info.Validator)
	}
	if info.Liar != "" {
		fmt.Fprintf(w, "  proof of GPU every miner proves its PoCL device; %s claims an %s it does not have\n", info.Liar, LiarModel)
	}
	fmt.Fprintf(w, "  wallets     %s (no passwords: owner, validator, miner-N)\n", info.Wallets)
	fmt.Fprintf(w, "  validator   %s\n", info.Validator)
	for i, a := range info.MinerAxons {
		fmt.Fprintf(w, "  miner-%d     axon %s\n", i, a)
	}
	flags := fmt.Sprintf("--netuid %d --wallet.path %s --wallet.name validator --data.dir %s --subtensor.chain_endpoint %s",
		info.NetUID, info.Wallets, filepath.Join(filepath.Dir(info.Wallets), "validator"), info.ChainURL)
	fmt.Fprintf(w, "  resources   %s renter list-resources %s\n", sn27, flags)
	if info.Rentals != "" || len(info.Miners) == 0 {
		fmt.Fprintf(w, "  rentals     %s\n", info.Rentals)
	} else {
		for _, c := range RentCommands(info) {
			fmt.Fprintf(w, "  %-11s %s\n", c[0], c[1])
		}
	}
	fmt.Fprintf(w, "Ctrl-C stops everything; running it again continues from the data dir.\n")
}

func (i Info) cmd() string {
	if i.Command == "" {
		return "sn27"
	}
	return i.Command
}

// RentCommands are the commands that rent miner 0 out, log in and end the
// rental, as PrintInfo prints them ({label, command}).
func RentCommands(info Info) [][2]string {
	if info.Rentals != "" || len(info.Miners) == 0 {
		return nil
	}
	flags := fmt.Sprintf("--netuid %d --wallet.path %s --wallet.name validator --data.dir %s --subtensor.chain_endpoint %s",
		info.NetUID, info.Wallets, filepath.Join(filepath.Dir(info.Wallets), "validator"), info.ChainURL)
	return [][2]string{
		{"rent one", fmt.Sprintf("%s renter allocate-hotkey %s --cpu.count 1 --ram 512MB --disk 1GB --timeline 30 --ssh-key ~/.ssh/id_ed25519.pub %s", info.cmd(), info.Miners[0], flags)},
		{"log in", "the ssh command it prints (host key pinned; make a key first with ssh-keygen -t ed25519 if you have none)"},
		{"end it", fmt.Sprintf("%s renter deallocate %s %s", info.cmd(), info.Miners[0], flags)},
	}
}
