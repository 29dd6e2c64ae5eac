package devchain

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/sn27/sn27/internal/keys"
)

// account32 is an AccountId32; it marshals as hex text (also as a JSON map key).
type account32 [32]byte

func (a account32) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(a[:])), nil }

func (a *account32) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != 32 {
		return fmt.Errorf("account id %q: want 64 hex digits", b)
	}
	_, err := hex.Decode(a[:], b)
	return err
}

func (a account32) String() string { return keys.SS58(keys.PublicKey(a)) }

// state is everything the chain persists. One mutex in Chain guards it.
type state struct {
	Number                uint64                  `json:"number"`
	Sudo                  account32               `json:"sudo"`
	Accounts              map[account32]*account  `json:"accounts"`
	Subnets               map[uint16]*subnet      `json:"subnets"`
	Owners                map[account32]account32 `json:"owners"` // hotkey -> coldkey
	NetworkRateLimit      uint64                  `json:"network_rate_limit"`
	NetworkLastRegistered uint64                  `json:"network_last_registered"`
	WeightsMinStake       uint64                  `json:"weights_min_stake"`
	TotalIssuance         uint64                  `json:"total_issuance"`
	Blocks                []*block                `json:"blocks"` // recent history, oldest first
	// Genesis is block 0's hash (zero in state files of older versions).
	Genesis account32 `json:"genesis"`
	// Drand is the dev drand beacon (spec 343 only).
	Drand *drandState `json:"drand,omitempty"`
}

type account struct {
	Nonce uint32 `json:"nonce"`
	Free  uint64 `json:"free"`
}

type subnet struct {
	Netuid               uint16    `json:"netuid"`
	Owner                account32 `json:"owner"`
	OwnerHotkey          account32 `json:"owner_hotkey"`
	RegisteredAt         uint64    `json:"registered_at"`
	Tempo                uint16    `json:"tempo"`
	MaxAllowedUids       uint16    `json:"max_allowed_uids"`
	MaxAllowedValidators uint16    `json:"max_allowed_validators"`
	MinAllowedWeights    uint16    `json:"min_allowed_weights"`
	MaxWeightsLimit      uint16    `json:"max_weights_limit"`
	ImmunityPeriod       uint16    `json:"immunity_period"`
	TargetRegs           uint16    `json:"target_registrations_per_interval"`
	MaxRegsPerBlock      uint16    `json:"max_registrations_per_block"`
	AdjustmentInterval   uint16    `json:"adjustment_interval"`
	ActivityCutoff       uint16    `json:"activity_cutoff"`
	WeightsSetRateLimit  uint64    `json:"weights_set_rate_limit"`
	WeightsVersionKey    uint64    `json:"weights_version_key"`
	ServingRateLimit     uint64    `json:"serving_rate_limit"`
	Burn                 uint64    `json:"burn"`
	MinBurn              uint64    `json:"min_burn"`
	MaxBurn              uint64    `json:"max_burn"`
	CommitReveal         bool      `json:"commit_reveal_weights_enabled"`
	RegsThisInterval     uint16    `json:"registrations_this_interval"`
	RegsThisBlock        uint16    `json:"registrations_this_block"`
	IntervalStart        uint64    `json:"interval_start"`
	LastEpoch            uint64    `json:"last_epoch"`
	Neurons              []*neuron `json:"neurons"`
	// Alpha is TotalHotkeyAlpha(hotkey, netuid): stake is 1:1 with TAO here.
	Alpha map[account32]uint64 `json:"alpha"`
	// RevealPeriod is RevealPeriodEpochs (0: the default, 1) and Commits
	// the hash weight commits by hotkey (commitreveal.go).
	RevealPeriod uint64                       `json:"reveal_period_epochs,omitempty"`
	Commits      map[account32][]weightCommit `json:"weight_commits,omitempty"`
	// TLCommits are timelocked weight commits waiting for their epoch
	// (spec 343).
	TLCommits []tlCommit `json:"timelocked_commits,omitempty"`
}

type neuron struct {
	Hotkey         account32   `json:"hotkey"`
	Coldkey        account32   `json:"coldkey"`
	RegisteredAt   uint64      `json:"registered_at"`
	LastUpdate     uint64      `json:"last_update"`
	Axon           *axon       `json:"axon,omitempty"`
	Weights        [][2]uint16 `json:"weights,omitempty"`
	Permit         bool        `json:"validator_permit"`
	Rank           uint16      `json:"rank"`
	Trust          uint16      `json:"trust"`
	Consensus      uint16      `json:"consensus"`
	Incentive      uint16      `json:"incentive"`
	Dividends      uint16      `json:"dividends"`
	ValidatorTrust uint16      `json:"validator_trust"`
	PruningScore   uint16      `json:"pruning_score"`
	Emission       uint64      `json:"emission"`
}

type axon struct {
	Block    uint64    `json:"block"`
	Version  uint32    `json:"version"`
	IP       [2]uint64 `json:"ip"` // u128 as lo, hi
	Port     uint16    `json:"port"`
	IPType   uint8     `json:"ip_type"`
	Protocol uint8     `json:"protocol"`
	P1       uint8     `json:"placeholder1"`
	P2       uint8     `json:"placeholder2"`
}

// block is one produced block: its header fields, extrinsics and the
// SCALE-encoded System.Events at its end.
type block struct {
	Number     uint64    `json:"number"`
	Hash       account32 `json:"hash"`
	Parent     account32 `json:"parent"`
	ExtRoot    account32 `json:"extrinsics_root"`
	StateRoot  account32 `json:"state_root"` // zero in state files of older versions
	Extrinsics [][]byte  `json:"extrinsics"`
	Events     []byte    `json:"events"`
}

// devAccounts are funded at genesis; //Alice is the sudo key.
var devAccounts = []string{"//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"}

// genesisState funds the dev accounts, makes //Alice sudo and adds the root
// subnet 0.
func genesisState(cfg Config) (*state, error) {
	st := &state{
		Accounts:         map[account32]*account{},
		Subnets:          map[uint16]*subnet{},
		Owners:           map[account32]account32{},
		NetworkRateLimit: cfg.NetworkRateLimit,
	}
	for i, uri := range devAccounts {
		p, err := keys.FromURI(uri)
		if err != nil {
			return nil, fmt.Errorf("derive %s: %w", uri, err)
		}
		pub := account32(p.Public())
		st.Accounts[pub] = &account{Free: cfg.GenesisBalance}
		st.TotalIssuance += cfg.GenesisBalance
		if i == 0 {
			st.Sudo = pub
		}
	}
	st.Subnets[0] = newSubnet(cfg, 0, account32{}, account32{}, 0)
	return st, nil
}

// newSubnet has the parameters the runtime gives a new subnet.
func newSubnet(cfg Config, netuid uint16, owner, hotkey account32, at uint64) *subnet {
	return &subnet{
		Netuid: netuid, Owner: owner, OwnerHotkey: hotkey, RegisteredAt: at,
		Tempo: cfg.Tempo, MaxAllowedUids: 256, MaxAllowedValidators: 64,
		MinAllowedWeights: 1, MaxWeightsLimit: 65535, ImmunityPeriod: 5000,
		TargetRegs: 1, MaxRegsPerBlock: 4, AdjustmentInterval: 100, ActivityCutoff: 5000,
		WeightsSetRateLimit: 100, ServingRateLimit: 50,
		Burn: cfg.Burn, MinBurn: 1, MaxBurn: 100 * TAO,
		IntervalStart: at, LastEpoch: at,
		Alpha: map[account32]uint64{},
	}
}

// clone copies the mutable state (not the block history, which dispatch
// never touches), so a failed call can be rolled back.
func (st *state) clone() *state {
	c := *st
	c.Accounts = make(map[account32]*account, len(st.Accounts))
	for k, a := range st.Accounts {
		ac := *a
		c.Accounts[k] = &ac
	}
	c.Owners = maps.Clone(st.Owners)
	if st.Drand != nil {
		d := *st.Drand
		d.Pulses = maps.Clone(st.Drand.Pulses)
		c.Drand = &d
	}
	c.Subnets = make(map[uint16]*subnet, len(st.Subnets))
	for k, s := range st.Subnets {
		sc := *s
		sc.Alpha = maps.Clone(s.Alpha)
		sc.Commits = cloneCommits(s.Commits)
		sc.TLCommits = append([]tlCommit(nil), s.TLCommits...)
		sc.Neurons = make([]*neuron, len(s.Neurons))
		for i, n := range s.Neurons {
			nc := *n
			if n.Axon != nil {
				ax := *n.Axon
				nc.Axon = &ax
			}
			nc.Weights = append([][2]uint16(nil), n.Weights...)
			sc.Neurons[i] = &nc
		}
		c.Subnets[k] = &sc
	}
	return &c
}

// acct returns the account of pub, creating it.
func (st *state) acct(pub account32) *account {
	a := st.Accounts[pub]
	if a == nil {
		a = &account{}
		st.Accounts[pub] = a
	}
	return a
}

// free returns pub's free balance without creating the account.
func (st *state) free(pub account32) uint64 {
	if a := st.Accounts[pub]; a != nil {
		return a.Free
	}
	return 0
}

// persistedBlocks bounds the block history written to the state file.
const persistedBlocks = 64

// save writes st to path atomically: a temporary file, fsync, rename.
func (st *state) save(path string) error {
	cp := *st
	if n := len(cp.Blocks); n > persistedBlocks {
		cp.Blocks = cp.Blocks[n-persistedBlocks:]
	}
	b, err := json.Marshal(&cp)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// loadState reads a saved state; a missing file is (nil, nil).
func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if st.Accounts == nil {
		st.Accounts = map[account32]*account{}
	}
	if st.Owners == nil {
		st.Owners = map[account32]account32{}
	}
	if st.Subnets == nil {
		st.Subnets = map[uint16]*subnet{}
	}
	for k, s := range st.Subnets {
		if s == nil {
			delete(st.Subnets, k)
			continue
		}
		if s.Alpha == nil {
			s.Alpha = map[account32]uint64{}
		}
		for _, n := range s.Neurons {
			if n == nil {
				return nil, fmt.Errorf("load state %s: subnet %d has a null neuron", path, k)
			}
		}
	}
	for _, a := range st.Accounts {
		if a == nil {
			return nil, fmt.Errorf("load state %s: null account", path)
		}
	}
	return &st, nil
}
