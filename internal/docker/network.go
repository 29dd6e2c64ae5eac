package docker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// RentalNetwork is the bridge network rentals join (ContainerSpec.Network).
const RentalNetwork = "sn27-rentals"

// RentalBridge is RentalNetwork's bridge interface on the host, fixed so
// firewall rules can name it.
const RentalBridge = "sn27-rent0"

// NetworkLabel marks the networks this package makes.
const NetworkLabel = "io.sn27.network"

// IsolationChain is the iptables chain, jumped to first from INPUT, that
// keeps rentals off the host's own addresses.
const IsolationChain = "SN27-ISOLATION"

// ErrNotIsolated reports a rental network or firewall rule that is missing.
var ErrNotIsolated = errors.New("rental network not isolated")

// rentalNet names the rental network, its bridge and its chain; tests use
// names of their own so they neither see nor disturb a miner's.
type rentalNet struct {
	network, bridge, chain string
}

var defaultRentalNet = rentalNet{network: RentalNetwork, bridge: RentalBridge, chain: IsolationChain}

// rentalNet returns the names the client uses.
func (c *Client) rentalNet() rentalNet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rnet == (rentalNet{}) {
		return defaultRentalNet
	}
	return c.rnet
}

// rules are the chain's rules, in order: replies to connections the host
// opened (docker-proxy forwarding the published SSH port, say) pass; any
// connection a rental opens to the host — its bridge gateway, LAN address,
// or anything else the host answers on — is dropped.
func (rn rentalNet) rules() [][]string {
	return [][]string{
		{"-i", rn.bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		{"-i", rn.bridge, "-j", "DROP"},
	}
}

// forwardRule, in DOCKER-USER, keeps rentals off the containers of the
// default bridge (Docker's own isolation chains do too; this does not
// depend on them).
func (rn rentalNet) forwardRule() []string {
	return []string{"-i", rn.bridge, "-o", "docker0", "-j", "DROP"}
}

// EnsureRentalNetwork creates RentalNetwork when missing (no inter-container
// traffic, bridge RentalBridge) and installs the host firewall rules that
// isolate it (iptables, and ip6tables where it works): IsolationChain,
// jumped to first from INPUT, and a DOCKER-USER rule. It is idempotent and
// repairs rules a firewall reload removed or moved. Needs root.
func (c *Client) EnsureRentalNetwork(ctx context.Context) error {
	rn := c.rentalNet()
	if err := c.ensureNetwork(ctx, rn); err != nil {
		return err
	}
	for _, cmd := range iptablesCommands(ctx) {
		if err := rn.ensureIsolation(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) ensureNetwork(ctx context.Context, rn rentalNet) error {
	n, err := c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		_, err = c.api.NetworkCreate(ctx, rn.network, network.CreateOptions{
			Driver: "bridge",
			Labels: map[string]string{NetworkLabel: "1"},
			Options: map[string]string{
				"com.docker.network.bridge.name":       rn.bridge,
				"com.docker.network.bridge.enable_icc": "false", // rentals cannot reach each other
			},
		})
		if err == nil {
			return nil
		}
		if !cerrdefs.IsConflict(err) && !strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("create network %s: %w", rn.network, err)
		}
		// Made meanwhile by another caller: check it as below.
		n, err = c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{})
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", rn.network, err)
	}
	return rn.checkNetwork(n)
}

// checkNetwork makes sure n is the network ensureNetwork makes, not one of
// the same name made otherwise.
func (rn rentalNet) checkNetwork(n network.Inspect) error {
	if n.Driver != "bridge" || n.Options["com.docker.network.bridge.name"] != rn.bridge {
		return fmt.Errorf("network %s (driver %s, bridge %q) is not sn27's; remove it (docker network rm %s): %w",
			rn.network, n.Driver, n.Options["com.docker.network.bridge.name"], rn.network, ErrNotIsolated)
	}
	return nil
}

// iptablesCommands are the firewall commands to manage: iptables, and
// ip6tables when it answers (a host without IPv6 has none to guard).
func iptablesCommands(ctx context.Context) []string {
	cmds := []string{"iptables"}
	if _, err := exec.LookPath("ip6tables"); err == nil {
		if ipt(ctx, "ip6tables", "-n", "-L", "INPUT") == nil {
			cmds = append(cmds, "ip6tables")
		}
	}
	return cmds
}

// ipt runs one iptables command (no shell), waiting for the xtables lock.
func ipt(ctx context.Context, cmd string, args ...string) error {
	return runTool(ctx, 30*time.Second, cmd, append([]string{"-w", "5"}, args...)...)
}

// iptOut runs one iptables command and returns its output.
func iptOut(ctx context.Context, cmd string, args ...string) (string, error) {
	out, err := toolOutput(ctx, 30*time.Second, cmd, append([]string{"-w", "5"}, args...)...)
	return string(out), err
}

// jumpIsFirst reports whether the jump to the chain comes before every
// INPUT rule but other SN27 isolation jumps (whose chains match only their
// own bridges), so nothing can accept a rental's traffic first.
func (rn rentalNet) jumpIsFirst(ctx context.Context, cmd string) (bool, error) {
	out, err := iptOut(ctx, cmd, "-S", "INPUT")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "-A INPUT -j "+rn.chain:
			return true, nil
		case strings.HasPrefix(line, "-A INPUT -j SN27-") && !strings.Contains(line[len("-A INPUT -j "):], " "):
			// another isolation chain
		case strings.HasPrefix(line, "-A "):
			return false, nil
		}
	}
	return false, nil
}

func (rn rentalNet) ensureIsolation(ctx context.Context, cmd string) error {
	fail := func(err error) error { return fmt.Errorf("install rental isolation (%s): %w", cmd, err) }
	if ipt(ctx, cmd, "-n", "-L", rn.chain) != nil {
		if err := ipt(ctx, cmd, "-N", rn.chain); err != nil {
			return fail(err)
		}
	}
	complete := true
	for _, r := range rn.rules() {
		if ipt(ctx, cmd, append([]string{"-C", rn.chain}, r...)...) != nil {
			complete = false
		}
	}
	if !complete {
		// Rebuild the chain so the rules are in order.
		if err := ipt(ctx, cmd, "-F", rn.chain); err != nil {
			return fail(err)
		}
		for _, r := range rn.rules() {
			if err := ipt(ctx, cmd, append([]string{"-A", rn.chain}, r...)...); err != nil {
				return fail(err)
			}
		}
	}
	first, err := rn.jumpIsFirst(ctx, cmd)
	if err != nil {
		return fail(err)
	}
	if !first {
		// Not there, or behind rules that could accept a rental's traffic.
		for ipt(ctx, cmd, "-C", "INPUT", "-j", rn.chain) == nil {
			if err := ipt(ctx, cmd, "-D", "INPUT", "-j", rn.chain); err != nil {
				return fail(err)
			}
		}
		if err := ipt(ctx, cmd, "-I", "INPUT", "1", "-j", rn.chain); err != nil {
			return fail(err)
		}
	}
	if cmd == "iptables" && ipt(ctx, cmd, "-n", "-L", "DOCKER-USER") == nil {
		if ipt(ctx, cmd, append([]string{"-C", "DOCKER-USER"}, rn.forwardRule()...)...) != nil {
			if err := ipt(ctx, cmd, append([]string{"-I", "DOCKER-USER", "1"}, rn.forwardRule()...)...); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// RemoveRentalIsolation removes the firewall rules and chain
// EnsureRentalNetwork installed, and RentalNetwork when no container is
// on it.
func (c *Client) RemoveRentalIsolation(ctx context.Context) error {
	rn := c.rentalNet()
	var errs []error
	for _, cmd := range iptablesCommands(ctx) {
		for ipt(ctx, cmd, "-C", "INPUT", "-j", rn.chain) == nil {
			if err := ipt(ctx, cmd, "-D", "INPUT", "-j", rn.chain); err != nil {
				errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
				break
			}
		}
		if cmd == "iptables" {
			for ipt(ctx, cmd, append([]string{"-C", "DOCKER-USER"}, rn.forwardRule()...)...) == nil {
				if err := ipt(ctx, cmd, append([]string{"-D", "DOCKER-USER"}, rn.forwardRule()...)...); err != nil {
					errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
					break
				}
			}
		}
		if ipt(ctx, cmd, "-n", "-L", rn.chain) == nil {
			if err := ipt(ctx, cmd, "-F", rn.chain); err != nil {
				errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
			} else if err := ipt(ctx, cmd, "-X", rn.chain); err != nil {
				errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
			}
		}
	}
	n, err := c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
	case err != nil:
		errs = append(errs, fmt.Errorf("inspect network %s: %w", rn.network, err))
	case n.Labels[NetworkLabel] == "1" && len(n.Containers) == 0:
		if err := c.api.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", rn.network, err))
		}
	}
	return errors.Join(errs...)
}

// CheckIsolation reports (ErrNotIsolated) what is missing of RentalNetwork
// and its firewall rules; nil when all is in place.
func (c *Client) CheckIsolation(ctx context.Context) error {
	rn := c.rentalNet()
	n, err := c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("network %s missing: %w", rn.network, ErrNotIsolated)
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", rn.network, err)
	}
	if err := rn.checkNetwork(n); err != nil {
		return err
	}
	var missing []string
	for _, cmd := range iptablesCommands(ctx) {
		first, err := rn.jumpIsFirst(ctx, cmd) // fails without root
		if err != nil {
			return fmt.Errorf("check rental isolation: %w", err)
		}
		if !first {
			missing = append(missing, fmt.Sprintf("%s INPUT's first rule -j %s", cmd, rn.chain))
		}
		for _, r := range rn.rules() {
			if ipt(ctx, cmd, append([]string{"-C", rn.chain}, r...)...) != nil {
				missing = append(missing, fmt.Sprintf("%s rule %q in %s", cmd, strings.Join(r, " "), rn.chain))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: %w", strings.Join(missing, "; "), ErrNotIsolated)
	}
	return nil
}
