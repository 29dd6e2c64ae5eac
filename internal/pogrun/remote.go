package pogrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/sn27/internal/pog"
)

// RemotePath is where the prover binary goes in the container.
const RemotePath = "/root/.sn27-pog/sn27"

// Binary is the prover binary the validator copies into containers: the
// sn27 it runs itself, unless told otherwise.
type Binary struct {
	Data []byte
	Sum  [32]byte
}

// LoadBinary reads path ("" means this executable).
func LoadBinary(path string) (Binary, error) {
	if path == "" {
		p, err := os.Executable()
		if err != nil {
			return Binary{}, fmt.Errorf("find this executable: %w", err)
		}
		path = p
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Binary{}, fmt.Errorf("read the prover binary: %w", err)
	}
	return Binary{Data: b, Sum: sha256.Sum256(b)}, nil
}

// Target is the SSH endpoint of a test allocation.
type Target struct {
	Addr    string // host:port
	User    string
	Signer  ssh.Signer
	HostKey string // pinned, authorized_keys form
}

// afterUpload runs between the upload and the start (tests: a container
// that swaps the binary).
var afterUpload func(context.Context, *Remote) error

// ProveRemote connects to t, copies bin in (checking its hash there, and
// again just before it starts), runs `sn27 pog serve` and proves claim.
func ProveRemote(ctx context.Context, t Target, bin Binary, claim Claim, o Options) pog.Verdict {
	start := time.Now()
	failed := func(err error) pog.Verdict {
		return pog.Verdict{Version: pog.VerdictVersion, Hotkey: claim.Hotkey, ClaimedModel: claim.Model, ClaimedGPUs: claim.Count,
			FailedStep: pog.StepConnect, Reason: err.Error(), Binary: hex.EncodeToString(bin.Sum[:]),
			Millis: ms(time.Since(start))}
	}
	r, err := Dial(ctx, t.Addr, t.User, t.Signer, t.HostKey)
	if err != nil {
		return failed(err)
	}
	defer r.Close()
	if err := r.Upload(ctx, RemotePath, bin.Data); err != nil {
		return failed(err)
	}
	if afterUpload != nil {
		if err := afterUpload(ctx, r); err != nil {
			return failed(err)
		}
	}
	if err := r.CheckSum(ctx, RemotePath, bin.Sum); err != nil {
		return failed(err)
	}
	s, err := r.Start(ctx, RemotePath+" pog serve")
	if err != nil {
		return failed(err)
	}
	v := Prove(ctx, s, claim, o)
	v.Binary = hex.EncodeToString(bin.Sum[:])
	if v.FailedStep != "" {
		if e := s.Stderr(); e != "" {
			o.logger().Debug("prover stderr", "hotkey", claim.Hotkey, "stderr", clip(e, 2000))
		}
	}
	v.Millis = ms(time.Since(start))
	return v
}
