package protocol

import (
	"encoding/json"
	"fmt"
)

// DefaultChallengeDifficulty is compute-subnet's pow_min_difficulty, the
// Challenge synapse's default difficulty (v1.3.x: 6).
const DefaultChallengeDifficulty = 6

// Specs asks a miner for its hardware report (compute.protocol.Specs).
type Specs struct {
	Synapse
	SpecsInput  string `json:"specs_input"`
	SpecsOutput string `json:"specs_output"`
	Extra       Extra  `json:"-"`
}

// NewSpecs returns a Specs with the reference defaults.
func NewSpecs() *Specs { return &Specs{Synapse: newSynapse("Specs")} }

// SynapseName implements Message.
func (*Specs) SynapseName() string { return "Specs" }

type specsJSON Specs

// MarshalJSON renders the fields in wire order, then unknown ones.
func (s *Specs) MarshalJSON() ([]byte, error) { return encodeWithExtra((*specsJSON)(s), s.Extra) }

// UnmarshalJSON starts from the defaults, like pydantic, and keeps unknown
// fields.
func (s *Specs) UnmarshalJSON(b []byte) error {
	v := specsJSON(*NewSpecs())
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return fmt.Errorf("decode Specs: %w", err)
	}
	*s = Specs(v)
	s.Extra = extra
	return nil
}

// Allocate rents a miner's machine (compute.protocol.Allocate). Dict fields
// are kept as raw JSON objects so they pass through byte for byte; the typed
// views are below.
type Allocate struct {
	Synapse
	Timeline          int64           `json:"timeline"`
	DeviceRequirement json.RawMessage `json:"device_requirement"`
	Checking          bool            `json:"checking"`
	Output            json.RawMessage `json:"output"`
	PublicKey         string          `json:"public_key"`
	DockerRequirement json.RawMessage `json:"docker_requirement"`
	DockerChange      bool            `json:"docker_change"`
	DockerAction      json.RawMessage `json:"docker_action"`
	Extra             Extra           `json:"-"`
}

// Reference defaults of Allocate's dict fields.
const (
	defaultDockerRequirement = `{"base_image":"ubuntu","ssh_key":"","ssh_port":4444,"volume_path":"/tmp","dockerfile":""}`
	defaultDockerAction      = `{"action":"","ssh_key":"","key_type":""}`
)

// NewAllocate returns an Allocate with the reference defaults.
func NewAllocate() *Allocate {
	return &Allocate{
		Synapse:           newSynapse("Allocate"),
		DeviceRequirement: json.RawMessage(`{}`),
		Checking:          true,
		Output:            json.RawMessage(`{}`),
		DockerRequirement: json.RawMessage(defaultDockerRequirement),
		DockerAction:      json.RawMessage(defaultDockerAction),
	}
}

// SynapseName implements Message.
func (*Allocate) SynapseName() string { return "Allocate" }

type allocateJSON Allocate

// MarshalJSON renders the fields in wire order, then unknown ones.
func (a *Allocate) MarshalJSON() ([]byte, error) { return encodeWithExtra((*allocateJSON)(a), a.Extra) }

// UnmarshalJSON starts from the defaults and keeps unknown fields; dict
// fields must be JSON objects.
func (a *Allocate) UnmarshalJSON(b []byte) error {
	v := allocateJSON(*NewAllocate())
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return fmt.Errorf("decode Allocate: %w", err)
	}
	for name, raw := range map[string]json.RawMessage{
		"device_requirement": v.DeviceRequirement, "output": v.Output,
		"docker_requirement": v.DockerRequirement, "docker_action": v.DockerAction,
	} {
		if err := checkObject(name, raw); err != nil {
			return fmt.Errorf("decode Allocate: %w", err)
		}
	}
	*a = Allocate(v)
	a.Extra = extra
	return nil
}

// DeviceRequirement is the typed view of Allocate.device_requirement.
type DeviceRequirement struct {
	CPU struct {
		Count int64 `json:"count"`
	} `json:"cpu"`
	GPU struct {
		Count    int64  `json:"count"`
		Capacity int64  `json:"capacity"` // MiB
		Type     string `json:"type"`
	} `json:"gpu"`
	HardDisk struct {
		Capacity int64 `json:"capacity"` // bytes
	} `json:"hard_disk"`
	RAM struct {
		Capacity int64 `json:"capacity"` // bytes
	} `json:"ram"`
}

// Requirement decodes device_requirement.
func (a *Allocate) Requirement() (DeviceRequirement, error) {
	var r DeviceRequirement
	if err := json.Unmarshal(a.DeviceRequirement, &r); err != nil {
		return r, fmt.Errorf("device_requirement: %w", err)
	}
	return r, nil
}

// DockerRequirement is the typed view of Allocate.docker_requirement.
type DockerRequirement struct {
	BaseImage  string `json:"base_image"`
	SSHKey     string `json:"ssh_key"`
	SSHPort    int64  `json:"ssh_port"`
	VolumePath string `json:"volume_path"`
	Dockerfile string `json:"dockerfile"`
}

// Docker decodes docker_requirement (missing keys keep the defaults).
func (a *Allocate) Docker() (DockerRequirement, error) {
	var r DockerRequirement
	_ = json.Unmarshal([]byte(defaultDockerRequirement), &r)
	if err := json.Unmarshal(a.DockerRequirement, &r); err != nil {
		return r, fmt.Errorf("docker_requirement: %w", err)
	}
	return r, nil
}

// DockerAction is the typed view of Allocate.docker_action.
type DockerAction struct {
	Action  string `json:"action"` // exchange_key, restart, pause, unpause
	SSHKey  string `json:"ssh_key"`
	KeyType string `json:"key_type"`
}

// Action decodes docker_action.
func (a *Allocate) Action() (DockerAction, error) {
	var r DockerAction
	if err := json.Unmarshal(a.DockerAction, &r); err != nil {
		return r, fmt.Errorf("docker_action: %w", err)
	}
	return r, nil
}

// Challenge is a proof-of-work request (compute.protocol.Challenge).
type Challenge struct {
	Synapse
	ChallengeHash       string          `json:"challenge_hash"`
	ChallengeSalt       string          `json:"challenge_salt"`
	ChallengeMode       string          `json:"challenge_mode"`
	ChallengeChars      string          `json:"challenge_chars"`
	ChallengeMask       string          `json:"challenge_mask"`
	ChallengeDifficulty int64           `json:"challenge_difficulty"`
	Output              json.RawMessage `json:"output"`
	Extra               Extra           `json:"-"`
}

// NewChallenge returns a Challenge with the reference defaults.
func NewChallenge() *Challenge {
	return &Challenge{
		Synapse:             newSynapse("Challenge"),
		ChallengeDifficulty: DefaultChallengeDifficulty,
		Output:              json.RawMessage(`{}`),
	}
}

// SynapseName implements Message.
func (*Challenge) SynapseName() string { return "Challenge" }

type challengeJSON Challenge

// MarshalJSON renders the fields in wire order, then unknown ones.
func (c *Challenge) MarshalJSON() ([]byte, error) {
	return encodeWithExtra((*challengeJSON)(c), c.Extra)
}

// UnmarshalJSON starts from the defaults and keeps unknown fields.
func (c *Challenge) UnmarshalJSON(b []byte) error {
	v := challengeJSON(*NewChallenge())
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return fmt.Errorf("decode Challenge: %w", err)
	}
	if err := checkObject("output", v.Output); err != nil {
		return fmt.Errorf("decode Challenge: %w", err)
	}
	*c = Challenge(v)
	c.Extra = extra
	return nil
}

// ChallengeOutput is the miner's answer in Challenge.output.
type ChallengeOutput struct {
	Password           *string  `json:"password"`
	LocalExecutionTime *float64 `json:"local_execution_time,omitempty"`
	Error              *string  `json:"error"`
}

// Answer decodes output.
func (c *Challenge) Answer() (ChallengeOutput, error) {
	var o ChallengeOutput
	if err := json.Unmarshal(c.Output, &o); err != nil {
		return o, fmt.Errorf("challenge output: %w", err)
	}
	return o, nil
}

// SetAnswer encodes output.
func (c *Challenge) SetAnswer(o ChallengeOutput) {
	b, _ := json.Marshal(o)
	c.Output = b
}

// Ping is the base Synapse every axon answers at /Synapse.
type Ping struct {
	Synapse
	Extra Extra `json:"-"`
}

// NewPing returns a Ping.
func NewPing() *Ping { return &Ping{Synapse: newSynapse("Synapse")} }

// SynapseName implements Message.
func (*Ping) SynapseName() string { return "Synapse" }

type pingJSON Ping

// MarshalJSON renders the fields, then unknown ones.
func (p *Ping) MarshalJSON() ([]byte, error) { return encodeWithExtra((*pingJSON)(p), p.Extra) }

// UnmarshalJSON keeps unknown fields.
func (p *Ping) UnmarshalJSON(b []byte) error {
	v := pingJSON(*NewPing())
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return fmt.Errorf("decode Synapse: %w", err)
	}
	*p = Ping(v)
	p.Extra = extra
	return nil
}

// AllocationCheck is a miner's answer (Allocate.output) to a checking
// request without a timeline: does it still hold the allocation of
// public_key? SN27 miners answer {"status": bool}; sn27 miners add the
// container's state and the rental's deadline, which other renters ignore.
type AllocationCheck struct {
	Status   bool   `json:"status"`
	State    string `json:"state,omitempty"`    // running, paused, restarting, exited, ... ("" not said)
	Deadline string `json:"deadline,omitempty"` // RFC 3339 ("" not said)
	Message  string `json:"message,omitempty"`
	// Reason says why the miner stopped the container ("disk_quota": its
	// root filesystem reached its limit; a restart gives the renter time
	// to free space). "" when it did not.
	Reason string `json:"reason,omitempty"`
	// DiskUsed is what the rental wrote to its root filesystem (bytes, at
	// the miner's last look; 0 not measured), DiskLimit that filesystem's
	// limit (0 none).
	DiskUsed  int64 `json:"disk_used,omitempty"`
	DiskLimit int64 `json:"disk_limit,omitempty"`
}
