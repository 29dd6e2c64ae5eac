package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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

// EgressChain is the iptables chain, jumped to first from DOCKER-USER (or
// FORWARD where Docker manages no DOCKER-USER) for traffic from
// RentalBridge, that keeps rentals off every address that is not the
// internet: private, loopback, link-local (cloud metadata), CGNAT,
// multicast and reserved ranges, and the host's own on-link networks.
const EgressChain = "SN27-EGRESS"

// ErrNotIsolated reports a rental network or firewall rule that is missing.
var ErrNotIsolated = errors.New("rental network not isolated")

// rentalNet names the rental network, its bridge and its chains; tests use
// names of their own so they neither see nor disturb a miner's.
type rentalNet struct {
	network, bridge, chain, egress string
}

var defaultRentalNet = rentalNet{network: RentalNetwork, bridge: RentalBridge, chain: IsolationChain, egress: EgressChain}

// rentalNet returns the names the client uses.
func (c *Client) rentalNet() rentalNet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rnet == (rentalNet{}) {
		return defaultRentalNet
	}
	return c.rnet
}

// SetAllowCIDRs opens the given ranges to rentals although they fall in
// ranges the egress rules block (--miner.rental.allow-cidr). Call before
// EnsureRentalNetwork; the next Ensure rebuilds the rules.
func (c *Client) SetAllowCIDRs(allow []netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allow = append([]netip.Prefix(nil), allow...)
}

// ParseAllowCIDRs reads --miner.rental.allow-cidr values: CIDRs or single
// addresses, IPv4 or IPv6.
func ParseAllowCIDRs(vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("allow-cidr %.60q: want a CIDR such as 10.1.2.0/24 or an address", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// rules are the INPUT chain's rules, in order: replies to connections the
// host opened (docker-proxy forwarding the published SSH port, say) pass;
// any connection a rental opens to the host — its bridge gateway, LAN
// address, or anything else the host answers on — is dropped.
func (rn rentalNet) rules() [][]string {
	return [][]string{
		{"-i", rn.bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		{"-i", rn.bridge, "-j", "DROP"},
	}
}

// legacyForwardRule is the DOCKER-USER rule of earlier versions (rentals
// off docker0); the egress chain covers it now, and Ensure removes it.
func (rn rentalNet) legacyForwardRule() []string {
	return []string{"-i", rn.bridge, "-o", "docker0", "-j", "DROP"}
}

// egressJump is the rule in the parent chain that sends the bridge's
// forwarded traffic through the egress chain.
func (rn rentalNet) egressJump() []string {
	return []string{"-i", rn.bridge, "-j", rn.egress}
}

// egressParent is the chain the egress jump goes in: DOCKER-USER, which
// Docker keeps first in FORWARD (and never flushes), where it exists;
// FORWARD itself otherwise (ip6tables without Docker's IPv6 rules, or a
// daemon run with --iptables=false).
func egressParent(ctx context.Context, cmd string) string {
	if ipt(ctx, cmd, "-n", "-L", "DOCKER-USER") == nil {
		return "DOCKER-USER"
	}
	return "FORWARD"
}

// EnsureRentalNetwork creates RentalNetwork when missing (no inter-container
// traffic, bridge RentalBridge) and installs the host firewall rules that
// isolate it (iptables, and ip6tables where it works): IsolationChain,
// jumped to first from INPUT (the host's own addresses), and EgressChain,
// jumped to first from DOCKER-USER or FORWARD (every non-internet address
// the host can route to; see egressPolicy). It is idempotent and repairs
// rules a firewall reload removed or moved. Needs root.
func (c *Client) EnsureRentalNetwork(ctx context.Context) error {
	rn := c.rentalNet()
	if err := c.ensureNetwork(ctx, rn); err != nil {
		return err
	}
	for _, cmd := range iptablesCommands(ctx) {
		if err := rn.ensureIsolation(ctx, cmd, c.policy(cmd)); err != nil {
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

// jumpIsFirst reports whether the rule "-A parent jump…" comes before
// every rule of parent but other SN27 jumps (whose chains match only their
// own bridges), so nothing can accept a rental's traffic first.
func jumpIsFirst(ctx context.Context, cmd, parent string, jump []string) (bool, error) {
	out, err := iptOut(ctx, cmd, "-S", parent)
	if err != nil {
		return false, err
	}
	want := "-A " + parent + " " + strings.Join(jump, " ")
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == want:
			return true, nil
		case strings.HasPrefix(line, "-A ") && isSN27Jump(line):
			// another isolation chain
		case strings.HasPrefix(line, "-A "):
			return false, nil
		}
	}
	return false, nil
}

// isSN27Jump reports whether an iptables -S line is a plain jump to an
// SN27 chain ("-A P -j SN27-X" or "-A P -i BRIDGE -j SN27-X").
func isSN27Jump(line string) bool {
	f := strings.Fields(line)
	switch {
	case len(f) == 4 && f[2] == "-j":
		return strings.HasPrefix(f[3], "SN27-")
	case len(f) == 6 && f[2] == "-i" && f[4] == "-j":
		return strings.HasPrefix(f[5], "SN27-")
	}
	return false
}

// chainHas reports whether chain holds exactly rules (each present, no
// others). Order is not read back: the chain is only ever built whole.
func chainHas(ctx context.Context, cmd, chain string, rules [][]string) bool {
	for _, r := range rules {
		if ipt(ctx, cmd, append([]string{"-C", chain}, r...)...) != nil {
			return false
		}
	}
	out, err := iptOut(ctx, cmd, "-S", chain)
	if err != nil {
		return false
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-A ") {
			n++
		}
	}
	return n == len(rules)
}

// ensureChain makes chain hold exactly rules, in order, and puts the jump
// to it first in parent.
func ensureChain(ctx context.Context, cmd, chain string, rules [][]string, parent string, jump []string) error {
	if ipt(ctx, cmd, "-n", "-L", chain) != nil {
		if err := ipt(ctx, cmd, "-N", chain); err != nil {
			return err
		}
	}
	if !chainHas(ctx, cmd, chain, rules) {
		// Rebuild the chain so the rules are in order.
		if err := ipt(ctx, cmd, "-F", chain); err != nil {
			return err
		}
		for _, r := range rules {
			if err := ipt(ctx, cmd, append([]string{"-A", chain}, r...)...); err != nil {
				return fmt.Errorf("%s -A %s %s: %w", cmd, chain, strings.Join(r, " "), err)
			}
		}
	}
	first, err := jumpIsFirst(ctx, cmd, parent, jump)
	if err != nil {
		return err
	}
	if !first {
		// Not there, or behind rules that could accept a rental's traffic.
		if err := deleteAll(ctx, cmd, parent, jump); err != nil {
			return err
		}
		if err := ipt(ctx, cmd, append([]string{"-I", parent, "1"}, jump...)...); err != nil {
			return err
		}
	}
	return nil
}

// deleteAll removes every copy of rule from chain (none is fine).
func deleteAll(ctx context.Context, cmd, chain string, rule []string) error {
	for ipt(ctx, cmd, append([]string{"-C", chain}, rule...)...) == nil {
		if err := ipt(ctx, cmd, append([]string{"-D", chain}, rule...)...); err != nil {
			return err
		}
	}
	return nil
}

// policy is the egress policy of cmd's family on this host now.
func (c *Client) policy(cmd string) egressPolicy {
	c.mu.Lock()
	allow := c.allow
	c.mu.Unlock()
	return newEgressPolicy(cmd == "ip6tables", allow, hostNameservers(), hostOnLink())
}

func (rn rentalNet) ensureIsolation(ctx context.Context, cmd string, pol egressPolicy) error {
	fail := func(err error) error { return fmt.Errorf("install rental isolation (%s): %w", cmd, err) }
	if err := ensureChain(ctx, cmd, rn.chain, rn.rules(), "INPUT", []string{"-j", rn.chain}); err != nil {
		return fail(err)
	}
	parent := egressParent(ctx, cmd)
	if err := ensureChain(ctx, cmd, rn.egress, pol.rules(), parent, rn.egressJump()); err != nil {
		return fail(err)
	}
	if parent == "DOCKER-USER" {
		// A jump left in FORWARD from a time without DOCKER-USER.
		if err := deleteAll(ctx, cmd, "FORWARD", rn.egressJump()); err != nil {
			return fail(err)
		}
		if err := deleteAll(ctx, cmd, parent, rn.legacyForwardRule()); err != nil {
			return fail(err)
		}
	}
	return nil
}

// RemoveRentalIsolation removes the firewall rules and chains
// EnsureRentalNetwork installed, and RentalNetwork when no container is
// on it.
func (c *Client) RemoveRentalIsolation(ctx context.Context) error {
	rn := c.rentalNet()
	var errs []error
	for _, cmd := range iptablesCommands(ctx) {
		for _, j := range []struct {
			parent string
			rule   []string
		}{
			{"INPUT", []string{"-j", rn.chain}},
			{"DOCKER-USER", rn.egressJump()},
			{"FORWARD", rn.egressJump()},
			{"DOCKER-USER", rn.legacyForwardRule()},
		} {
			if ipt(ctx, cmd, "-n", "-L", j.parent) != nil {
				continue
			}
			if err := deleteAll(ctx, cmd, j.parent, j.rule); err != nil {
				errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
			}
		}
		for _, chain := range []string{rn.chain, rn.egress} {
			if ipt(ctx, cmd, "-n", "-L", chain) == nil {
				if err := ipt(ctx, cmd, "-F", chain); err != nil {
					errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
				} else if err := ipt(ctx, cmd, "-X", chain); err != nil {
					errs = append(errs, fmt.Errorf("remove rental isolation: %w", err))
				}
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
		first, err := jumpIsFirst(ctx, cmd, "INPUT", []string{"-j", rn.chain}) // fails without root
		if err != nil {
			return fmt.Errorf("check rental isolation: %w", err)
		}
		if !first {
			missing = append(missing, fmt.Sprintf("%s INPUT's first rule -j %s", cmd, rn.chain))
		}
		if !chainHas(ctx, cmd, rn.chain, rn.rules()) {
			missing = append(missing, fmt.Sprintf("%s rules of %s (host addresses)", cmd, rn.chain))
		}
		parent := egressParent(ctx, cmd)
		if first, err := jumpIsFirst(ctx, cmd, parent, rn.egressJump()); err != nil {
			return fmt.Errorf("check rental isolation: %w", err)
		} else if !first {
			missing = append(missing, fmt.Sprintf("%s %s's first rule %s", cmd, parent, strings.Join(rn.egressJump(), " ")))
		}
		if !chainHas(ctx, cmd, rn.egress, c.policy(cmd).rules()) {
			missing = append(missing, fmt.Sprintf("%s rules of %s (LAN, metadata and private ranges)", cmd, rn.egress))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: %w", strings.Join(missing, "; "), ErrNotIsolated)
	}
	return nil
}
